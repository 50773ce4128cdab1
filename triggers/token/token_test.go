package token_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/token"
	"github.com/supportbot/supportbot/triggers/triggertest"
)

const (
	tok    = "3f1c0de5a4b94f0fb9d1c2b3a4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b"
	oldTok = "old-token-kept-during-rotation"
)

// MustNew builds a token trigger.
func MustNew(tb testing.TB, cfg triggers.Config) *token.Trigger {
	tb.Helper()
	cfg.Kind = token.Kind
	if cfg.Name == "" {
		cfg.Name = "desk"
	}
	tr, err := token.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return tr.(*token.Trigger)
}

func newRequest(h map[string]string, body []byte) *http.Request {
	return triggertest.Request("/hooks/desk", h, body)
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		headers map[string]string
		wantErr string // "" = accepted
	}{
		{name: "bearer", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer " + tok}},
		{name: "bearer scheme in lower case", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "bearer " + tok}},
		{name: "bearer with two spaces", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer  " + tok}},
		{name: "bearer missing", cfg: triggers.Config{Token: tok}, wantErr: "missing header Authorization"},
		{name: "bearer wrong token", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer nope"}, wantErr: "token does not match"},
		{name: "bearer token prefix", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer " + tok[:8]}, wantErr: "token does not match"},
		{name: "bearer token with suffix", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer " + tok + "x"}, wantErr: "token does not match"},
		{name: "basic scheme", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Basic " + tok}, wantErr: "Authorization: not a Bearer token"},
		{name: "token without scheme", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": tok}, wantErr: "not a Bearer token"},
		{name: "empty bearer", cfg: triggers.Config{Token: tok}, headers: map[string]string{"Authorization": "Bearer "}, wantErr: "empty Bearer token"},
		{name: "token in the wrong header", cfg: triggers.Config{Token: tok}, headers: map[string]string{"X-Token": tok}, wantErr: "missing header Authorization"},
		{name: "header", cfg: triggers.Config{Token: tok, TokenHeader: "X-Webhook-Token"}, headers: map[string]string{"X-Webhook-Token": tok}},
		{name: "header name in other case", cfg: triggers.Config{Token: tok, TokenHeader: "x-webhook-token"}, headers: map[string]string{"X-WEBHOOK-TOKEN": tok}},
		{name: "header missing", cfg: triggers.Config{Token: tok, TokenHeader: "X-Webhook-Token"}, headers: map[string]string{"Authorization": "Bearer " + tok}, wantErr: "missing header X-Webhook-Token"},
		{name: "header wrong token", cfg: triggers.Config{Token: tok, TokenHeader: "X-Webhook-Token"}, headers: map[string]string{"X-Webhook-Token": oldTok}, wantErr: "token does not match"},
		{name: "header with bearer prefix", cfg: triggers.Config{Token: tok, TokenHeader: "X-Webhook-Token"}, headers: map[string]string{"X-Webhook-Token": "Bearer " + tok}, wantErr: "token does not match"},
		{name: "rotation: new token", cfg: triggers.Config{Token: tok, Secrets: []string{oldTok}}, headers: map[string]string{"Authorization": "Bearer " + tok}},
		{name: "rotation: old token", cfg: triggers.Config{Token: tok, Secrets: []string{oldTok}}, headers: map[string]string{"Authorization": "Bearer " + oldTok}},
		{name: "rotation: neither", cfg: triggers.Config{Token: tok, Secrets: []string{oldTok}}, headers: map[string]string{"Authorization": "Bearer " + tok + oldTok}, wantErr: "token does not match"},
		{name: "secrets only", cfg: triggers.Config{Secrets: []string{"", oldTok}}, headers: map[string]string{"Authorization": "Bearer " + oldTok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := MustNew(t, tt.cfg)
			body := []byte(`{}`)
			err := tr.Verify(newRequest(tt.headers, body), body)
			triggertest.CheckVerify(t, err, tt.wantErr, append(tt.cfg.Secrets, tt.cfg.Token)...)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string // "" = builds
	}{
		{name: "token", cfg: triggers.Config{Token: tok}},
		{name: "no token", cfg: triggers.Config{}, wantErr: "token: required"},
		{name: "only empty secrets", cfg: triggers.Config{Secrets: []string{""}}, wantErr: "token: required"},
		{name: "secret is not a token", cfg: triggers.Config{Secret: tok}, wantErr: "token: required"},
		{name: "token with trailing newline", cfg: triggers.Config{Token: tok + "\n"}, wantErr: "token: must not begin or end with white space"},
		{name: "rotation entry with space", cfg: triggers.Config{Token: tok, Secrets: []string{oldTok, " x"}}, wantErr: "secrets[1]: must not begin or end with white space"},
		{name: "invalid token header", cfg: triggers.Config{Token: tok, TokenHeader: "X Token"}, wantErr: `token_header: "X Token" is not a header name`},
		{name: "invalid id header", cfg: triggers.Config{Token: tok, IDHeader: "(id)"}, wantErr: `id_header: "(id)" is not a header name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "desk", token.Kind
			_, err := token.New(tt.cfg)
			triggertest.CheckNew(t, err, tt.wantErr, tok)
		})
	}
}

func TestParse(t *testing.T) {
	tr := MustNew(t, triggers.Config{Name: "desk", Token: tok, IDHeader: "X-Freshdesk-Id"})
	if got, want := tr.Kind(), "token"; got != want {
		t.Fatalf("Kind()=%q, want %q", got, want)
	}
	if got, want := tr.Name(), "desk"; got != want {
		t.Fatalf("Name()=%q, want %q", got, want)
	}
	body := []byte(`{"type":"ticket.created","conversation":{"id":"42","subject":"Refund"},"customer":{"email":"a@example.com"},"message":{"text":"I want a refund"}}`)
	got, err := tr.Parse(newRequest(map[string]string{"X-Freshdesk-Id": "fd-42"}, body), body)
	if err != nil {
		t.Fatalf("Parse()=%v", err)
	}
	want := bot.Event{
		Trigger: "desk", ID: "fd-42", Type: bot.EventTicketCreated,
		Conversation: bot.ConversationRef{ID: "42", Subject: "Refund"},
		Customer:     bot.Customer{Email: "a@example.com"},
		Message:      bot.MessageRef{Text: "I want a refund"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
	}
}
