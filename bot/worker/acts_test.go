package worker_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/faq/acts"
)

// recorder is echoDecider that keeps every query it was asked.
type recorder struct {
	mu      sync.Mutex
	queries []bot.Query
}

func (r *recorder) Decide(ctx context.Context, q bot.Query) (bot.Decision, error) {
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.mu.Unlock()
	return echoDecider(ctx, q)
}

func (r *recorder) last(t *testing.T) bot.Query {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queries) == 0 {
		t.Fatal("the decider was never asked")
	}
	return r.queries[len(r.queries)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queries)
}

// setupActs runs the engine with the default acts; confirm turns on the
// confirm question for every trigger.
func setupActs(t *testing.T, confirm bool, configure func(*testBundle)) (*testBundle, *recorder) {
	t.Helper()
	rec := &recorder{}
	b := setup(t, rec, func(b *testBundle) {
		b.engine.Acts = acts.Default()
		b.engine.ClosingText = worker.DefaultClosingText
		b.engine.TriggerFunc = func(string) worker.TriggerSettings { return worker.TriggerSettings{Confirm: confirm} }
		if configure != nil {
			configure(b)
		}
	})
	return b, rec
}

// waitConversation polls until the conversation satisfies ok.
func waitConversation(t *testing.T, b *testBundle, key string, ok func(*bot.Conversation) bool) *bot.Conversation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := b.store.Conversation(context.Background(), key)
		if err == nil && ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s: %+v, %v", key, c, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lastTransition(t *testing.T, b *testBundle, key string) bot.Transition {
	t.Helper()
	trs, err := b.store.Transitions(context.Background(), key)
	if err != nil || len(trs) == 0 {
		t.Fatalf("transitions = %v, %v", trs, err)
	}
	return trs[len(trs)-1]
}

func TestActGreetingDoesNotUseUpTheTurn(t *testing.T) {
	t.Parallel()
	b, rec := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "Hi there", 0)
	r := b.sink.wait(t, 1)[0]
	if r.Text != worker.DefaultGreetingText || r.Kind != bot.ReplyAnswer || r.State != bot.StateBot {
		t.Fatalf("greeting reply = %+v", r)
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("the decider was asked %d times about a greeting", n)
	}
	ingest(t, b.store, "c", "m2", "How do I reset my password?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: How do I reset my password?" {
		t.Fatalf("answer after the greeting = %+v", r)
	}
	q := rec.last(t)
	if len(q.History) != 0 || q.FailedTurns != 0 {
		t.Fatalf("the decider saw history %+v and %d failed turns; want neither", q.History, q.FailedTurns)
	}
	// Greeting again, then the same question: not a repeat of a greeting.
	ingest(t, b.store, "c", "m3", "hello", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != worker.DefaultGreetingText {
		t.Fatalf("second greeting reply = %+v", r)
	}
	ingest(t, b.store, "c", "m4", "and how do I change my email?", 0)
	b.sink.wait(t, 1)
	if h := rec.last(t).History; len(h) != 2 || h[0].Text != "How do I reset my password?" {
		t.Fatalf("history = %+v, want the question and its answer only", h)
	}
}

func TestActGreetingWithQuestion(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "hi, how do I reset my password?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: how do I reset my password?" {
		t.Fatalf("reply = %+v, want the question answered without the greeting", r)
	}
	// A burst that opens with a greeting is one turn: the question is answered.
	ingest(t, b.store, "d", "d1", "Hello", 200*time.Millisecond)
	ingest(t, b.store, "d", "d2", "where are my invoices", 200*time.Millisecond)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: where are my invoices" {
		t.Fatalf("burst reply = %+v", r)
	}
}

func TestActGreetingTexts(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, func(b *testBundle) {
		b.engine.GreetingText = "Hello from Acme."
		b.engine.TriggerFunc = func(name string) worker.TriggerSettings {
			return worker.TriggerSettings{Greeting: "Hi, this is the chat trigger's greeting."}
		}
	})
	ingest(t, b.store, "c", "m1", "hey", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "Hi, this is the chat trigger's greeting." {
		t.Fatalf("reply = %q, want the trigger's greeting", r.Text)
	}
	// An operator's own entry wins over both.
	b2, _ := setupActs(t, false, func(b *testBundle) {
		b.engine.GreetingText = "Hello from Acme."
		b.engine.ActReplyFunc = func(a acts.Act) (string, bool) {
			if a == acts.Greeting {
				return "Welcome to Acme support!", true
			}
			return "", false
		}
	})
	ingest(t, b2.store, "c", "m1", "good morning", 0)
	if r := b2.sink.wait(t, 1)[0]; r.Text != "Welcome to Acme support!" {
		t.Fatalf("reply = %q, want the knowledge base's greeting", r.Text)
	}
}

func TestActThanksAfterAnswerIsConfirmed(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "How do I reset my password?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m2", "thanks, that worked!", 0)
	r := b.sink.wait(t, 1)[0]
	if r.Text != worker.DefaultClosingText || r.Kind != bot.ReplyClosing || r.State != bot.StateResolved {
		t.Fatalf("closing = %+v", r)
	}
	c := waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.State == bot.StateResolved })
	if c.Answered || c.ConfirmPending {
		t.Fatalf("conversation = %+v, want nothing pending", c)
	}
	if tr := lastTransition(t, b, "chat/c"); tr.Actor != bot.ActorCustomer || tr.Reason != bot.ResolutionConfirmed {
		t.Fatalf("transition = %+v, want resolved by the customer, confirmed", tr)
	}
	st, err := b.store.OutcomeStats(context.Background(), time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.Confirmed != 1 || st.HandedOff != 0 {
		t.Fatalf("outcomes = %+v, want one confirmed, none handed off", st)
	}
}

