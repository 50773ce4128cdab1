package chatwoot_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// D7 of WEBHOOKS.md: secret my-webhook-secret, timestamp 1700000000, body B.
func TestVectorD7(t *testing.T) {
	body := `{"ticket_id":123,"subject":"Help","body":"My order is late"}`
	ts, sig := chatwoot.Signature("my-webhook-secret", []byte(body), time.Unix(1700000000, 0))
	if ts != "1700000000" || sig != "sha256=bb80f42c0ebe9fa5e25a9af07884ae6f373f4be2f97ffd1922022d1611928145" {
		t.Fatalf("signature = %s %s", ts, sig)
	}
}

func TestChatwoot(t *testing.T) {
	fixture, err := os.ReadFile("testdata/message_created.json")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := chatwoot.New(triggers.Config{Name: "cw", Kind: "chatwoot", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	req := func(body string, sign bool) *http.Request {
		r := httptest.NewRequest("POST", "/hooks/cw", strings.NewReader(body))
		r.Header.Set("X-Chatwoot-Delivery", "d-1")
		if sign {
			ts, sig := chatwoot.Signature("s3cret", []byte(body), time.Now())
			r.Header.Set("X-Chatwoot-Timestamp", ts)
			r.Header.Set("X-Chatwoot-Signature", sig)
		}
		return r
	}
	r := req(string(fixture), true)
	if err := tr.Verify(r, fixture); err != nil {
		t.Fatalf("signed fixture: %v", err)
	}
	ev, err := tr.Parse(r, fixture)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "d-1" || ev.Conversation.ID != "10" || ev.Customer.ID != "14" || ev.Message.Text != "How do I reset my password?" {
		t.Fatalf("event = %+v", ev)
	}
	if err := tr.Verify(req(string(fixture), false), fixture); !errors.Is(err, bot.ErrUnauthorized) {
		t.Fatalf("unsigned = %v, want unauthorized", err)
	}
	bad := req(string(fixture), true)
	if err := tr.Verify(bad, append(fixture, ' ')); !errors.Is(err, bot.ErrUnauthorized) {
		t.Fatalf("tampered = %v, want unauthorized", err)
	}
	for name, body := range map[string]string{
		"our own reply": strings.Replace(string(fixture), `"message_type":"incoming"`, `"message_type":"outgoing"`, 1),
		"private note":  strings.Replace(string(fixture), `"private":false`, `"private":true`, 1),
		"agent message": strings.Replace(string(fixture), `"type":"contact"`, `"type":"user"`, 1),
		"other event":   strings.Replace(string(fixture), `"message_created"`, `"conversation_status_changed"`, 1),
	} {
		if _, err := tr.Parse(req(body, true), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
	empty := strings.Replace(string(fixture), `"content":"How do I reset my password?"`, `"content":""`, 1)
	var ve *bot.ValidationError
	if _, err := tr.Parse(req(empty, true), []byte(empty)); !errors.As(err, &ve) || ve.Field != "message.text" {
		t.Fatalf("empty content = %v, want message.text invalid", err)
	}
}
