package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers/chatwoot"
	"github.com/supportbot/supportbot/triggers/freshdesk"
	"github.com/supportbot/supportbot/triggers/helpscout"
	"github.com/supportbot/supportbot/triggers/intercom"
	"github.com/supportbot/supportbot/triggers/zendesk"
)

// waitOwner waits until conversation key is in state want.
func waitOwner(t *testing.T, m *Main, key string, want bot.State) {
	t.Helper()
	waitFor(t, 15*time.Second, func() error {
		c, err := m.Store.Conversation(context.Background(), key)
		if err == nil && c.State == want {
			return nil
		}
		return fmt.Errorf("conversation %s never became %s (last %+v, %v)", key, want, c, err)
	})
}

// waitTranscript waits until conversation key's transcript holds a line with text.
func waitTranscript(t *testing.T, m *Main, key, text string) bot.Message {
	t.Helper()
	var found bot.Message
	waitFor(t, 15*time.Second, func() error {
		ms, _ := m.Store.Messages(context.Background(), key)
		for _, msg := range ms {
			if msg.Text == text {
				found = msg
				return nil
			}
		}
		return fmt.Errorf("transcript of %s has no %q: %+v", key, text, ms)
	})
	return found
}

// quietAPI fails when the fake API receives a call within d.
func quietAPI[T any](t *testing.T, ch chan T, d time.Duration) {
	t.Helper()
	select {
	case c := <-ch:
		t.Fatalf("unexpected API call %v: the bot answered a conversation a person owns", c)
	case <-time.After(d):
	}
}

// TestChatwootOwnerEndToEnd: a person assigned in Chatwoot owns the
// conversation; the customer's next message is stored and not answered;
// back to pending, the bot answers again; resolved in Chatwoot, the
// conversation is resolved.
func TestChatwootOwnerEndToEnd(t *testing.T) {
	api := newChatwootFake(t)
	m := openWithTrigger(t, `  - name: cw
    kind: chatwoot
    secret: "cw-secret"
    burst: "0s"
    reply: {kind: chatwoot, base_url: "`+api.URL+`", account_id: "1", api_access_token: "cw-token"}
`)
	hook := m.Server.URL() + "/hooks/cw"
	n := 0
	send := func(body []byte) {
		t.Helper()
		n++
		ts, sig := chatwoot.Signature("cw-secret", body, time.Now())
		h := http.Header{}
		h.Set("X-Chatwoot-Delivery", "d-"+strings.Repeat("x", n))
		h.Set("X-Chatwoot-Timestamp", ts)
		h.Set("X-Chatwoot-Signature", sig)
		if status, out := postHook(t, hook, body, h); status != http.StatusAccepted {
			t.Fatalf("webhook %d = %d %v, want 202", n, status, out)
		}
	}
	message := func(id, text, status string) []byte {
		b := fixture(t, "chatwoot", "message_created.json")
		b = bytes.Replace(b, []byte(`"id":118`), []byte(`"id":`+id), 1)
		b = bytes.Replace(b, []byte("How do I reset my password?"), []byte(text), 1)
		return bytes.Replace(b, []byte(`"status":"pending"`), []byte(`"status":"`+status+`"`), 1)
	}
	const key = "cw/10"

	send(message("201", "How do I reset my password?", "pending"))
	if call := api.next(t); !strings.HasPrefix(call, "POST /api/v1/accounts/1/conversations/10/messages content=on_the_sign-in_page") {
		t.Fatalf("reply call = %q", call)
	}
	// John takes the conversation in Chatwoot.
	send(fixture(t, "chatwoot", "conversation_status_changed.json"))
	waitOwner(t, m, key, bot.StateAgent)
	assigned := bytes.Replace(fixture(t, "chatwoot", "message_created_assigned.json"), []byte(`"content":"hi"`),
		[]byte(`"content":"How do I reset my password? Still stuck"`), 1)
	send(assigned)
	waitTranscript(t, m, key, "How do I reset my password? Still stuck")
	quietAPI(t, api.ch, 500*time.Millisecond)

	// Back to pending: the bot's again.
	pending := bytes.Replace(fixture(t, "chatwoot", "conversation_status_changed.json"), []byte(`"status":"open"`), []byte(`"status":"pending"`), 1)
	send(pending)
	waitOwner(t, m, key, bot.StateBot)
	send(message("203", "Is there a free trial?", "pending"))
	if call := api.next(t); !strings.Contains(call, "/conversations/10/messages content=") || strings.Contains(call, "a_person_from_our_team") {
		t.Fatalf("reply after the hand-back = %q", call)
	}

	// John answers in Chatwoot: that is a person too.
	send(fixture(t, "chatwoot", "message_created_agent_reply.json"))
	waitOwner(t, m, key, bot.StateAgent)
	// Resolved in Chatwoot.
	send(fixture(t, "chatwoot", "conversation_resolved.json"))
	waitOwner(t, m, key, bot.StateResolved)
	quietAPI(t, api.ch, 300*time.Millisecond)

	ts, err := m.Store.Transitions(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, string(tr.To)+" "+tr.Actor+" "+tr.Reason)
	}
	want := "agent chatwoot:John helpdesk_assigned; bot chatwoot helpdesk_returned; " +
		"agent chatwoot:John helpdesk_replied; resolved chatwoot:John helpdesk_resolved"
	if strings.Join(got, "; ") != want {
		t.Fatalf("transitions = %s\nwant %s", strings.Join(got, "; "), want)
	}
}

