package hmac_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	hmactrigger "github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/triggertest"
)

// vector is one entry of testdata/vectors.json: a vendor's scheme written
// as an hmac config, with a request signed by it (WEBHOOKS.md section 0).
type vector struct {
	Name    string              `json:"name"`
	Source  string              `json:"source"`
	HMAC    triggers.HMACConfig `json:"hmac"`
	Secret  string              `json:"secret"`
	Now     int64               `json:"now"` // unix seconds; 0 when no timestamp is signed
	Headers map[string]string   `json:"headers"`
	Body    string              `json:"body"`
	Valid   bool                `json:"valid"`
}

// MustNew builds an hmac trigger whose clock reads now.
func MustNew(tb testing.TB, cfg triggers.Config, now time.Time) *hmactrigger.Trigger {
	tb.Helper()
	cfg.Kind = hmactrigger.Kind
	if cfg.Name == "" {
		cfg.Name = "vendor"
	}
	tr, err := hmactrigger.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ht := tr.(*hmactrigger.Trigger)
	ht.Now = func() time.Time { return now }
	return ht
}

func newRequest(h map[string]string, body []byte) *http.Request {
	return triggertest.Request("/hooks/vendor", h, body)
}

func TestVectors(t *testing.T) {
	for _, v := range triggertest.LoadVectors[vector](t, "testdata/vectors.json") {
		t.Run(v.Name, func(t *testing.T) {
			tr := MustNew(t, triggers.Config{Secret: v.Secret, HMAC: v.HMAC}, time.Unix(v.Now, 0))
			err := tr.Verify(newRequest(v.Headers, []byte(v.Body)), []byte(v.Body))
			if got, want := err == nil, v.Valid; got != want {
				t.Fatalf("Verify()=%v, want success %v", err, want)
			}
			if err != nil && !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
		})
	}
}

// Chatwoot's scheme (D7) is the fixture of TestVerify: prefix, timestamp
// header and the default signed template.
const (
	body     = `{"ticket_id":123,"subject":"Help","body":"My order is late"}`
	cwSecret = "my-webhook-secret"
	cwTS     = "1700000000"
	cwSig    = "sha256=bb80f42c0ebe9fa5e25a9af07884ae6f373f4be2f97ffd1922022d1611928145"
)

