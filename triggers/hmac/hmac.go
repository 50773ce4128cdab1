// Package hmac is the generic HMAC trigger kind, configurable enough to
// verify GitHub (X-Hub-Signature-256: sha256=<hex>), Intercom, Help Scout,
// Chatwoot, Slack, Front, Zendesk and most other vendors that sign the raw
// body, optionally together with a timestamp header. Secrets are used
// verbatim as UTF-8 bytes. Bodies are in the native event format.
package hmac

import (
	"cmp"
	cryptohmac "crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what Intercom and Help Scout sign with; HMAC does not rely on SHA-1's collision resistance.
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Kind is the trigger kind this package builds.
const Kind = "hmac"

// Defaults of triggers.HMACConfig.
const (
	// DefaultHeader is the header that carries the signature.
	DefaultHeader = "X-Signature"
	// DefaultAlgorithm is the hash of the HMAC.
	DefaultAlgorithm = "sha256"
	// DefaultEncoding is how the signature is written.
	DefaultEncoding = "hex"
	// DefaultSigned is the signed content when a timestamp header is set;
	// without one the body alone is signed.
	DefaultSigned = "{timestamp}.{body}"
)

// Placeholders of the signed-content template.
const (
	PlaceholderTimestamp = "{timestamp}"
	PlaceholderBody      = "{body}"
)

var algorithms = map[string]func() hash.Hash{
	"sha1":   sha1.New,
	"sha256": sha256.New,
	"sha512": sha512.New,
}

var _ triggers.Trigger = (*Trigger)(nil)

// Trigger is a configured HMAC trigger.
type Trigger struct {
	// Now returns the current time for the replay window of a signed
	// timestamp; tests set it. Default time.Now.
	Now func() time.Time

	name      string
	idHeader  string
	header    string
	tsHeader  string
	prefix    string
	base64    bool
	newHash   func() hash.Hash
	signed    []segment
	secrets   [][]byte
	tolerance time.Duration
}

// segment is one piece of the signed content: a literal, the timestamp
// header's text or the body.
type segment struct {
	kind    segmentKind
	literal string
}

type segmentKind int

const (
	segLiteral segmentKind = iota
	segTimestamp
	segBody
)

// New builds an HMAC trigger from cfg.HMAC, Secret and Secrets (at least
// one; several for rotation), IDHeader and Tolerance. Errors name the key,
// e.g. `hmac.algorithm: "md5" is not one of sha1, sha256, sha512`.
func New(cfg triggers.Config) (triggers.Trigger, error) {
	h := cfg.HMAC
	t := &Trigger{
		Now:      time.Now,
		name:     cfg.Name,
		idHeader: cfg.IDHeader,
		header:   cmp.Or(h.Header, DefaultHeader),
		tsHeader: h.TimestampHeader,
		prefix:   h.Prefix,
	}
	for _, s := range cfg.AllSecrets() {
		t.secrets = append(t.secrets, []byte(s))
	}
	if len(t.secrets) == 0 {
		return nil, fmt.Errorf("secret: required")
	}
	if !triggers.ValidHeaderName(t.header) {
		return nil, fmt.Errorf("hmac.header: %q is not a header name", t.header)
	}
	alg := cmp.Or(h.Algorithm, DefaultAlgorithm)
	if t.newHash = algorithms[strings.ToLower(alg)]; t.newHash == nil {
		return nil, fmt.Errorf("hmac.algorithm: %q is not one of sha1, sha256, sha512", alg)
	}
	switch enc := cmp.Or(h.Encoding, DefaultEncoding); strings.ToLower(enc) {
	case "hex":
	case "base64":
		t.base64 = true
	default:
		return nil, fmt.Errorf("hmac.encoding: %q is not one of base64, hex", enc)
	}
	if t.tsHeader != "" && !triggers.ValidHeaderName(t.tsHeader) {
		return nil, fmt.Errorf("hmac.timestamp_header: %q is not a header name", t.tsHeader)
	}
	signed := h.Signed
	if signed == "" {
		signed = PlaceholderBody
		if t.tsHeader != "" {
			signed = DefaultSigned
		}
	}
	var err error
	if t.signed, err = parseSigned(signed, t.tsHeader != ""); err != nil {
		return nil, fmt.Errorf("hmac.signed: %w", err)
	}
	if t.idHeader != "" && !triggers.ValidHeaderName(t.idHeader) {
		return nil, fmt.Errorf("id_header: %q is not a header name", t.idHeader)
	}
	if t.tolerance, err = cfg.ReplayTolerance(); err != nil {
		return nil, err
	}
	return t, nil
}

// parseSigned splits a template such as "v0:{timestamp}:{body}" into
// segments. Braces that do not hold a lower-case word are literal text.
func parseSigned(s string, timestamped bool) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{kind: segLiteral, literal: lit.String()})
			lit.Reset()
		}
	}
	bodies, stamps := 0, 0
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			lit.WriteString(s)
			break
		}
		switch name := s[:j+1]; {
		case name == PlaceholderTimestamp:
			flush()
			segs = append(segs, segment{kind: segTimestamp})
			stamps++
		case name == PlaceholderBody:
			flush()
			segs = append(segs, segment{kind: segBody})
			bodies++
		case isWord(name[1:j]):
			return nil, fmt.Errorf("unknown placeholder %s; use %s and %s", name, PlaceholderTimestamp, PlaceholderBody)
		default:
			lit.WriteByte('{')
			s = s[1:]
			continue
		}
		s = s[j+1:]
	}
	flush()
	switch {
	case bodies != 1:
		return nil, fmt.Errorf("must contain %s exactly once", PlaceholderBody)
	case timestamped && stamps == 0:
		return nil, fmt.Errorf("must contain %s when hmac.timestamp_header is set", PlaceholderTimestamp)
	case !timestamped && stamps > 0:
		return nil, fmt.Errorf("uses %s but hmac.timestamp_header is not set", PlaceholderTimestamp)
	}
	return segs, nil
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "hmac".
func (t *Trigger) Kind() string { return Kind }

