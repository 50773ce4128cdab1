// Package token is the trigger kind for senders that can only attach a
// shared secret: a bearer token (Authorization: Bearer <token>) or a token in
// a named header. Tokens are compared in constant time through their SHA-256
// digests, so neither the token nor its length leaks. Bodies are in the
// native event format.
package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Kind is the trigger kind this package builds.
const Kind = "token"

// AuthorizationHeader carries the bearer token when no token header is
// configured.
const AuthorizationHeader = "Authorization"

var _ triggers.Trigger = (*Trigger)(nil)

// Trigger is a configured token trigger.
type Trigger struct {
	name     string
	header   string // "" means Authorization: Bearer
	idHeader string
	digests  [][sha256.Size]byte
}

// New builds a token trigger from cfg: Token and Secrets are the accepted
// tokens (at least one; several for rotation), TokenHeader the header that
// carries the token ("" for Authorization: Bearer). Errors name the key,
// e.g. "token: required".
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name, header: cfg.TokenHeader, idHeader: cfg.IDHeader}
	add := func(key, tok string) error {
		if tok != strings.TrimSpace(tok) {
			// HTTP strips the white space around header values, so such a
			// token could never match.
			return fmt.Errorf("%s: must not begin or end with white space", key)
		}
		t.digests = append(t.digests, sha256.Sum256([]byte(tok)))
		return nil
	}
	if cfg.Token != "" {
		if err := add("token", cfg.Token); err != nil {
			return nil, err
		}
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			continue
		}
		if err := add(fmt.Sprintf("secrets[%d]", i), s); err != nil {
			return nil, err
		}
	}
	if len(t.digests) == 0 {
		return nil, fmt.Errorf("token: required")
	}
	if t.header != "" && !triggers.ValidHeaderName(t.header) {
		return nil, fmt.Errorf("token_header: %q is not a header name", t.header)
	}
	if t.idHeader != "" && !triggers.ValidHeaderName(t.idHeader) {
		return nil, fmt.Errorf("id_header: %q is not a header name", t.idHeader)
	}
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "token".
func (t *Trigger) Kind() string { return Kind }

// Verify checks the request's token. It returns an error wrapping
// bot.ErrUnauthorized when the header is missing, is not a bearer token, or
// the token matches none of the configured ones.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	tok, err := t.token(r)
	if err != nil {
		return err
	}
	got := sha256.Sum256([]byte(tok))
	// Every configured token is compared, so the time does not say which
	// one (if any) matched.
	match := 0
	for i := range t.digests {
		match |= subtle.ConstantTimeCompare(got[:], t.digests[i][:])
	}
	if match != 1 {
		return triggers.Unauthorized("token does not match")
	}
	return nil
}

// token extracts the presented token from the request.
func (t *Trigger) token(r *http.Request) (string, error) {
	if t.header != "" {
		v := r.Header.Get(t.header)
		if v == "" {
			return "", triggers.Unauthorized("missing header %s", t.header)
		}
		return v, nil
	}
	v := r.Header.Get(AuthorizationHeader)
	if v == "" {
		return "", triggers.Unauthorized("missing header %s", AuthorizationHeader)
	}
	// The auth scheme is case-insensitive (RFC 9110 section 11.1).
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", triggers.Unauthorized("%s: not a Bearer token", AuthorizationHeader)
	}
	if tok = strings.TrimLeft(tok, " "); tok == "" {
		return "", triggers.Unauthorized("%s: empty Bearer token", AuthorizationHeader)
	}
	return tok, nil
}

// Parse parses a native event. Its id is the id_header (else webhook-id,
// else X-Request-Id), else the body's "id", else a hash of the body.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	return triggers.ParseNative(t.name, triggers.HeaderID(r, t.idHeader), body)
}
