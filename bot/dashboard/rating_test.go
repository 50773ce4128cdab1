package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// resolveAndRate resolves the conversation and stores the customer's rating.
func resolveAndRate(t *testing.T, tb *testBundle, key string, score int, comment string) {
	t.Helper()
	ctx := context.Background()
	if _, err := tb.store.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateResolved, Actor: bot.ActorCustomer, Reason: bot.ResolutionConfirmed}); err != nil {
		t.Fatal(err)
	}
	if err := tb.store.RateConversation(ctx, bot.Rating{ConversationKey: key, Score: score, Comment: comment}); err != nil {
		t.Fatal(err)
	}
}

func TestRatingsShown(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	login(t, tb, c)

	home := do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil)
	if !strings.Contains(home.body, `<span class="value" id="csat">–</span>`) || !strings.Contains(home.body, `<span id="csat-rated">0</span>`) {
		t.Fatalf("overview without ratings: want CSAT – of 0 ratings:\n%s", home.body)
	}

	for i, score := range []int{5, 4, 2} {
		in := customerWrites(t, tb.store, "c-"+itoa(int64(i)), "m-"+itoa(int64(i)), "", "How do I reset my password?")
		comment := ""
		if i == 2 {
			comment = `<script>alert("slow")</script>`
		}
		resolveAndRate(t, tb, in.Conversation.Key, score, comment)
	}
	home = do(t, c, "GET", tb.srv.URL+"/admin/?range=24h", nil, nil)
	if !strings.Contains(home.body, `<span class="value" id="csat">67%</span>`) || !strings.Contains(home.body, `<span id="csat-rated">3</span>`) ||
		!strings.Contains(home.body, "mean 3.7") {
		t.Fatalf("overview: want CSAT 67%% of 3 ratings, mean 3.7:\n%s", home.body)
	}

	page := do(t, c, "GET", tb.srv.URL+"/admin/conversations/chat/c-2", nil, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, `<span class="rating-score rating-2" id="rating-score">2 / 5</span>`) {
		t.Fatalf("conversation page = %d, want its rating 2 / 5:\n%s", page.status, page.body)
	}
	if strings.Contains(page.body, `<script>alert`) || !strings.Contains(page.body, `&lt;script&gt;alert(&#34;slow&#34;)&lt;/script&gt;`) {
		t.Fatalf("the comment is not escaped:\n%s", page.body)
	}
	if page := do(t, c, "GET", tb.srv.URL+"/admin/conversations/chat/c-0", nil, nil); strings.Contains(page.body, `id="rating-comment"`) {
		t.Fatal("a rating without a comment shows a comment")
	}
	in := customerWrites(t, tb.store, "unrated", "m-u", "", "hello?")
	if page := do(t, c, "GET", tb.srv.URL+"/admin/conversations/"+in.Conversation.Key, nil, nil); strings.Contains(page.body, `id="conv-rating"`) {
		t.Fatal("an unrated conversation shows a rating")
	}
}

// TestHandoffLabelsTheModel: what the language model wrote on a hand-off
// (its reason, its summary) is labelled as the model's; the customer's own
// words, as the summary of a hand-off without a model, are not.
func TestHandoffLabelsTheModel(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	login(t, tb, c)
	ctx := context.Background()
	const label = "Written by the language model, not checked:"

	byModel := customerWrites(t, tb.store, "llm", "m-1", "", "Can I pay by cheque?")
	key := byModel.Conversation.Key
	if err := tb.store.ApplyDecision(ctx, bot.Outcome{
		ConversationKey: key, MessageIDs: []int64{byModel.MessageID},
		Decision: bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonLLMEscalated},
		Escalation: &bot.Escalation{
			ConversationKey: key, Reason: bot.ReasonLLMEscalated, Detail: "The FAQ says nothing about cheques.",
			Summary: "The customer wants to pay by cheque.",
			Recent:  []bot.Turn{{Author: bot.AuthorCustomer, Text: "Can I pay by cheque?"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	page := do(t, c, "GET", tb.srv.URL+"/admin/conversations/"+key, nil, nil)
	for _, want := range []string{`<code>llm_escalated</code>`, "The FAQ says nothing about cheques.", "The customer wants to pay by cheque."} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("hand-off panel: want %q:\n%s", want, page.body)
		}
	}
	if n := strings.Count(page.body, label); n != 2 {
		t.Fatalf("the model's label appears %d times, want 2 (reason and summary):\n%s", n, page.body)
	}

	plain := customerWrites(t, tb.store, "plain", "m-2", "", "I want a person")
	escalateWithSummary := bot.Escalation{
		ConversationKey: plain.Conversation.Key, Reason: bot.ReasonHumanRequested, Detail: "the customer asked for a person",
		Summary: "I want a person", Recent: []bot.Turn{{Author: bot.AuthorCustomer, Text: "I want a person"}},
	}
	if err := tb.store.ApplyDecision(ctx, bot.Outcome{
		ConversationKey: plain.Conversation.Key, MessageIDs: []int64{plain.MessageID},
		Decision:   bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested},
		Escalation: &escalateWithSummary,
	}); err != nil {
		t.Fatal(err)
	}
	page = do(t, c, "GET", tb.srv.URL+"/admin/conversations/"+plain.Conversation.Key, nil, nil)
	if strings.Contains(page.body, label) || !strings.Contains(page.body, "The customer's own words.") {
		t.Fatalf("a hand-off without a model: want no model label and the customer's words marked:\n%s", page.body)
	}
}