// Verify checks the signature header (and the signed timestamp, when one is
// configured) over the raw body. It returns an error wrapping
// bot.ErrUnauthorized that says what failed: a missing header or prefix, a
// timestamp that cannot be read or is outside the tolerance, or no
// signature that matches one of the secrets.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	values := r.Header.Values(t.header)
	if strings.Join(values, "") == "" {
		return triggers.Unauthorized("missing header %s", t.header)
	}
	var tsText string
	if t.tsHeader != "" {
		if tsText = r.Header.Get(t.tsHeader); tsText == "" {
			return triggers.Unauthorized("missing header %s", t.tsHeader)
		}
		ts, err := triggers.ParseTimestamp(tsText)
		if err != nil {
			return triggers.Unauthorized("%s: %v", t.tsHeader, err)
		}
		now := time.Now
		if t.Now != nil {
			now = t.Now
		}
		if err := triggers.CheckTimestamp(ts, now(), t.tolerance); err != nil {
			return err
		}
	}
	sigs := make([][]byte, 0, len(values))
	for _, v := range values {
		if t.prefix != "" {
			// The prefix names the scheme and is no secret, so it is matched
			// ASCII-case-insensitively and in variable time.
			if len(v) < len(t.prefix) || string(asciiLower(v[:len(t.prefix)])) != string(asciiLower(t.prefix)) {
				continue
			}
			v = v[len(t.prefix):]
		}
		if !t.base64 {
			// Hex digits compare case-insensitively: lower-case them first.
			sigs = append(sigs, asciiLower(v))
		} else {
			sigs = append(sigs, []byte(v))
		}
	}
	if len(sigs) == 0 {
		return triggers.Unauthorized("%s: missing prefix %q", t.header, t.prefix)
	}
	for _, key := range t.secrets {
		mac := t.mac(key, tsText, body)
		var want, alt []byte
		if t.base64 {
			// Accept the canonical padded form and the unpadded one; a
			// decoder would also accept non-canonical variants.
			want = []byte(base64.StdEncoding.EncodeToString(mac))
			alt = []byte(base64.RawStdEncoding.EncodeToString(mac))
		} else {
			want = []byte(hex.EncodeToString(mac))
		}
		for _, sig := range sigs {
			if cryptohmac.Equal(sig, want) || (alt != nil && cryptohmac.Equal(sig, alt)) {
				return nil
			}
		}
	}
	return triggers.Unauthorized("no matching signature in %s", t.header)
}

// mac computes the HMAC of the signed content without copying the body.
func (t *Trigger) mac(key []byte, ts string, body []byte) []byte {
	m := cryptohmac.New(t.newHash, key)
	for _, s := range t.signed {
		switch s.kind {
		case segLiteral:
			m.Write([]byte(s.literal))
		case segTimestamp:
			m.Write([]byte(ts))
		case segBody:
			m.Write(body)
		}
	}
	return m.Sum(nil)
}

// Parse parses a native event. With a signed timestamp header its id is
// the id_header (else webhook-id, else X-Request-Id), else the body's "id",
// else a hash of the body.
//
// Without a timestamp header the signature covers the body alone: a header
// id is the sender's word, and a captured request replayed under fresh ids
// would be a new event each time, forever. The id then comes from the
// signed body only (its "id", else its hash), so that every replay is a
// duplicate. Such a trigger has no replay window; configure
// hmac.timestamp_header when the sender signs a timestamp.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	if t.tsHeader == "" {
		return triggers.ParseNative(t.name, "", body)
	}
	return triggers.ParseNative(t.name, triggers.HeaderID(r, t.idHeader), body)
}

// SignsTimestamp reports whether the signature covers a timestamp header;
// without one, the event id must come from the signed body.
func (t *Trigger) SignsTimestamp() bool { return t.tsHeader != "" }

func asciiLower(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return b
}

// Sign sets the signature header (and the timestamp header, when one is
// configured) on h for body, with the trigger's first secret: what a sender
// does. `supportbot send` and tests use it.
func (t *Trigger) Sign(h http.Header, body []byte, now time.Time) {
	var ts string
	if t.tsHeader != "" {
		ts = strconv.FormatInt(now.Unix(), 10)
		h.Set(t.tsHeader, ts)
	}
	mac := t.mac(t.secrets[0], ts, body)
	sig := hex.EncodeToString(mac)
	if t.base64 {
		sig = base64.StdEncoding.EncodeToString(mac)
	}
	h.Set(t.header, t.prefix+sig)
}
