// Package standard is the trigger kind for Standard Webhooks
// (https://www.standardwebhooks.com/): HMAC-SHA256 signatures ("v1") over
// "{webhook-id}.{webhook-timestamp}.{body}", keyed by whsec_ base64 secrets,
// with a replay window on the timestamp. Bodies are in the native event
// format and the event id is the webhook-id header.
//
// The scheme is written here rather than taken from the reference library
// because the library reads time.Now directly and requires padded base64.
package standard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Kind is the trigger kind this package builds.
const Kind = "standard"

// Header names and constants of the Standard Webhooks specification.
const (
	// HeaderID carries the message id, stable across retries.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the unix seconds of the delivery attempt.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries space-separated "<version>,<base64>" entries.
	HeaderSignature = "webhook-signature"
	// SecretPrefix starts a serialised symmetric secret.
	SecretPrefix = "whsec_"
	// Version is the signature version of HMAC-SHA256.
	Version = "v1"
)

var (
	errEmptySecret = errors.New("required")
	errBadSecret   = errors.New("not valid base64 after the whsec_ prefix")
)

// DecodeSecret returns the HMAC key of a Standard Webhooks secret: the
// base64 after an optional "whsec_" prefix. Padding may be left out, as the
// Python library allows. The error never contains the secret.
func DecodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), SecretPrefix)
	if s == "" {
		return nil, errEmptySecret
	}
	// Decode without padding after trimming it, so that padded, unpadded
	// and over-padded secrets all give the same key.
	key, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(key) == 0 {
		return nil, errBadSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header value ("v1,<base64>") of body
// sent with message id id at time ts, signed with a whsec_ secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	return Version + "," + signature(key, id, strconv.FormatInt(ts.Unix(), 10), body), nil
}

// signature is the base64 HMAC-SHA256 of "{id}.{ts}.{body}"; ts is the
// header text exactly as sent.
func signature(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verifier checks the Standard Webhooks headers of a request against one or
// more keys (several during a rotation). It is safe for concurrent use once
// its fields are set.
type Verifier struct {
	// Keys are the decoded secrets (see DecodeSecret); any one may match.
	Keys [][]byte
	// Tolerance is the replay window in both directions (0: the default
	// of five minutes).
	Tolerance time.Duration
	// Now returns the current time (nil: time.Now).
	Now func() time.Time
}

// Verify checks the webhook-id, webhook-timestamp and webhook-signature
// headers over the raw body. It returns an error wrapping
// bot.ErrUnauthorized that says what failed: a missing header, a timestamp
// that is not unix seconds or is outside the tolerance, or no v1 signature
// that matches one of the keys.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	return v.verify(h, body, now())
}

// Svix's header names, which the official Standard Webhooks libraries
// accept as well: a sender built on Svix signs with these.
const (
	svixID        = "svix-id"
	svixTimestamp = "svix-timestamp"
	svixSignature = "svix-signature"
)

// header returns the webhook-* header, or its svix-* twin when absent.
func header(h http.Header, name, svix string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	return h.Get(svix)
}

func (v *Verifier) verify(h http.Header, body []byte, now time.Time) error {
	id := header(h, HeaderID, svixID)
	if id == "" {
		return triggers.Unauthorized("missing header %s", HeaderID)
	}
	tsText := header(h, HeaderTimestamp, svixTimestamp)
	if tsText == "" {
		return triggers.Unauthorized("missing header %s", HeaderTimestamp)
	}
	sigs := h.Values(HeaderSignature)
	if len(sigs) == 0 {
		sigs = h.Values(svixSignature)
	}
	if strings.TrimSpace(strings.Join(sigs, "")) == "" {
		return triggers.Unauthorized("missing header %s", HeaderSignature)
	}
	ts, err := triggers.ParseUnixSeconds(tsText)
	if err != nil {
		return triggers.Unauthorized("%s: %v", HeaderTimestamp, err)
	}
	tol := v.Tolerance
	if tol == 0 {
		tol = triggers.DefaultTolerance
	}
	// The timestamp is checked before the signature only to save the HMAC;
	// a forged timestamp still fails the signature.
	if err := triggers.CheckTimestamp(ts, now, tol); err != nil {
		return err
	}
	for _, key := range v.Keys {
		want := []byte(signature(key, id, tsText, body))
		for _, hv := range sigs {
			// Entries are space-separated; any v1 entry that matches passes,
			// and other versions (v1a, v2, ...) are skipped.
			for _, entry := range strings.Fields(hv) {
				version, sig, ok := strings.Cut(entry, ",")
				if !ok || version != Version {
					continue
				}
				if hmac.Equal([]byte(sig), want) {
					return nil
				}
			}
		}
	}
	return triggers.Unauthorized("no matching %s signature in %s", Version, HeaderSignature)
}

var _ triggers.Trigger = (*Trigger)(nil)

// Trigger is a configured Standard Webhooks trigger.
type Trigger struct {
	// Now returns the current time for the replay window; tests set it.
	// Default time.Now.
	Now func() time.Time

	name string
	v    Verifier
}

// New builds a Standard Webhooks trigger from cfg: Secret and Secrets are
// whsec_ secrets (at least one), Tolerance the replay window. Errors name
// the key, e.g. "secret: required".
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name, Now: time.Now}
	if cfg.Secret != "" {
		key, err := DecodeSecret(cfg.Secret)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		t.v.Keys = append(t.v.Keys, key)
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			continue
		}
		key, err := DecodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secrets[%d]: %w", i, err)
		}
		t.v.Keys = append(t.v.Keys, key)
	}
	if len(t.v.Keys) == 0 {
		return nil, fmt.Errorf("secret: %w", errEmptySecret)
	}
	tol, err := cfg.ReplayTolerance()
	if err != nil {
		return nil, err
	}
	t.v.Tolerance = tol
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "standard".
func (t *Trigger) Kind() string { return Kind }

// Verify checks the request's Standard Webhooks signature and timestamp; see
// Verifier.Verify for the errors.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return t.v.verify(r.Header, body, now())
}

// Parse parses a native event; its id is the webhook-id (or svix-id) header.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	return triggers.ParseNative(t.name, header(r.Header, HeaderID, svixID), body)
}