// TestZendeskOwnerEndToEnd: an agent who takes the ticket in Zendesk owns
// it; the customer's next comment is stored and not answered; unassigned,
// the bot answers again; solved in Zendesk, the conversation is resolved.
func TestZendeskOwnerEndToEnd(t *testing.T) {
	api, calls := newZendeskFake(t)
	m := openWithTrigger(t, `  - name: zd
    kind: zendesk
    secret: "zd-secret"
    burst: "0s"
    reply: {kind: zendesk, base_url: "`+api.URL+`", email: "bot@example.com", api_token: "zd-token"}
`)
	hook := m.Server.URL() + "/hooks/zd"
	n := 0
	send := func(body []byte) {
		t.Helper()
		n++
		ts, sig := zendesk.Signature("zd-secret", body, time.Now())
		h := http.Header{}
		h.Set(zendesk.InvocationHeader, "inv-"+strings.Repeat("x", n))
		h.Set(zendesk.TimestampHeader, ts)
		h.Set(zendesk.SignatureHeader, sig)
		if status, out := postHook(t, hook, body, h); status != http.StatusAccepted {
			t.Fatalf("webhook %d = %d %v, want 202", n, status, out)
		}
	}
	grace := []byte(`"assignee":{"id":"235324","name":"Grace Hopper","email":"grace@example.com"},`)
	nobody := []byte(`"assignee":{"id":"","name":"","email":""},`)
	comment := func(text string, assignee []byte) []byte {
		b := fixture(t, "zendesk", "trigger_comment.json")
		b = bytes.Replace(b, []byte("How do I reset my password?"), []byte(text), 1)
		return bytes.Replace(b, []byte(`"requester":`), append(append([]byte{}, assignee...), `"requester":`...), 1)
	}
	const key = "zd/35436"

	send(comment("How do I reset my password?", nobody))
	if c := nextAPICall(t, calls, "Zendesk"); c.Path != "/api/v2/tickets/35436.json" {
		t.Fatalf("reply call = %s", c)
	}
	// Grace assigns the ticket to herself and answers in Zendesk.
	send(fixture(t, "zendesk", "trigger_agent_update.json"))
	waitOwner(t, m, key, bot.StateAgent)
	send(comment("Still stuck, the link has expired", grace))
	waitTranscript(t, m, key, "Still stuck, the link has expired")
	quietAPI(t, calls, 500*time.Millisecond)

	// She unassigns it: the bot's again.
	unassign := bytes.Replace(fixture(t, "zendesk", "trigger_agent_update.json"), grace, nobody, 1)
	send(unassign)
	waitOwner(t, m, key, bot.StateBot)
	send(comment("Is there a free trial?", nobody))
	if c := nextAPICall(t, calls, "Zendesk"); c.Path != "/api/v2/tickets/35436.json" {
		t.Fatalf("reply after the hand-back = %s", c)
	} else if body, _ := zendeskComment(c); strings.HasPrefix(body, "Thanks for your message.") {
		t.Fatalf("reply after the hand-back is a hand-off: %q", body)
	}

	// Solved in Zendesk (an event subscription on the same webhook).
	send(bytes.ReplaceAll(fixture(t, "zendesk", "event_status_changed.json"), []byte("5158"), []byte("35436")))
	waitOwner(t, m, key, bot.StateResolved)
	quietAPI(t, calls, 300*time.Millisecond)

	ts, err := m.Store.Transitions(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, string(tr.To)+" "+tr.Actor+" "+tr.Reason)
	}
	want := "agent zendesk:Grace Hopper helpdesk_assigned; bot zendesk:grace@example.com helpdesk_unassigned; " +
		"resolved zendesk helpdesk_resolved"
	if strings.Join(got, "; ") != want {
		t.Fatalf("transitions = %s\nwant %s", strings.Join(got, "; "), want)
	}
}