func sign(secret, content string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(content))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	chatwoot := triggers.HMACConfig{Header: "X-Chatwoot-Signature", Prefix: "sha256=", TimestampHeader: "X-Chatwoot-Timestamp"}
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		cfg     triggers.Config // HMAC defaults to chatwoot, Secret to cwSecret
		now     time.Time
		headers map[string]string // overrides; "" deletes
		body    string
		wantErr string
	}{
		{name: "valid"},
		{name: "prefix in upper case", headers: map[string]string{"X-Chatwoot-Signature": "SHA256=" + cwSig[7:]}},
		{name: "hex in upper case", headers: map[string]string{"X-Chatwoot-Signature": "sha256=" + strings.ToUpper(cwSig[7:])}},
		{name: "missing signature header", headers: map[string]string{"X-Chatwoot-Signature": ""}, wantErr: "missing header X-Chatwoot-Signature"},
		{name: "missing timestamp header", headers: map[string]string{"X-Chatwoot-Timestamp": ""}, wantErr: "missing header X-Chatwoot-Timestamp"},
		{name: "missing prefix", headers: map[string]string{"X-Chatwoot-Signature": cwSig[7:]}, wantErr: `missing prefix "sha256="`},
		{name: "prefix only", headers: map[string]string{"X-Chatwoot-Signature": "sha256="}, wantErr: "no matching signature in X-Chatwoot-Signature"},
		{name: "truncated signature", headers: map[string]string{"X-Chatwoot-Signature": cwSig[:len(cwSig)-1]}, wantErr: "no matching"},
		{name: "signature with trailing garbage", headers: map[string]string{"X-Chatwoot-Signature": cwSig + "0"}, wantErr: "no matching"},
		{name: "timestamp not a timestamp", headers: map[string]string{"X-Chatwoot-Timestamp": "soon"}, wantErr: "X-Chatwoot-Timestamp: timestamp is neither"},
		{name: "timestamp out of range", headers: map[string]string{"X-Chatwoot-Timestamp": "9223372036854775807"}, wantErr: "out of range"},
		{name: "tampered body", body: body + " ", wantErr: "no matching"},
		{name: "wrong secret", cfg: triggers.Config{Secret: "not-the-secret"}, wantErr: "no matching"},
		{name: "300 s old accepted", now: now.Add(300 * time.Second)},
		{name: "301 s old rejected", now: now.Add(301 * time.Second), wantErr: "timestamp too old"},
		{name: "300 s in the future accepted", now: now.Add(-300 * time.Second)},
		{name: "301 s in the future rejected", now: now.Add(-301 * time.Second), wantErr: "timestamp too new"},
		{name: "rotation: old secret", cfg: triggers.Config{Secret: "new-secret", Secrets: []string{cwSecret}}},
		{name: "rotation: new secret", cfg: triggers.Config{Secret: cwSecret, Secrets: []string{"old-secret"}}},
		{
			name: "sha512 without prefix or timestamp",
			cfg:  triggers.Config{HMAC: triggers.HMACConfig{Algorithm: "sha512"}},
			headers: map[string]string{
				"X-Signature": sign(cwSecret, body), "X-Chatwoot-Signature": "", "X-Chatwoot-Timestamp": "",
			},
		},
		{
			name: "timestamp in milliseconds",
			cfg:  triggers.Config{HMAC: triggers.HMACConfig{Algorithm: "sha512", TimestampHeader: "X-Timestamp"}},
			now:  time.UnixMilli(1700000000123 + 300000),
			headers: map[string]string{
				"X-Signature": sign(cwSecret, "1700000000123."+body), "X-Timestamp": "1700000000123",
			},
		},
		{
			name: "timestamp in milliseconds, 1 ms too old",
			cfg:  triggers.Config{HMAC: triggers.HMACConfig{Algorithm: "sha512", TimestampHeader: "X-Timestamp"}},
			now:  time.UnixMilli(1700000000123 + 300001),
			headers: map[string]string{
				"X-Signature": sign(cwSecret, "1700000000123."+body), "X-Timestamp": "1700000000123",
			},
			wantErr: "timestamp too old",
		},
		{
			name: "RFC 3339 timestamp",
			cfg:  triggers.Config{HMAC: triggers.HMACConfig{Algorithm: "sha512", TimestampHeader: "X-Timestamp", Signed: "{timestamp}{body}"}},
			now:  time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC),
			headers: map[string]string{
				"X-Signature": sign(cwSecret, "2023-11-14T23:13:20+01:00"+body), "X-Timestamp": "2023-11-14T23:13:20+01:00",
			},
		},
		{
			name:    "placeholder text in the body is not expanded",
			cfg:     triggers.Config{HMAC: triggers.HMACConfig{Algorithm: "sha512", TimestampHeader: "X-Timestamp"}},
			body:    `{"x":"{timestamp}"}`,
			headers: map[string]string{"X-Signature": sign(cwSecret, `1700000000.{"x":"1700000000"}`), "X-Timestamp": cwTS},
			wantErr: "no matching",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.HMAC == (triggers.HMACConfig{}) {
				cfg.HMAC = chatwoot
			}
			if cfg.Secret == "" {
				cfg.Secret = cwSecret
			}
			at := tt.now
			if at.IsZero() {
				at = now
			}
			tr := MustNew(t, cfg, at)
			h := map[string]string{"X-Chatwoot-Signature": cwSig, "X-Chatwoot-Timestamp": cwTS}
			for k, v := range tt.headers {
				h[k] = v
			}
			b := cmpOr(tt.body, body)
			err := tr.Verify(newRequest(h, []byte(b)), []byte(b))
			triggertest.CheckVerify(t, err, tt.wantErr, cfg.AllSecrets()...)
		})
	}
}