func TestActGoodbyeAfterAnswerSilentClosing(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, func(b *testBundle) { b.engine.ClosingText = "" })
	ingest(t, b.store, "c", "m1", "How do I reset my password?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m2", "bye!", 0)
	waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.State == bot.StateResolved })
	b.sink.quiet(t, 100*time.Millisecond)
	if tr := lastTransition(t, b, "chat/c"); tr.Reason != bot.ResolutionConfirmed {
		t.Fatalf("transition = %+v", tr)
	}
}

func TestActThanksWithoutAnswer(t *testing.T) {
	t.Parallel()
	b, rec := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "thanks!", 0)
	r := b.sink.wait(t, 1)[0]
	if r.Text != worker.DefaultWelcomeText || r.State != bot.StateBot {
		t.Fatalf("reply = %+v", r)
	}
	if c, _ := b.store.Conversation(context.Background(), "chat/c"); c.State != bot.StateBot {
		t.Fatalf("state = %s, want bot", c.State)
	}
	if rec.count() != 0 {
		t.Fatal("the decider was asked about thanks")
	}
	// "thanks, but how do I cancel?" is a question.
	ingest(t, b.store, "c", "m2", "thanks, but how do I cancel?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: how do I cancel?" {
		t.Fatalf("reply = %+v", r)
	}
}

func TestActRejectionEscalates(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "How do I reset my password?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m2", "that didn't help, it still doesn't work", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff || r.State != bot.StateEscalated {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
	escs, err := b.store.ListEscalations(context.Background(), "open", 10)
	if err != nil || len(escs) != 1 {
		t.Fatalf("escalations = %+v, %v", escs, err)
	}
	e := escs[0]
	if e.Reason != bot.ReasonAnswerRejected || e.Rejected != "re: How do I reset my password?" {
		t.Fatalf("escalation reason %q, rejected %q", e.Reason, e.Rejected)
	}
	if tr := lastTransition(t, b, "chat/c"); tr.To != bot.StateEscalated || tr.Reason != bot.ReasonAnswerRejected {
		t.Fatalf("transition = %+v", tr)
	}
}

func TestActRejectionWithoutAnswerIsAQuestion(t *testing.T) {
	t.Parallel()
	b, _ := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "still not working", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: still not working" {
		t.Fatalf("reply = %+v, want the decider's answer", r)
	}
}

func TestConfirmQuestion(t *testing.T) {
	t.Parallel()
	b, rec := setupActs(t, true, nil)
	ingest(t, b.store, "c", "m1", "How do I reset my password?", 0)
	r := b.sink.wait(t, 1)[0]
	if want := "re: How do I reset my password?\n\n" + worker.DefaultConfirmText; r.Text != want || !slices.Equal(r.Options, []string{"Yes", "No"}) {
		t.Fatalf("answer = %q %v, want %q with Yes/No", r.Text, r.Options, want)
	}
	if c := waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.ConfirmPending }); !c.Answered {
		t.Fatalf("conversation = %+v", c)
	}
	stored, err := b.store.Replies(context.Background(), "chat/c")
	if err != nil || len(stored) != 1 || !slices.Equal(stored[0].Options, []string{"Yes", "No"}) {
		t.Fatalf("stored replies = %+v, %v; want the options kept", stored, err)
	}
	// The Decider sees its own answer, without the question, so that its
	// rule on repeated answers still holds.
	ingest(t, b.store, "c", "m1b", "and where are my invoices?", 0)
	b.sink.wait(t, 1)
	if h := rec.last(t).History; len(h) != 2 || h[1].Text != "re: How do I reset my password?" {
		t.Fatalf("history = %+v, want the answer without the confirm question", h)
	}
	// A greeting meanwhile leaves the question standing.
	ingest(t, b.store, "c", "m2", "hello?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "c", "m3", "Yes", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyClosing {
		t.Fatalf("reply to yes = %+v", r)
	}
	waitConversation(t, b, "chat/c", func(c *bot.Conversation) bool { return c.State == bot.StateResolved && !c.ConfirmPending })
	if tr := lastTransition(t, b, "chat/c"); tr.Reason != bot.ResolutionConfirmed {
		t.Fatalf("transition = %+v", tr)
	}

	ingest(t, b.store, "d", "d1", "How do I reset my password?", 0)
	b.sink.wait(t, 1)
	ingest(t, b.store, "d", "d2", "No", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply to no = %+v", r)
	}
	if tr := lastTransition(t, b, "chat/d"); tr.Reason != bot.ReasonAnswerRejected {
		t.Fatalf("transition = %+v", tr)
	}
	esc, err := b.store.LatestEscalation(context.Background(), "chat/d")
	if err != nil || esc.Rejected != "re: How do I reset my password?" {
		t.Fatalf("escalation = %+v, %v; want the answer without the question", esc, err)
	}
}

func TestYesWithoutQuestionIsText(t *testing.T) {
	t.Parallel()
	b, rec := setupActs(t, false, nil)
	ingest(t, b.store, "c", "m1", "yes", 0)
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: yes" {
		t.Fatalf("reply = %+v", r)
	}
	if q := rec.last(t); !strings.EqualFold(q.Text, "yes") {
		t.Fatalf("query = %+v", q)
	}
}
