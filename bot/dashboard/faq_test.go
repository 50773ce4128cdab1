package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/dashboard"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// faqMenu is a bot.FAQLearner over fixed entries and the real store.
type faqMenu struct {
	store   *sqlite.Store
	entries map[string]bot.FAQEntry
}

func (f faqMenu) FAQEntry(id string) (bot.FAQEntry, error) {
	e, ok := f.entries[id]
	if !ok {
		return e, fmt.Errorf("entry %q: %w", id, bot.ErrNotFound)
	}
	return e, nil
}

func (f faqMenu) LearnExample(ctx context.Context, replyID, entryID, by string) (bot.FAQSuggestion, bool, error) {
	return f.store.LearnExample(ctx, replyID, entryID, by)
}

var faqReplyKeyRE = regexp.MustCompile(`id="faq-answer-form">\s*<input type="hidden" name="csrf" value="[^"]*">\s*<input type="hidden" name="reply_key" value="([^"]+)"`)

// TestSendFAQAnswerFromDashboard: the conversation page offers the entries
// the escalation considered; choosing one sends its answer as the
// operator's reply, once, and the customer's question becomes a pending
// example suggestion of the entry.
func TestSendFAQAnswerFromDashboard(t *testing.T) {
	t.Parallel()
	var menu faqMenu
	tb := setup(t, func(d *dashboard.Dashboard) {
		menu.entries = map[string]bot.FAQEntry{"billing-vat": {ID: "billing-vat", Question: "VAT number?", Answer: "Edit it under Billing, then download the invoice again."}}
		d.FAQ = &menu
	})
	menu.store = tb.store
	in := customerWrites(t, tb.store, "c-f", "e-f", "Billing", "my invoice shows the wrong VAT number")
	key := in.Conversation.Key
	if err := tb.store.ApplyDecision(context.Background(), bot.Outcome{
		ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope},
		Escalation: &bot.Escalation{ConversationKey: key, Reason: bot.ReasonOutOfScope, Customer: in.Conversation.Customer,
			Candidates: []bot.Candidate{{ID: "billing-vat", Question: "How do I fix the <b>VAT</b> number on an invoice?", Score: 0.4}}},
		Replies: []bot.Reply{{ID: "r-" + key, ConversationKey: key, Kind: bot.ReplyHandoff, Author: bot.AuthorBot, Text: "A person will reply.", State: bot.StateEscalated}},
	}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	csrf := loginAs(t, tb, c, "Grace")
	convURL := tb.srv.URL + "/admin/conversations/" + url.PathEscape(key)
	page := do(t, c, "GET", convURL, nil, nil)
	if !strings.Contains(page.body, `<option value="billing-vat">billing-vat · How do I fix the &lt;b&gt;VAT&lt;/b&gt; number on an invoice?</option>`) {
		t.Fatalf("page lacks the escaped FAQ choice:\n%s", page.body)
	}
	m := faqReplyKeyRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no reply key in the FAQ form")
	}
	form := url.Values{"csrf": {csrf}, "reply_key": {m[1]}, "agent": {"Grace"}, "entry": {"billing-vat"}}
	for range 2 {
		r := do(t, c, "POST", convURL+"/faq-answer", form, nil)
		if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?ok=faqsent") {
			t.Fatalf("send faq answer = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
		}
	}
	got := agentReplies(t, tb, key)
	if len(got) != 1 || got[0].AgentName != "Grace" || got[0].Text != "Edit it under Billing, then download the invoice again." {
		t.Fatalf("agent replies = %+v, want the entry's answer once, by Grace", got)
	}
	pending, err := tb.store.PendingExamples(context.Background(), "billing-vat")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Question != "my invoice shows the wrong VAT number" || pending[0].SuggestedBy != "Grace" {
		t.Fatalf("learned examples = %+v", pending)
	}
	// An entry no longer in the knowledge base sends nothing.
	form.Set("entry", "gone")
	form.Set("reply_key", m[1]+"x")
	if r := do(t, c, "POST", convURL+"/faq-answer", form, nil); !strings.HasSuffix(r.header.Get("Location"), "?err=noentry") {
		t.Fatalf("unknown entry = %d to %q", r.status, r.header.Get("Location"))
	}
	if got := agentReplies(t, tb, key); len(got) != 1 {
		t.Fatalf("%d agent replies after the refused one, want 1", len(got))
	}
}
