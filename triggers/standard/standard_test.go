package standard_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
	"github.com/supportbot/supportbot/triggers/triggertest"
)

// vector is one entry of testdata/vectors.json (WEBHOOKS.md section 0).
type vector struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	Valid     bool   `json:"valid"`
}

// MustNew builds a standard trigger whose clock reads now.
func MustNew(tb testing.TB, cfg triggers.Config, now time.Time) *standard.Trigger {
	tb.Helper()
	cfg.Kind = standard.Kind
	if cfg.Name == "" {
		cfg.Name = "chat"
	}
	tr, err := standard.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	st := tr.(*standard.Trigger)
	st.Now = func() time.Time { return now }
	return st
}

func newRequest(h map[string]string, body []byte) *http.Request {
	return triggertest.Request("/hooks/chat", h, body)
}

func TestVectors(t *testing.T) {
	for _, v := range triggertest.LoadVectors[vector](t, "testdata/vectors.json") {
		t.Run(v.Name, func(t *testing.T) {
			ts := time.Unix(v.Timestamp, 0)
			sig, err := standard.Sign(v.Secret, v.ID, ts, []byte(v.Body))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got, want := sig == v.Signature, v.Valid; got != want {
				t.Fatalf("Sign()=%q; equal to vector %q: %v, want %v", sig, v.Signature, got, want)
			}
			tr := MustNew(t, triggers.Config{Secret: v.Secret}, ts)
			r := newRequest(map[string]string{
				"webhook-id":        v.ID,
				"webhook-timestamp": strconv.FormatInt(v.Timestamp, 10),
				"webhook-signature": v.Signature,
			}, []byte(v.Body))
			err = tr.Verify(r, []byte(v.Body))
			if got, want := err == nil, v.Valid; got != want {
				t.Fatalf("Verify()=%v, want success %v", err, want)
			}
			if err != nil && !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
		})
	}
}