// TestIntercomOwnerEndToEnd: a teammate assigned in Intercom owns the
// conversation (the customer's reply is stored, not answered); unassigned,
// the bot answers again; closed there, it is resolved.
func TestIntercomOwnerEndToEnd(t *testing.T) {
	api, calls := newIntercomFake(t)
	m := openWithTrigger(t, `  - name: ic
    kind: intercom
    secret: "ic-secret"
    burst: "0s"
    reply: {kind: intercom, base_url: "`+api.URL+`", access_token: "ic-token", admin_id: "25"}
`)
	hook := m.Server.URL() + "/hooks/ic"
	n := 0
	send := func(body []byte) {
		t.Helper()
		n++
		body = bytes.Replace(body, []byte(`"id": "notif_`), []byte(fmt.Sprintf(`"id": "notif_%d_`, n)), 1)
		if s, out := postHook(t, hook, body, http.Header{"X-Hub-Signature": {intercom.Signature("ic-secret", body)}}); s != http.StatusAccepted {
			t.Fatalf("notification %d = %d %v, want 202", n, s, out)
		}
	}
	const key = "ic/1911149811"
	send(fixture(t, "intercom", "conversation_user_created.json"))
	if c := nextAPICall(t, calls, "Intercom"); c.Path != "/conversations/1911149811/reply" {
		t.Fatalf("reply call = %s", c)
	}
	send(fixture(t, "intercom", "conversation_admin_assigned.json"))
	waitOwner(t, m, key, bot.StateAgent)
	send(fixture(t, "intercom", "conversation_user_replied.json"))
	waitTranscript(t, m, key, "The reset link says it has expired.\n\nWhat now?")
	quietAPI(t, calls, 500*time.Millisecond)

	unassigned := bytes.Replace(fixture(t, "intercom", "conversation_admin_assigned.json"),
		[]byte(`"admin_assignee_id": 4242`), []byte(`"admin_assignee_id": null`), 1)
	unassigned = bytes.Replace(unassigned, []byte(`"id": "4242"
            }`), []byte(`"id": "0"
            }`), 1)
	send(unassigned)
	waitOwner(t, m, key, bot.StateBot)
	reply := bytes.Replace(fixture(t, "intercom", "conversation_user_replied.json"),
		[]byte("<p>The reset link says it has expired.</p><p>What now?</p>"), []byte("<p>Is there a free trial?</p>"), 1)
	reply = bytes.Replace(reply, []byte(`"id": "2202737122"`), []byte(`"id": "2202737199"`), 1)
	send(reply)
	if c := nextAPICall(t, calls, "Intercom"); c.Path != "/conversations/1911149811/reply" {
		t.Fatalf("reply after the hand-back = %s", c)
	}
	send(fixture(t, "intercom", "conversation_admin_closed.json"))
	waitOwner(t, m, key, bot.StateResolved)
}

