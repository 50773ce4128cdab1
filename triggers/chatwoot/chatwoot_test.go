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
	"github.com/supportbot/supportbot/triggers/triggertest"
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
		h := map[string]string{"X-Chatwoot-Delivery": "d-1"}
		if sign {
			h["X-Chatwoot-Timestamp"], h["X-Chatwoot-Signature"] = chatwoot.Signature("s3cret", []byte(body), time.Now())
		}
		return triggertest.Request("/hooks/cw", h, []byte(body))
	}
	r := req(string(fixture), true)
	if err := tr.Verify(r, fixture); err != nil {
		t.Fatalf("signed fixture: %v", err)
	}
	ev, err := tr.Parse(r, fixture)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "conversation:10:message:118" || ev.Conversation.ID != "10" || ev.Customer.ID != "14" || ev.Message.Text != "How do I reset my password?" {
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
	// Pending is the bot's queue: the message says so, for the engine to
	// return a conversation a person held.
	if ev.Owner == nil || ev.Owner.State != bot.StateBot || ev.Owner.Reason != bot.ReasonHelpdeskUnassigned {
		t.Fatalf("owner = %+v, want the bot's queue", ev.Owner)
	}
	// A message without text (an attachment alone) is acknowledged: a 400
	// would make Chatwoot mark the customer's message failed.
	empty := strings.Replace(string(fixture), `"content":"How do I reset my password?"`, `"content":""`, 1)
	empty = strings.Replace(empty, `"status":"pending"`, `"status":"open"`, 1)
	if _, err := tr.Parse(req(empty, true), []byte(empty)); !errors.Is(err, bot.ErrIgnored) {
		t.Fatalf("empty content = %v, want ignored", err)
	}
}

func TestChatwootOwnership(t *testing.T) {
	tr, err := chatwoot.New(triggers.Config{Name: "cw", Kind: "chatwoot", Secret: "cw-webhook-secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, body string
		wantType   string
		wantOwner  *bot.OwnerChange
		wantText   string
		wantID     string
	}{
		{file: "message_created_assigned.json", wantType: bot.EventMessageCreated, wantText: "hi", wantID: "conversation:10:message:118",
			wantOwner: &bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot:John", Reason: bot.ReasonHelpdeskAssigned}},
		{file: "message_created_agent_reply.json", wantType: bot.EventOwnerChanged, wantID: "conversation:10:message:121",
			wantOwner: &bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot:John", Reason: bot.ReasonHelpdeskReplied,
				Echo: "Hi Jane, I am looking at your account now."}},
		{file: "message_created_attachment.json", wantType: bot.EventOwnerChanged, wantID: "conversation:10:message:119",
			wantOwner: &bot.OwnerChange{State: bot.StateBot, Actor: "chatwoot", Reason: bot.ReasonHelpdeskUnassigned}},
		{file: "conversation_status_changed.json", wantType: bot.EventOwnerChanged, wantID: "d-1",
			wantOwner: &bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot:John", Reason: bot.ReasonHelpdeskAssigned}},
		{file: "conversation_resolved.json", wantType: bot.EventOwnerChanged, wantID: "d-1",
			wantOwner: &bot.OwnerChange{State: bot.StateResolved, Actor: "chatwoot:John", Reason: bot.ReasonHelpdeskResolved}},
		{file: "conversation_opened.json", wantType: bot.EventOwnerChanged, wantID: "d-1",
			wantOwner: &bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot", Reason: bot.ReasonHelpdeskOpened}},
		{file: "conversation_status_changed.json", body: `"status":"pending"`, wantType: bot.EventOwnerChanged, wantID: "d-1",
			wantOwner: &bot.OwnerChange{State: bot.StateBot, Actor: "chatwoot", Reason: bot.ReasonHelpdeskReturned}},
		{file: "conversation_status_changed.json", body: `"status":"resolved"`, wantType: bot.EventOwnerChanged, wantID: "d-1",
			wantOwner: &bot.OwnerChange{State: bot.StateResolved, Actor: "chatwoot:John", Reason: bot.ReasonHelpdeskResolved}},
	} {
		t.Run(tc.file+tc.body, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				b = []byte(strings.Replace(string(b), `"status":"open"`, tc.body, 1))
			}
			r := httptest.NewRequest("POST", "/hooks/cw", strings.NewReader(string(b)))
			r.Header.Set("X-Chatwoot-Delivery", "d-1")
			ev, err := tr.Parse(r, b)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.wantType || ev.ID != tc.wantID || ev.Message.Text != tc.wantText || ev.Conversation.ID != "10" {
				t.Fatalf("event = %+v", ev)
			}
			if ev.Owner == nil || *ev.Owner != *tc.wantOwner {
				t.Fatalf("owner = %+v, want %+v", ev.Owner, tc.wantOwner)
			}
		})
	}
	// The bot's own messages, posted as the agent bot, and notes are no signal.
	b, _ := os.ReadFile("testdata/message_created_agent_reply.json")
	for name, body := range map[string]string{
		"agent bot": strings.Replace(string(b), `"type":"user"`, `"type":"agent_bot"`, 1),
		"note":      strings.Replace(string(b), `"private":false`, `"private":true`, 1),
	} {
		r := httptest.NewRequest("POST", "/hooks/cw", strings.NewReader(body))
		if _, err := tr.Parse(r, []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
	// An update that names no person: nothing to apply.
	b, _ = os.ReadFile("testdata/conversation_opened.json")
	upd := strings.Replace(string(b), `"conversation_opened"`, `"conversation_updated"`, 1)
	if _, err := tr.Parse(httptest.NewRequest("POST", "/hooks/cw", nil), []byte(upd)); !errors.Is(err, bot.ErrIgnored) {
		t.Fatalf("unassigned update: err = %v, want ignored", err)
	}
}

// The same message sent again under a new delivery id is the same event.
func TestChatwootMessageDedupe(t *testing.T) {
	tr, err := chatwoot.New(triggers.Config{Name: "cw", Kind: "chatwoot", Secret: "cw-webhook-secret"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/message_created.json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, delivery := range []string{"d-1", "d-2"} {
		r := httptest.NewRequest("POST", "/hooks/cw", strings.NewReader(string(b)))
		r.Header.Set("X-Chatwoot-Delivery", delivery)
		ev, err := tr.Parse(r, b)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if ids[0] != ids[1] || ids[0] != "conversation:10:message:118" {
		t.Fatalf("ids = %q, want one id for one message", ids)
	}
}