// The fixture of TestVerify: vector V1.
const (
	secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherKey  = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	msgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	tsUnix    = 1614265330
	validSig  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	validBody = `{"test": 2432232314}`
	otherSig  = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

func TestVerify(t *testing.T) {
	ts := time.Unix(tsUnix, 0)
	mustSign := func(secret, id string, ts time.Time, body string) string {
		t.Helper()
		s, err := standard.Sign(secret, id, ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		cfg     triggers.Config
		now     time.Time
		headers map[string]string // overrides; "" deletes
		body    string
		wantErr string // "" = accepted; else a substring of the error
	}{
		{name: "valid", now: ts},
		{
			name: "multi-signature header",
			headers: map[string]string{"webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " +
				"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + validSig + " " + otherSig},
		},
		{name: "multi-signature, none valid", headers: map[string]string{"webhook-signature": otherSig + " " + otherSig}, wantErr: "no matching v1 signature"},
		{name: "valid signature under another version", headers: map[string]string{"webhook-signature": "v2," + validSig[3:]}, wantErr: "no matching"},
		{name: "v1a entry ignored", headers: map[string]string{"webhook-signature": "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " + validSig}},
		{name: "partial signature v1,", headers: map[string]string{"webhook-signature": "v1,"}, wantErr: "no matching"},
		{name: "first 8 characters of a valid signature", headers: map[string]string{"webhook-signature": validSig[:8]}, wantErr: "no matching"},
		{name: "signature without version", headers: map[string]string{"webhook-signature": validSig[3:]}, wantErr: "no matching"},
		{name: "unpadded signature", headers: map[string]string{"webhook-signature": strings.TrimRight(validSig, "=")}, wantErr: "no matching"},
		{name: "missing webhook-id", headers: map[string]string{"webhook-id": ""}, wantErr: "missing header webhook-id"},
		{name: "missing webhook-timestamp", headers: map[string]string{"webhook-timestamp": ""}, wantErr: "missing header webhook-timestamp"},
		{name: "missing webhook-signature", headers: map[string]string{"webhook-signature": ""}, wantErr: "missing header webhook-signature"},
		{name: "blank webhook-signature", headers: map[string]string{"webhook-signature": "   "}, wantErr: "missing header webhook-signature"},
		{name: "timestamp not a number", headers: map[string]string{"webhook-timestamp": "yesterday"}, wantErr: "webhook-timestamp: timestamp is not unix seconds"},
		{name: "timestamp with sign", headers: map[string]string{"webhook-timestamp": "+1614265330"}, wantErr: "not unix seconds"},
		{name: "timestamp in RFC 3339", headers: map[string]string{"webhook-timestamp": "2021-02-25T15:02:10Z"}, wantErr: "not unix seconds"},
		{name: "timestamp out of range", headers: map[string]string{"webhook-timestamp": "99999999999999999999"}, wantErr: "out of range"},
		{name: "timestamp far in the future", headers: map[string]string{"webhook-timestamp": "99999999999"}, wantErr: "timestamp too new"},
		{name: "timestamp at the int64 limit", headers: map[string]string{"webhook-timestamp": "9223372036854775807"}, wantErr: "out of range"},
		{name: "signed with leading zero differs", headers: map[string]string{"webhook-timestamp": "01614265330"}, wantErr: "no matching"},
		{name: "tampered body", body: `{"test": 2432232315}`, wantErr: "no matching"},
		{name: "body with trailing newline", body: validBody + "\n", wantErr: "no matching"},
		{name: "other message id", headers: map[string]string{"webhook-id": "msg_other"}, wantErr: "no matching"},
		{name: "wrong secret", cfg: triggers.Config{Secret: otherKey}, wantErr: "no matching"},
		{name: "300 s old accepted", now: ts.Add(300 * time.Second)},
		{name: "301 s old rejected", now: ts.Add(301 * time.Second), wantErr: "timestamp too old"},
		{name: "300 s in the future accepted", now: ts.Add(-300 * time.Second)},
		{name: "301 s in the future rejected", now: ts.Add(-301 * time.Second), wantErr: "timestamp too new"},
		{name: "an hour old", now: ts.Add(time.Hour), wantErr: "timestamp too old"},
		{name: "tolerance configured", cfg: triggers.Config{Secret: secret, Tolerance: time.Minute}, now: ts.Add(61 * time.Second), wantErr: "timestamp too old"},
		{name: "rotation: old secret first", cfg: triggers.Config{Secret: secret, Secrets: []string{otherKey}}},
		{name: "rotation: new secret first", cfg: triggers.Config{Secret: otherKey, Secrets: []string{secret}}},
		{name: "rotation: empty entries skipped", cfg: triggers.Config{Secrets: []string{"", otherKey, secret}}},
		{
			name:    "rotation: sender signs with both",
			cfg:     triggers.Config{Secret: otherKey},
			headers: map[string]string{"webhook-signature": validSig + " " + mustSign(otherKey, msgID, ts, validBody)},
		},
		{name: "unpadded secret", cfg: triggers.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"}, headers: map[string]string{"webhook-signature": mustSign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS=", msgID, ts, validBody)}},
		{name: "secret without prefix", cfg: triggers.Config{Secret: strings.TrimPrefix(secret, "whsec_")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Secret == "" && len(cfg.Secrets) == 0 {
				cfg.Secret = secret
			}
			now := tt.now
			if now.IsZero() {
				now = ts
			}
			tr := MustNew(t, cfg, now)
			h := map[string]string{
				"webhook-id":        msgID,
				"webhook-timestamp": strconv.FormatInt(tsUnix, 10),
				"webhook-signature": validSig,
			}
			for k, v := range tt.headers {
				h[k] = v
			}
			body := tt.body
			if body == "" {
				body = validBody
			}
			r := newRequest(nil, []byte(body))
			for k, v := range h {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			var secrets []string
			for _, s := range append(cfg.Secrets, cfg.Secret) {
				secrets = append(secrets, strings.TrimPrefix(s, "whsec_"))
			}
			triggertest.CheckVerify(t, tr.Verify(r, []byte(body)), tt.wantErr, secrets...)
		})
	}
}

// TestVerifyRepeatedHeader checks that signatures spread over several
// webhook-signature header lines are all considered.
func TestVerifyRepeatedHeader(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret}, time.Unix(tsUnix, 0))
	r := newRequest(map[string]string{"webhook-id": msgID, "webhook-timestamp": strconv.Itoa(tsUnix)}, []byte(validBody))
	r.Header.Add("webhook-signature", otherSig)
	r.Header.Add("webhook-signature", validSig)
	if err := tr.Verify(r, []byte(validBody)); err != nil {
		t.Fatalf("Verify()=%v, want nil", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string // "" = builds
	}{
		{name: "no secret", cfg: triggers.Config{}, wantErr: "secret: required"},
		{name: "empty secret", cfg: triggers.Config{Secret: ""}, wantErr: "secret: required"},
		{name: "prefix only", cfg: triggers.Config{Secret: "whsec_"}, wantErr: "secret: required"},
		{name: "only empty rotation entries", cfg: triggers.Config{Secrets: []string{"", ""}}, wantErr: "secret: required"},
		{name: "invalid base64", cfg: triggers.Config{Secret: "whsec_not base64!"}, wantErr: "secret: not valid base64"},
		{name: "padding only", cfg: triggers.Config{Secret: "whsec_===="}, wantErr: "secret: not valid base64"},
		{name: "impossible length", cfg: triggers.Config{Secret: "whsec_MfKQ9"}, wantErr: "secret: not valid base64"},
		{name: "invalid rotation entry", cfg: triggers.Config{Secret: secret, Secrets: []string{otherKey, "whsec_"}}, wantErr: "secrets[1]: required"},
		{name: "negative tolerance", cfg: triggers.Config{Secret: secret, Tolerance: -time.Second}, wantErr: "tolerance: must not be negative"},
		{name: "valid", cfg: triggers.Config{Secret: secret}},
		{name: "unpadded secret, one missing", cfg: triggers.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"}},
		{name: "unpadded secret, two missing", cfg: triggers.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"}},
		{name: "secret with trailing newline", cfg: triggers.Config{Secret: secret + "\n"}},
		{name: "rotation only", cfg: triggers.Config{Secrets: []string{secret, otherKey}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "chat", standard.Kind
			_, err := standard.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New()=%v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New()=nil, want %q", tt.wantErr)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.wantErr) {
				t.Fatalf("New()=%q, want it to start with %q", got, tt.wantErr)
			}
		})
	}
}

func TestDecodeSecret(t *testing.T) {
	padded, err := standard.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr",
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==",
		" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==\n",
	} {
		got, err := standard.DecodeSecret(s)
		if err != nil {
			t.Fatalf("DecodeSecret(%q)=%v", s, err)
		}
		if diff := cmp.Diff(padded, got); diff != "" {
			t.Fatalf("DecodeSecret(%q) differs from the padded form (-want +got):\n%s", s, diff)
		}
	}
	key, err := standard.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(key), 24; got != want {
		t.Fatalf("len(DecodeSecret(V1 secret))=%d, want %d", got, want)
	}
}

func TestSign(t *testing.T) {
	if _, err := standard.Sign("whsec_", msgID, time.Unix(tsUnix, 0), nil); err == nil || !strings.HasPrefix(err.Error(), "secret: ") {
		t.Fatalf("Sign(whsec_)=%v, want a secret: error", err)
	}
	got, err := standard.Sign(secret, msgID, time.Unix(tsUnix, 0).Add(999*time.Millisecond), []byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	if want := validSig; got != want {
		t.Fatalf("Sign()=%q, want %q (sub-second part dropped)", got, want)
	}
}

func TestVerifier(t *testing.T) {
	key, err := standard.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(standard.HeaderID, msgID)
	h.Set(standard.HeaderTimestamp, strconv.Itoa(tsUnix))
	h.Set(standard.HeaderSignature, validSig)
	v := &standard.Verifier{Keys: [][]byte{key}, Now: func() time.Time { return time.Unix(tsUnix, 0) }}
	if err := v.Verify(h, []byte(validBody)); err != nil {
		t.Fatalf("Verify()=%v, want nil", err)
	}
	v.Now = nil // time.Now: the 2021 timestamp is stale
	if err := v.Verify(h, []byte(validBody)); !errors.Is(err, bot.ErrUnauthorized) || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("Verify() with the real clock=%v, want timestamp too old", err)
	}
	v = &standard.Verifier{Now: v.Now}
	if err := v.Verify(h, []byte(validBody)); err == nil {
		t.Fatal("Verify() with no keys=nil, want an error")
	}
}

func TestParse(t *testing.T) {
	body := []byte(`{"type": "message.created",
 "conversation": {"id": "c-42", "subject": "Login trouble"},
 "customer": {"id": "u-7", "name": "Ada", "email": "ada@example.com"},
 "message": {"id": "m-1", "text": "How do I reset my password?"}}`)
	tr := MustNew(t, triggers.Config{Name: "chat", Secret: secret}, time.Unix(tsUnix, 0))
	if got, want := tr.Name(), "chat"; got != want {
		t.Fatalf("Name()=%q, want %q", got, want)
	}
	if got, want := tr.Kind(), "standard"; got != want {
		t.Fatalf("Kind()=%q, want %q", got, want)
	}
	r := newRequest(map[string]string{"webhook-id": "msg_1"}, body)
	got, err := tr.Parse(r, body)
	if err != nil {
		t.Fatalf("Parse()=%v", err)
	}
	want := bot.Event{
		Trigger: "chat", ID: "msg_1", Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: "c-42", Subject: "Login trouble"},
		Customer:     bot.Customer{ID: "u-7", Name: "Ada", Email: "ada@example.com"},
		Message:      bot.MessageRef{ID: "m-1", Text: "How do I reset my password?"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
	}

	var ve *bot.ValidationError
	if _, err := tr.Parse(r, []byte(`{"type":"message.created","message":{"text":"hi"}}`)); !errors.As(err, &ve) || ve.Field != "conversation.id" {
		t.Fatalf("Parse(no conversation)=%v, want a conversation.id validation error", err)
	}
}

// Senders built on Svix sign with svix-id, svix-timestamp and svix-signature
// (the official Standard Webhooks libraries accept both spellings); the
// svix-id is the event id.
func TestSvixHeaderNames(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: secret}, time.Unix(tsUnix, 0))
	r := newRequest(map[string]string{
		"svix-id":        msgID,
		"svix-timestamp": strconv.Itoa(tsUnix),
		"svix-signature": validSig,
	}, []byte(validBody))
	if err := tr.Verify(r, []byte(validBody)); err != nil {
		t.Fatalf("Verify(svix headers)=%v, want nil", err)
	}
	r.Header.Set("svix-signature", otherSig)
	if err := tr.Verify(r, []byte(validBody)); !errors.Is(err, bot.ErrUnauthorized) {
		t.Fatalf("Verify(svix headers, wrong signature)=%v, want bot.ErrUnauthorized", err)
	}
	body := []byte(`{"type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"}}`)
	ev, err := tr.Parse(newRequest(map[string]string{"svix-id": "msg_svix"}, body), body)
	if err != nil || ev.ID != "msg_svix" {
		t.Fatalf("Parse(svix-id) = %+v, %v; want id msg_svix", ev, err)
	}
}
