package zendesk_test

import (
	cryptohmac "crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/zendesk"
)

// FuzzZendeskParse: the parser never panics, an accepted event is valid,
// and every refusal is a validation error or an ignore.
func FuzzZendeskParse(f *testing.F) {
	for _, name := range []string{"trigger_comment.json", "event_comment_added.json", "event_ticket_created.json",
		"event_agent_assignment_changed.json", "event_status_changed.json", "trigger_agent_update.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"zen:event-type:ticket.comment_added","detail":{"id":1e400},"event":{"comment":{"is_public":true,"body":"x"}}}`))
	f.Add([]byte(`{"ticket":{"id":-1,"tags":["a",""]},"author":{"role":"End-user"},"comment":"x"}`))
	f.Add([]byte(`{"type":7,"ticket":null}`))
	tr, err := zendesk.New(triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s", Reply: triggers.ReplyConfig{Kind: "zendesk", BaseURL: "https://x.zendesk.com", Email: "bot@x"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/hooks/zd", strings.NewReader(string(body)))
		ev, err := tr.Parse(r, body)
		var ve *bot.ValidationError
		switch {
		case err == nil:
			if verr := ev.Validate(); verr != nil || ev.ID == "" || ev.Trigger != "zd" {
				t.Fatalf("accepted an invalid event %+v: %v", ev, verr)
			}
		case errors.Is(err, bot.ErrIgnored), errors.As(err, &ve):
		default:
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

// FuzzZendeskVerify: no body, header or timestamp other than the signed
// ones verifies.
func FuzzZendeskVerify(f *testing.F) {
	now := time.Date(2021, 3, 25, 5, 9, 27, 0, time.UTC)
	ts, sig := zendesk.Signature("s3cret", []byte(`{"a":1}`), now)
	f.Add([]byte(`{"a":1}`), ts, sig)
	f.Add([]byte(`{"a":1} `), ts, sig)
	f.Add([]byte(`{"a":1}`), "2021-03-25T05:09:28Z", sig)
	f.Add([]byte(`{"a":1}`), ts, sig[:8])
	tr, err := zendesk.New(triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s3cret"})
	if err != nil {
		f.Fatal(err)
	}
	tr.(*zendesk.Trigger).Now = func() time.Time { return now }
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		r := httptest.NewRequest("POST", "/hooks/zd", strings.NewReader(string(body)))
		r.Header.Set(zendesk.TimestampHeader, ts)
		r.Header.Set(zendesk.SignatureHeader, sig)
		err := tr.Verify(r, body)
		if err == nil {
			// Accepted: it must be exactly what a holder of the secret signs
			// (padded or unpadded base64) for a timestamp in the window.
			mustTime(t, ts)
			want := base64.StdEncoding.EncodeToString(mac("s3cret", ts, body))
			if sig != want && sig != strings.TrimRight(want, "=") {
				t.Fatalf("accepted a forged signature %q for %q at %q", sig, body, ts)
			}
			return
		}
		if !errors.Is(err, bot.ErrUnauthorized) {
			t.Fatalf("refusal is not unauthorized: %v", err)
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := triggers.ParseTimestamp(s)
	if err != nil {
		t.Fatalf("accepted an unreadable timestamp %q", s)
	}
	return ts
}

// mac is HMAC-SHA256(secret, ts + body), computed apart from the code
// under test.
func mac(secret, ts string, body []byte) []byte {
	m := cryptohmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return m.Sum(nil)
}
