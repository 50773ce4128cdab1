package worker_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/faq/acts"
)

// closeCallDecider makes a close call of refunds and invoices on every
// question that mentions a refund, and answers the rest.
var closeCallDecider = bot.DeciderFunc(func(_ context.Context, q bot.Query) (bot.Decision, error) {
	if !strings.Contains(strings.ToLower(q.Text), "refund") {
		return bot.Decision{Action: bot.ActionAnswer, Answer: "re: " + q.Text, Confidence: 1, Source: "matcher"}, nil
	}
	opts := []bot.Candidate{
		{ID: "invoices", Question: "Where can I find my invoices?", Score: 0.943},
		{ID: "refunds", Question: "How do I get a refund?", Score: 0.906},
	}
	return bot.Decision{
		Action: bot.ActionEscalate, Reason: bot.ReasonAmbiguous, Detail: "too close to choose",
		Candidates: opts, Options: opts, Confidence: 0.943, Source: "policy",
	}, nil
})

var entryAnswers = map[string]string{
	"invoices": "Invoices are under Settings, Billing.",
	"refunds":  "Refunds go back to the card you paid with within 5 days.",
}

func setupChoice(t *testing.T, confirm bool) *testBundle {
	t.Helper()
	return setup(t, closeCallDecider, func(b *testBundle) {
		b.engine.Acts = acts.Default()
		b.engine.TriggerFunc = func(string) worker.TriggerSettings { return worker.TriggerSettings{Confirm: confirm} }
		b.engine.EntryAnswerFunc = func(id string) (string, bool) {
			a, ok := entryAnswers[id]
			return a, ok
		}
	})
}

func TestChoiceAskedThenPicked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pick, want string
	}{
		{"button text", "How do I get a refund?", "refunds"},
		{"question without punctuation", "how do i get a refund", "refunds"},
		{"the first", "the first one", "invoices"},
		{"number", "2", "refunds"},
		{"ordinal", "Second.", "refunds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupChoice(t, true)
			ingest(t, b.store, "c", "m1", "How can I get a refund for my last invoice?", 0)
			r := b.sink.wait(t, 1)[0]
			if want := "Did you mean: Where can I find my invoices, or How do I get a refund?"; r.Text != want || r.Kind != bot.ReplyAnswer || r.State != bot.StateBot {
				t.Fatalf("reply = %+v, want the question %q", r, want)
			}
			if want := []string{"Where can I find my invoices?", "How do I get a refund?"}; !slices.Equal(r.Options, want) {
				t.Fatalf("options = %q, want %q", r.Options, want)
			}
			c := waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return len(c.Choice) == 2 })
			if c.State != bot.StateBot || c.Answered || c.ConfirmPending {
				t.Fatalf("conversation = %+v, want the bot waiting for a choice", c)
			}

			ingest(t, b.store, "c", "m2", tc.pick, 0)
			r = b.sink.wait(t, 1)[0]
			if want := entryAnswers[tc.want] + "\n\n" + worker.DefaultConfirmText; r.Text != want || !slices.Equal(r.Options, worker.ConfirmOptions) {
				t.Fatalf("answer = %q %q, want %q with Yes/No", r.Text, r.Options, want)
			}
			c = waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.ConfirmPending })
			if len(c.Choice) != 0 || !c.Answered {
				t.Fatalf("conversation = %+v, want the choice cleared and the answer pending confirmation", c)
			}
		})
	}
}

func TestChoiceOtherTextDecidedNormally(t *testing.T) {
	t.Parallel()
	b := setupChoice(t, false)
	ingest(t, b.store, "c", "m1", "refund for my invoice?", 0)
	b.sink.wait(t, 1)
	waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return len(c.Choice) == 2 })
	ingest(t, b.store, "c", "m2", "How do I reset my password?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: How do I reset my password?" || len(r.Options) != 0 {
		t.Fatalf("reply = %+v, want the new question answered", r)
	}
	waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return len(c.Choice) == 0 && c.Answered })
	// After an answer, a close call is asked again: it is not in a row.
	ingest(t, b.store, "c", "m3", "and a refund?", 0)
	if r := b.sink.wait(t, 1)[0]; len(r.Options) != 2 {
		t.Fatalf("reply = %+v, want the choice asked", r)
	}
}

func TestChoiceTwiceInARowEscalates(t *testing.T) {
	t.Parallel()
	b := setupChoice(t, false)
	ingest(t, b.store, "c", "m1", "refund for my invoice?", 0)
	b.sink.wait(t, 1)
	// A greeting meanwhile leaves the question standing.
	ingest(t, b.store, "c", "m2", "hello", 0)
	b.sink.wait(t, 1)
	waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return len(c.Choice) == 2 })
	ingest(t, b.store, "c", "m3", "I mean the refund of the invoice", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
	c := waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.State == bot.StateEscalated })
	if len(c.Choice) != 0 {
		t.Fatalf("conversation = %+v, want the choice cleared", c)
	}
	if tr := lastTransition(t, b, "chat/c"); tr.Reason != bot.ReasonAmbiguous {
		t.Fatalf("transition = %+v, want ambiguous", tr)
	}
	esc, err := b.store.LatestEscalation(context.Background(), "chat/c")
	if err != nil || !strings.Contains(esc.Detail, "asked which entry") || len(esc.Candidates) != 2 {
		t.Fatalf("escalation = %+v, %v; want the detail to say the customer was asked, with both entries", esc, err)
	}
}

func TestChoiceNeedsEntryAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t, closeCallDecider, nil) // no EntryAnswerFunc: close calls escalate
	ingest(t, b.store, "c", "m1", "refund for my invoice?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
	if tr := lastTransition(t, b, "chat/c"); tr.Reason != bot.ReasonAmbiguous {
		t.Fatalf("transition = %+v, want ambiguous", tr)
	}
}

// TestChoiceLeftOutOfHistory: the question the bot asked about is not an
// answered one, so the Decider does not see it (a rephrasing of it is not
// a repeated question); once settled, the history is whole again.
func TestChoiceLeftOutOfHistory(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var histories [][]bot.Turn
	d := bot.DeciderFunc(func(ctx context.Context, q bot.Query) (bot.Decision, error) {
		mu.Lock()
		histories = append(histories, q.History)
		mu.Unlock()
		return closeCallDecider(ctx, q)
	})
	b := setup(t, d, func(b *testBundle) {
		b.engine.EntryAnswerFunc = func(id string) (string, bool) { a, ok := entryAnswers[id]; return a, ok }
	})
	ingest(t, b.store, "c", "m0", "How do I log in?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m1", "refund for my invoice?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m2", "How do I reset my password?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m3", "thanks, and where is my data stored?", 0)
	b.sink.wait(t, 1)
	mu.Lock()
	defer mu.Unlock()
	if got := histories[2]; len(got) != 2 || got[0].Text != "How do I log in?" {
		t.Fatalf("history after the choice = %+v, want only the first question and its answer", got)
	}
	if got := histories[3]; len(got) != 6 {
		t.Fatalf("history after the next answer = %+v, want all six lines", got)
	}
}