// TestVerifyRepeatedHeader checks that every line of a repeated signature
// header is considered.
func TestVerifyRepeatedHeader(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: "It's a Secret to Everybody", HMAC: triggers.HMACConfig{Header: "X-Hub-Signature-256", Prefix: "sha256="}}, time.Now())
	r := newRequest(nil, []byte("Hello, World!"))
	r.Header.Add("X-Hub-Signature-256", "sha1=0000")
	r.Header.Add("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err := tr.Verify(r, []byte("Hello, World!")); err != nil {
		t.Fatalf("Verify()=%v, want nil", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string // "" = builds
	}{
		{name: "defaults", cfg: triggers.Config{Secret: "s"}},
		{name: "no secret", cfg: triggers.Config{}, wantErr: "secret: required"},
		{name: "rotation only", cfg: triggers.Config{Secrets: []string{"a", "b"}}},
		{name: "algorithm md5", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Algorithm: "md5"}}, wantErr: `hmac.algorithm: "md5" is not one of sha1, sha256, sha512`},
		{name: "algorithm in upper case", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Algorithm: "SHA1"}}},
		{name: "encoding base32", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Encoding: "base32"}}, wantErr: `hmac.encoding: "base32" is not one of base64, hex`},
		{name: "header with space", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Header: "X Signature"}}, wantErr: `hmac.header: "X Signature" is not a header name`},
		{name: "timestamp header with colon", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{TimestampHeader: "X-TS:"}}, wantErr: `hmac.timestamp_header: "X-TS:" is not a header name`},
		{name: "id header invalid", cfg: triggers.Config{Secret: "s", IDHeader: "Id\n"}, wantErr: `id_header: "Id\n" is not a header name`},
		{name: "signed without body", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{TimestampHeader: "X-TS", Signed: "{timestamp}"}}, wantErr: "hmac.signed: must contain {body} exactly once"},
		{name: "signed with two bodies", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{TimestampHeader: "X-TS", Signed: "{timestamp}{body}{body}"}}, wantErr: "hmac.signed: must contain {body} exactly once"},
		{name: "signed with unknown placeholder", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{TimestampHeader: "X-TS", Signed: "{ts}.{body}"}}, wantErr: "hmac.signed: unknown placeholder {ts}; use {timestamp} and {body}"},
		{name: "signed without timestamp", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{TimestampHeader: "X-TS", Signed: "{body}"}}, wantErr: "hmac.signed: must contain {timestamp} when hmac.timestamp_header is set"},
		{name: "timestamp without header", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Signed: "{timestamp}.{body}"}}, wantErr: "hmac.signed: uses {timestamp} but hmac.timestamp_header is not set"},
		{name: "signed with literal braces", cfg: triggers.Config{Secret: "s", HMAC: triggers.HMACConfig{Signed: "{1}{{body}}{"}}},
		{name: "negative tolerance", cfg: triggers.Config{Secret: "s", Tolerance: -1}, wantErr: "tolerance: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "vendor", hmactrigger.Kind
			_, err := hmactrigger.New(tt.cfg)
			triggertest.CheckNew(t, err, tt.wantErr)
		})
	}
}

// TestSignedLiteralBraces checks that braces that are no placeholder are
// signed as written.
func TestSignedLiteralBraces(t *testing.T) {
	tr := MustNew(t, triggers.Config{Secret: cwSecret, HMAC: triggers.HMACConfig{Algorithm: "sha512", Signed: "{1}{{body}}{"}}, time.Now())
	h := map[string]string{"X-Signature": sign(cwSecret, "{1}{"+body+"}{")}
	if err := tr.Verify(newRequest(h, []byte(body)), []byte(body)); err != nil {
		t.Fatalf("Verify()=%v, want nil", err)
	}
}

