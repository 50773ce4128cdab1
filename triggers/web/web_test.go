package web_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/triggertest"
	"github.com/supportbot/supportbot/triggers/web"
)

const (
	secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	oldSecret = "an-older-secret-kept-for-rotation"
	visitor   = "wv_AAECAwQFBgcICQoLDA0ODxAR"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// MustNew builds a web trigger whose clock is now.
func MustNew(tb testing.TB, cfg triggers.Config) *web.Trigger {
	tb.Helper()
	cfg.Kind = web.Kind
	if cfg.Name == "" {
		cfg.Name = "site"
	}
	tr, err := web.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	w := tr.(*web.Trigger)
	w.Now = func() time.Time { return now }
	return w
}

func newRequest(visitorID, token string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/site", bytes.NewReader(body))
	if visitorID != "" {
		r.Header.Set(web.VisitorHeader, visitorID)
	}
	if token != "" {
		r.Header.Set(web.TokenHeader, token)
	}
	return r
}

func TestNewVisitorID(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret})
	seen := map[string]bool{}
	for range 100 {
		id := tr.NewVisitorID()
		if !web.ValidVisitorID(id) {
			t.Fatalf("NewVisitorID()=%q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewVisitorID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "wv_", visitor + "A", visitor[:len(visitor)-1], "xx_AAECAwQFBgcICQoLDA0ODxAR", "wv_AAECAwQFBgcICQoLDA0ODx=R", "wv_AAECAwQFBgcICQoLDA0ODx\nR"} {
		if web.ValidVisitorID(bad) {
			t.Fatalf("ValidVisitorID(%q)=true, want false", bad)
		}
	}
}

func TestVerify(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret})
	good, exp := tr.Issue(visitor, now)
	if got, want := exp, now.Add(web.DefaultSessionTTL); !got.Equal(want) {
		t.Fatalf("Issue() expires %v, want %v", got, want)
	}
	rotated := MustNew(t, triggers.Config{Secret: oldSecret})
	oldTok, _ := rotated.Issue(visitor, now)
	other := MustNew(t, triggers.Config{Name: "other", Secret: secret})
	foreignTrigger, _ := other.Issue(visitor, now)
	stranger := MustNew(t, triggers.Config{Secret: "a-completely-different-secret"})
	foreignSecret, _ := stranger.Issue(visitor, now)
	expired, _ := tr.Issue(visitor, now.Add(-web.DefaultSessionTTL))
	justExpired, _ := tr.Issue(visitor, now.Add(-web.DefaultSessionTTL-time.Second))
	longTTL := MustNew(t, triggers.Config{Secret: secret})
	longTTL.SessionTTL = 365 * 24 * time.Hour
	tooLong, _ := longTTL.Issue(visitor, now)
	otherVisitor := "wv_ZZECAwQFBgcICQoLDA0ODxAR"
	forOther, _ := tr.Issue(otherVisitor, now)
	exp2, sig, _ := strings.Cut(good, ".")
	_ = exp2
	laterExp := "9999999999." + sig

	tests := []struct {
		name    string
		trigger *web.Trigger
		visitor string
		token   string
		wantErr string // "" = accepted
	}{
		{name: "valid", visitor: visitor, token: good},
		{name: "rotation: old secret still accepted", trigger: MustNew(t, triggers.Config{Secret: secret, Secrets: []string{oldSecret}}), visitor: visitor, token: oldTok},
		{name: "rotation: new secret accepted", trigger: MustNew(t, triggers.Config{Secret: secret, Secrets: []string{oldSecret}}), visitor: visitor, token: good},
		{name: "rotated out", visitor: visitor, token: oldTok, wantErr: "token does not match"},
		{name: "missing visitor", token: good, wantErr: "missing header X-Chat-Visitor"},
		{name: "missing token", visitor: visitor, wantErr: "missing header X-Chat-Token"},
		{name: "malformed visitor", visitor: "wv_short", token: good, wantErr: "visitor id is malformed"},
		{name: "token of another visitor", visitor: visitor, token: forOther, wantErr: "token does not match"},
		{name: "visitor of another token", visitor: otherVisitor, token: good, wantErr: "token does not match"},
		{name: "token of another trigger with the same secret", visitor: visitor, token: foreignTrigger, wantErr: "token does not match"},
		{name: "token under another secret", visitor: visitor, token: foreignSecret, wantErr: "token does not match"},
		{name: "expired at now", visitor: visitor, token: expired, wantErr: "token expired"},
		{name: "expired before now", visitor: visitor, token: justExpired, wantErr: "token expired"},
		{name: "expiry beyond the lifetime", visitor: visitor, token: tooLong, wantErr: "token outlives the session lifetime"},
		{name: "expiry changed", visitor: visitor, token: laterExp, wantErr: "token does not match"},
		{name: "no dot", visitor: visitor, token: sig, wantErr: "token is malformed"},
		{name: "signature cut", visitor: visitor, token: good[:len(good)-1], wantErr: "token is malformed"},
		{name: "signature with padding", visitor: visitor, token: good[:len(good)-1] + "=", wantErr: "token is malformed"},
		{name: "negative expiry", visitor: visitor, token: "-1." + sig, wantErr: "token is malformed"},
		{name: "huge expiry", visitor: visitor, token: "99999999999999999999." + sig, wantErr: "token is malformed"},
		{name: "empty expiry", visitor: visitor, token: "." + sig, wantErr: "token is malformed"},
		{name: "token with suffix", visitor: visitor, token: good + "x", wantErr: "token is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trg := tt.trigger
			if trg == nil {
				trg = tr
			}
			err := trg.Verify(newRequest(tt.visitor, tt.token, nil), nil)
			triggertest.CheckVerify(t, err, tt.wantErr, tt.token)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string
	}{
		{name: "secret", cfg: triggers.Config{Secret: secret}},
		{name: "secrets only", cfg: triggers.Config{Secrets: []string{"", oldSecret}}},
		{name: "no secret", cfg: triggers.Config{}, wantErr: "secret: required"},
		{name: "short secret", cfg: triggers.Config{Secret: "tooshort"}, wantErr: "secret: must be at least 16 characters"},
		{name: "token is not a secret", cfg: triggers.Config{Token: secret}, wantErr: "secret: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "site", web.Kind
			tr, err := web.New(tt.cfg)
			triggertest.CheckNew(t, err, tt.wantErr, "tooshort")
			if err != nil {
				return
			}
			if got, want := tr.Kind(), "web"; got != want {
				t.Fatalf("Kind()=%q, want %q", got, want)
			}
			if got, want := tr.Name(), "site"; got != want {
				t.Fatalf("Name()=%q, want %q", got, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret})
	body := []byte(`{"id":"m-1","text":"  How do I reset my password?\n","name":"Ada","email":"ada@example.com"}`)
	got, err := tr.Parse(newRequest(visitor, "", body), body)
	if err != nil {
		t.Fatalf("Parse()=%v", err)
	}
	want := bot.Event{
		Trigger: "site", ID: visitor + "/m-1", Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: visitor, Subject: "Web chat"},
		Customer:     bot.Customer{ID: visitor, Name: "Ada", Email: "ada@example.com", Unverified: true}, // the visitor's own word
		Message:      bot.MessageRef{ID: "m-1", Text: "How do I reset my password?"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
	}
	if got.ConversationKey() != "site/"+visitor {
		t.Fatalf("ConversationKey()=%q", got.ConversationKey())
	}

	// Without a client id every message is a new event.
	body = []byte(`{"text":"<script>alert(1)</script>"}`)
	a, err := tr.Parse(newRequest(visitor, "", body), body)
	if err != nil {
		t.Fatalf("Parse()=%v", err)
	}
	b, err := tr.Parse(newRequest(visitor, "", body), body)
	if err != nil {
		t.Fatalf("Parse()=%v", err)
	}
	if a.ID == b.ID || !strings.HasPrefix(a.ID, visitor+"/r-") {
		t.Fatalf("ids without a client id: %q and %q, want distinct ids under the visitor", a.ID, b.ID)
	}
	if got, want := a.Message.Text, "<script>alert(1)</script>"; got != want {
		t.Fatalf("text=%q, want it kept verbatim (%q): escaping is the page's job", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret})
	long := strings.Repeat("a", web.MaxText+1)
	tests := []struct {
		name      string
		visitor   string
		body      string
		wantField string
	}{
		{name: "empty body", body: ``, wantField: "body"},
		{name: "not JSON", body: `text=hi`, wantField: "body"},
		{name: "array", body: `["hi"]`, wantField: "body"},
		{name: "no text", body: `{"name":"Ada"}`, wantField: "text"},
		{name: "blank text", body: `{"text":" \n\t "}`, wantField: "text"},
		{name: "text too long", body: `{"text":"` + long + `"}`, wantField: "text"},
		{name: "text not a string", body: `{"text":42}`, wantField: "text"},
		{name: "unknown field", body: `{"text":"hi","conversation":{"id":"someone-else"}}`, wantField: "conversation"},
		{name: "trailing data", body: `{"text":"hi"}{"text":"again"}`, wantField: "body"},
		{name: "invalid UTF-8", body: "{\"text\":\"\xff\"}", wantField: "body"},
		{name: "bad email", body: `{"text":"hi","email":"not an email"}`, wantField: "email"},
		{name: "email with two ats", body: `{"text":"hi","email":"a@b@c"}`, wantField: "email"},
		{name: "name with newline", body: `{"text":"hi","name":"Ada\nBcc: x"}`, wantField: "name"},
		{name: "name too long", body: `{"text":"hi","name":"` + strings.Repeat("n", web.MaxName+1) + `"}`, wantField: "name"},
		{name: "client id with slash", body: `{"text":"hi","id":"../x"}`, wantField: "id"},
		{name: "client id too long", body: `{"text":"hi","id":"` + strings.Repeat("i", web.MaxClientID+1) + `"}`, wantField: "id"},
		{name: "no visitor", visitor: "-", body: `{"text":"hi"}`, wantField: web.VisitorHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := visitor
			if tt.visitor == "-" {
				v = ""
			}
			_, err := tr.Parse(newRequest(v, "", []byte(tt.body)), []byte(tt.body))
			var ve *bot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse()=%v, want a *bot.ValidationError", err)
			}
			if got, want := ve.Field, tt.wantField; got != want {
				t.Fatalf("Parse() field=%q (%v), want %q", got, err, want)
			}
		})
	}
}
