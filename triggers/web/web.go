// Package web is the trigger kind of the built-in web chat. A visitor gets a
// session from the chat page: an unguessable visitor id and a token that is
// an HMAC, under the trigger's secret, of the trigger's name, the visitor id
// and the token's expiry. Sessions are stateless: nothing is stored until the
// visitor writes.
//
// A chat message is a POST to /hooks/{name} that carries the session in the
// X-Chat-Visitor and X-Chat-Token headers (custom headers, so that a page of
// another site cannot send one without a CORS preflight, which supportbot
// never grants) and a body {"text": "...", "name": "...", "email": "...",
// "id": "..."}; name, email and id are optional. The visitor id is the
// conversation id, so each visitor has one conversation per trigger.
package web

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Kind is the trigger kind this package builds.
const Kind = "web"

// Headers that carry a visitor's session on a chat message.
const (
	VisitorHeader = "X-Chat-Visitor"
	TokenHeader   = "X-Chat-Token"
)

// Limits of a chat message.
const (
	// MaxText caps a message's text in bytes; a chat line is short, and
	// the limit keeps one visitor from filling agents' threads.
	MaxText     = 4000
	MaxName     = 100
	MaxEmail    = 254
	MaxClientID = 64
	// DefaultSessionTTL is how long a session token stays valid.
	DefaultSessionTTL = 30 * 24 * time.Hour
	// DefaultStreamTTL is how long a stream token stays valid: it travels
	// in the reply stream's URL (EventSource sends no headers), where
	// proxies log it, so it is worth minutes; the page renews it with its
	// session token, which only travels in headers and bodies.
	DefaultStreamTTL = 10 * time.Minute
)

// visitorPrefix starts every visitor id; the rest is 18 random bytes in
// unpadded base64url (24 characters).
const (
	visitorPrefix = "wv_"
	visitorLen    = len(visitorPrefix) + 24
)

// maxSkew is how far in the future beyond the session lifetime an expiry may
// lie (clock differences between replicas).
const maxSkew = time.Minute

var _ triggers.Trigger = (*Trigger)(nil)

// Trigger is a configured web chat trigger.
type Trigger struct {
	name string
	keys [][]byte // the first signs; all verify (rotation)

	// SessionTTL is the lifetime of the tokens Issue mints (default
	// DefaultSessionTTL). Tokens expiring further ahead than SessionTTL
	// (plus a minute of clock skew) are refused, so shortening it takes
	// effect for tokens already out.
	SessionTTL time.Duration
	// StreamTTL is the lifetime of the tokens IssueStream mints (default
	// DefaultStreamTTL).
	StreamTTL time.Duration
	// Now is the clock of Verify.
	Now func() time.Time
}

// New builds a web trigger from cfg: Secret (and Secrets, for rotation) are
// the keys of the session tokens. Errors name the key, e.g. "secret: required".
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name, SessionTTL: DefaultSessionTTL, Now: time.Now}
	for _, s := range cfg.AllSecrets() {
		if len(s) < 16 {
			return nil, fmt.Errorf("secret: must be at least 16 characters")
		}
		t.keys = append(t.keys, []byte(s))
	}
	if len(t.keys) == 0 {
		return nil, fmt.Errorf("secret: required")
	}
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "web".
func (t *Trigger) Kind() string { return Kind }

// NewVisitorID returns a new unguessable visitor id (144 random bits).
func (t *Trigger) NewVisitorID() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return visitorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ValidVisitorID reports whether id has the form NewVisitorID returns.
func ValidVisitorID(id string) bool {
	if len(id) != visitorLen || !strings.HasPrefix(id, visitorPrefix) {
		return false
	}
	for _, c := range id[len(visitorPrefix):] {
		if !isBase64URL(c) {
			return false
		}
	}
	return true
}

