package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// TestCustomerUnverified: a web chat visitor's self-declared name and
// e-mail are marked unverified on the conversation page, in the list and
// among the hand-offs waiting; a helpdesk's customer is not.
func TestCustomerUnverified(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	login(t, tb, c)
	ctx := context.Background()
	say := func(conv string, cust bot.Customer) *bot.Inbound {
		rc, err := tb.store.Ingest(ctx, bot.Event{
			Trigger: "chat", ID: "m-" + conv, Type: bot.EventMessageCreated,
			Conversation: bot.ConversationRef{ID: conv}, Customer: cust,
			Message: bot.MessageRef{ID: "m-" + conv, Text: "hello"}, ReceivedAt: time.Now().UTC(),
		}, bot.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		inbox, err := sqlite.ParseEventRef(rc.ID)
		if err != nil {
			t.Fatal(err)
		}
		in, err := tb.store.RecordInbound(ctx, inbox, 0)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	escalate(t, tb.store, say("c-web", bot.Customer{ID: "wv_1", Name: "CEO of Acme", Email: "ceo@acme.example", Unverified: true}))
	escalate(t, tb.store, say("c-desk", bot.Customer{ID: "u-2", Name: "Ada", Email: "ada@example.com"}))

	const badge = `class="unverified"`
	conv := do(t, c, "GET", tb.srv.URL+"/admin/conversations/chat/c-web", nil, nil)
	if conv.status != http.StatusOK || !strings.Contains(conv.body, "CEO of Acme") || strings.Count(conv.body, badge) != 1 {
		t.Fatalf("web visitor's page = %d, want the name marked unverified once:\n%s", conv.status, conv.body)
	}
	if desk := do(t, c, "GET", tb.srv.URL+"/admin/conversations/chat/c-desk", nil, nil); strings.Contains(desk.body, badge) {
		t.Fatal("a helpdesk customer is marked unverified")
	}
	for _, p := range []string{"/admin/conversations", "/admin/"} {
		r := do(t, c, "GET", tb.srv.URL+p, nil, nil)
		if r.status != http.StatusOK || strings.Count(r.body, badge) != 1 {
			t.Fatalf("%s = %d with %d unverified marks, want 1:\n%s", p, r.status, strings.Count(r.body, badge), r.body)
		}
	}
}