// TestHelpScoutOwnerEndToEnd: a teammate assigned in Help Scout owns the
// conversation (the customer's reply is stored, not answered); closed
// there, it is resolved.
func TestHelpScoutOwnerEndToEnd(t *testing.T) {
	api, calls := newHelpScoutFake(t)
	m := openWithTrigger(t, `  - name: hs
    kind: helpscout
    secret: "hs-secret"
    burst: "0s"
    reply: {kind: helpscout, base_url: "`+api.URL+`", app_id: "hs-app", app_secret: "hs-app-secret"}
`)
	hook := m.Server.URL() + "/hooks/hs"
	send := func(event string, body []byte) {
		t.Helper()
		h := http.Header{}
		h.Set("X-HelpScout-Event", event)
		h.Set("X-HelpScout-Signature", helpscout.Signature("hs-secret", body))
		if s, out := postHook(t, hook, body, h); s != http.StatusAccepted {
			t.Fatalf("%s = %d %v, want 202", event, s, out)
		}
	}
	const key = "hs/2391938111"
	send("convo.created", fixture(t, "helpscout", "convo_created.json"))
	for range 3 { // token, conversation read, reply
		nextAPICall(t, calls, "Help Scout")
	}
	send("convo.assigned", fixture(t, "helpscout", "convo_assigned.json"))
	waitOwner(t, m, key, bot.StateAgent)
	reply := bytes.Replace(fixture(t, "helpscout", "convo_customer_reply_created.json"),
		[]byte(`"assignee": {"id": 9, "type": "user", "first": "Grace", "last": "Hopper", "email": "grace@example.com"}`),
		[]byte(`"assignee": {"id": 12, "type": "user", "first": "Katherine", "last": "Johnson", "email": "katherine@example.com"}`), 1)
	send("convo.customer.reply.created", reply)
	waitTranscript(t, m, key, "The reset link says it has expired.\n\nWhat now?")
	quietAPI(t, calls, 500*time.Millisecond)
	send("convo.status", fixture(t, "helpscout", "convo_status_closed.json"))
	waitOwner(t, m, key, bot.StateResolved)
}

// TestFreshdeskOwnerEndToEnd: an agent assigned in Freshdesk owns the
// ticket (the requester's reply is stored, not answered); resolved there,
// it is resolved.
func TestFreshdeskOwnerEndToEnd(t *testing.T) {
	api, calls := newFreshdeskFake(t)
	m := openWithTrigger(t, `  - name: fd
    kind: freshdesk
    token: "fd-token"
    burst: "0s"
    reply: {kind: freshdesk, base_url: "`+api.URL+`", api_key: "fd-key", email: "bot@acme.example"}
`)
	hook := m.Server.URL() + "/hooks/fd"
	send := func(body []byte) {
		t.Helper()
		h := http.Header{}
		h.Set(freshdesk.DefaultTokenHeader, "fd-token")
		if s, out := postHook(t, hook, body, h); s != http.StatusAccepted {
			t.Fatalf("webhook = %d %v, want 202", s, out)
		}
	}
	const key = "fd/11"
	send(fixture(t, "freshdesk", "reply_sent.json"))
	if c := nextAPICall(t, calls, "Freshdesk"); c.Path != "/api/v2/tickets/11/reply" {
		t.Fatalf("reply call = %s", c)
	}
	send(fixture(t, "freshdesk", "agent_assigned.json"))
	waitOwner(t, m, key, bot.StateAgent)
	again := bytes.Replace(fixture(t, "freshdesk", "reply_sent.json"), []byte("How do I reset my password?"), []byte("Any news on this?"), 1)
	again = bytes.Replace(again, []byte(`"requester":`), []byte(`"agent":{"name":"Grace Hopper","email":"grace@acme.example"},"requester":`), 1)
	send(again)
	waitTranscript(t, m, key, "Any news on this?")
	quietAPI(t, calls, 500*time.Millisecond)
	send(fixture(t, "freshdesk", "status_resolved.json"))
	waitOwner(t, m, key, bot.StateResolved)
}