func isBase64URL(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Token domains: a stream token is not a session token, nor the reverse.
const (
	domainSession = "supportbot-web-session"
	domainStream  = "supportbot-web-stream"
)

// Issue returns a token for visitorID, valid until expires: the expiry in
// unix seconds, a dot, and the unpadded base64url HMAC-SHA256.
func (t *Trigger) Issue(visitorID string, now time.Time) (token string, expires time.Time) {
	return t.issue(domainSession, t.ttl(), visitorID, now)
}

// IssueStream returns a short-lived token for visitorID's reply stream
// (valid StreamTTL), in the same form as Issue's; CheckToken refuses it.
func (t *Trigger) IssueStream(visitorID string, now time.Time) (token string, expires time.Time) {
	return t.issue(domainStream, t.streamTTL(), visitorID, now)
}

// CheckStreamToken verifies a token of IssueStream as CheckToken does a
// session token.
func (t *Trigger) CheckStreamToken(visitorID, token string, now time.Time) error {
	return t.check(domainStream, t.streamTTL(), visitorID, token, now)
}

func (t *Trigger) issue(domain string, ttl time.Duration, visitorID string, now time.Time) (string, time.Time) {
	exp := now.Add(ttl).Unix()
	return strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(t.mac(t.keys[0], domain, visitorID, exp)), time.Unix(exp, 0).UTC()
}

func (t *Trigger) ttl() time.Duration       { return cmp.Or(t.SessionTTL, DefaultSessionTTL) }
func (t *Trigger) streamTTL() time.Duration { return cmp.Or(t.StreamTTL, DefaultStreamTTL) }

// mac binds the token to this trigger's name, so that two web triggers that
// share a secret do not accept each other's visitors, and to its domain.
func (t *Trigger) mac(key []byte, domain, visitorID string, exp int64) []byte {
	h := hmac.New(sha256.New, key)
	_, _ = io.WriteString(h, domain)
	_, _ = io.WriteString(h, "\x00v1\x00")
	_, _ = io.WriteString(h, t.name)
	_, _ = io.WriteString(h, "\x00")
	_, _ = io.WriteString(h, visitorID)
	_, _ = io.WriteString(h, "\x00")
	_, _ = io.WriteString(h, strconv.FormatInt(exp, 10))
	return h.Sum(nil)
}

// CheckToken verifies that token is a session of visitorID that has not
// expired at now. It returns an error wrapping bot.ErrUnauthorized that says
// why, without echoing the token.
func (t *Trigger) CheckToken(visitorID, token string, now time.Time) error {
	return t.check(domainSession, t.ttl(), visitorID, token, now)
}

func (t *Trigger) check(domain string, ttl time.Duration, visitorID, token string, now time.Time) error {
	if !ValidVisitorID(visitorID) {
		return triggers.Unauthorized("visitor id is malformed")
	}
	expText, sigText, ok := strings.Cut(token, ".")
	if !ok || len(expText) == 0 || len(expText) > 12 || len(sigText) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return triggers.Unauthorized("token is malformed")
	}
	for _, c := range expText {
		if c < '0' || c > '9' {
			return triggers.Unauthorized("token is malformed")
		}
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil {
		return triggers.Unauthorized("token is malformed")
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigText)
	if err != nil {
		return triggers.Unauthorized("token is malformed")
	}
	// Every key is tried, so the time does not say which one (if any)
	// matched; the expiry is checked after the MAC, so that an attacker
	// learns nothing from a forged expiry.
	match := 0
	for _, k := range t.keys {
		match |= subtle.ConstantTimeCompare(sig, t.mac(k, domain, visitorID, exp))
	}
	if match != 1 {
		return triggers.Unauthorized("token does not match")
	}
	switch at := time.Unix(exp, 0); {
	case !now.Before(at):
		return triggers.Unauthorized("token expired")
	case at.Sub(now) > ttl+maxSkew:
		return triggers.Unauthorized("token outlives the session lifetime")
	}
	return nil
}

// Verify checks the session headers of a chat message. It returns an error
// wrapping bot.ErrUnauthorized when a header is missing or the token does
// not verify for the visitor.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	visitor := r.Header.Get(VisitorHeader)
	if visitor == "" {
		return triggers.Unauthorized("missing header %s", VisitorHeader)
	}
	token := r.Header.Get(TokenHeader)
	if token == "" {
		return triggers.Unauthorized("missing header %s", TokenHeader)
	}
	now := time.Now()
	if t.Now != nil {
		now = t.Now()
	}
	return t.CheckToken(visitor, token, now)
}

// message is the body of a chat message.
type message struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Parse turns a verified chat message into a message.created event of the
// visitor's conversation. The event id is the visitor id and the message's
// client id (so that a browser's retry is a duplicate), or a random id when
// the body has none.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	visitor := r.Header.Get(VisitorHeader)
	if !ValidVisitorID(visitor) {
		// Verify has run; this guards a caller that skipped it.
		return bot.Event{}, bot.Invalid(VisitorHeader, "malformed visitor id")
	}
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var m message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bot.Event{}, decodeError(err)
	}
	if dec.More() {
		return bot.Event{}, bot.Invalid("body", "trailing data after the JSON object")
	}
	m.Text = strings.TrimSpace(m.Text)
	m.Name = strings.TrimSpace(m.Name)
	m.Email = strings.TrimSpace(m.Email)
	switch {
	case m.Text == "":
		return bot.Event{}, bot.Invalid("text", "required")
	case len(m.Text) > MaxText:
		return bot.Event{}, bot.Invalid("text", "longer than %d bytes", MaxText)
	case len(m.Name) > MaxName:
		return bot.Event{}, bot.Invalid("name", "longer than %d bytes", MaxName)
	case hasControl(m.Name):
		return bot.Event{}, bot.Invalid("name", "must not contain control characters")
	case m.Email != "" && !validEmail(m.Email):
		return bot.Event{}, bot.Invalid("email", "not an email address")
	case m.ID != "" && !validClientID(m.ID):
		return bot.Event{}, bot.Invalid("id", "must be 1 to %d letters, digits, '-' or '_'", MaxClientID)
	}
	id := m.ID
	if id == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		id = "r-" + hex.EncodeToString(b)
	}
	ev := bot.Event{
		Trigger: t.name, ID: visitor + "/" + id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: visitor, Subject: "Web chat"},
		Customer:     bot.Customer{ID: visitor, Name: m.Name, Email: m.Email, Unverified: m.Name != "" || m.Email != ""},
		Message:      bot.MessageRef{ID: id, Text: m.Text},
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return bot.Invalid(te.Field, "must be a string")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return bot.Invalid(strings.Trim(f, `"`), "unknown field; send text, and optionally name, email and id")
	}
	return bot.Invalid("body", "invalid JSON: %s", msg)
}

func validClientID(s string) bool {
	if len(s) == 0 || len(s) > MaxClientID {
		return false
	}
	for _, c := range s {
		if !isBase64URL(c) {
			return false
		}
	}
	return true
}

// validEmail accepts what a person types as an address: something@host,
// without spaces or control characters. Agents read it; nothing mails it.
func validEmail(s string) bool {
	if len(s) > MaxEmail || !utf8.ValidString(s) || hasControl(s) || strings.ContainsAny(s, " <>\"") {
		return false
	}
	local, host, ok := strings.Cut(s, "@")
	return ok && local != "" && host != "" && !strings.Contains(host, "@") && !strings.HasPrefix(host, ".") && !strings.HasSuffix(host, ".")
}

func hasControl(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