func TestParse(t *testing.T) {
	const native = `{"type":"ticket.created","conversation":{"id":"c-1"},"message":{"text":"Where is my order?"}}`
	tests := []struct {
		name     string
		tsHeader string // a signed timestamp header: header ids are then used
		idHeader string
		headers  map[string]string
		body     string
		wantID   string
	}{
		{name: "configured id header", tsHeader: "X-Ts", idHeader: "X-GitHub-Delivery", headers: map[string]string{"X-GitHub-Delivery": "d-1", "webhook-id": "w-1"}, wantID: "d-1"},
		{name: "webhook-id", tsHeader: "X-Ts", idHeader: "X-GitHub-Delivery", headers: map[string]string{"webhook-id": "w-1", "X-Request-Id": "r-1"}, wantID: "w-1"},
		{name: "X-Request-Id", tsHeader: "X-Ts", headers: map[string]string{"X-Request-Id": "r-1"}, wantID: "r-1"},
		{name: "body id", body: `{"id":"b-1","type":"ticket.created","conversation":{"id":"c-1"},"message":{"text":"Where is my order?"}}`, wantID: "b-1"},
		{name: "body hash", wantID: triggers.BodyID([]byte(native))},
		// A replay: the signature covers the body alone, so the unsigned
		// id headers are not the event id; a replay under a new one is a
		// duplicate.
		{name: "no timestamp: id header ignored", idHeader: "X-GitHub-Delivery", headers: map[string]string{"X-GitHub-Delivery": "replayed-1"}, wantID: triggers.BodyID([]byte(native))},
		{name: "no timestamp: webhook-id ignored", headers: map[string]string{"webhook-id": "replayed-2"}, wantID: triggers.BodyID([]byte(native))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := MustNew(t, triggers.Config{Name: "gh", Secret: "s", IDHeader: tt.idHeader, HMAC: triggers.HMACConfig{TimestampHeader: tt.tsHeader}}, time.Now())
			b := []byte(cmpOr(tt.body, native))
			got, err := tr.Parse(newRequest(tt.headers, b), b)
			if err != nil {
				t.Fatalf("Parse()=%v", err)
			}
			want := bot.Event{
				Trigger: "gh", ID: tt.wantID, Type: bot.EventTicketCreated,
				Conversation: bot.ConversationRef{ID: "c-1"}, Message: bot.MessageRef{Text: "Where is my order?"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	tr := MustNew(t, triggers.Config{Name: "gh", Secret: "s"}, time.Now())
	if got, want := tr.Kind(), "hmac"; got != want {
		t.Fatalf("Kind()=%q, want %q", got, want)
	}
	if got, want := tr.Name(), "gh"; got != want {
		t.Fatalf("Name()=%q, want %q", got, want)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestSignRoundTrip(t *testing.T) {
	for _, cfg := range []triggers.HMACConfig{
		{},
		{Header: "X-Hub-Signature-256", Prefix: "sha256="},
		{Header: "X-Sig", Algorithm: "sha1", Encoding: "base64", TimestampHeader: "X-Ts", Signed: "{timestamp}:{body}"},
	} {
		tr, err := hmactrigger.New(triggers.Config{Name: "h", Kind: "hmac", Secret: "s3cret", HMAC: cfg})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"type":"message.created"}`)
		req := httptest.NewRequest(http.MethodPost, "/hooks/h", nil)
		tr.(*hmactrigger.Trigger).Sign(req.Header, body, time.Now())
		if err := tr.Verify(req, body); err != nil {
			t.Fatalf("%+v: signed request does not verify: %v", cfg, err)
		}
		if err := tr.Verify(req, append(body, ' ')); err == nil {
			t.Fatalf("%+v: tampered body verified", cfg)
		}
	}
}
