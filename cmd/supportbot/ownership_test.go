package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// waitOwner waits until conversation key is in state want.
func waitOwner(t *testing.T, m *Main, key string, want bot.State) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := m.Store.Conversation(context.Background(), key)
		if err == nil && c.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s never became %s (last %+v, %v)", key, want, c, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTranscript waits until conversation key's transcript holds a line with text.
func waitTranscript(t *testing.T, m *Main, key, text string) bot.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ms, _ := m.Store.Messages(context.Background(), key)
		for _, msg := range ms {
			if msg.Text == text {
				return msg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcript of %s has no %q: %+v", key, text, ms)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
