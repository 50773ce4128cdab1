package sqlite_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
)

// TestPendingChoice: a close call the bot asked about is kept on the
// conversation; a greeting leaves it standing, the next decided turn
// replaces it, and people taking the conversation drop it.
func TestPendingChoice(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	choice := []bot.Candidate{{ID: "invoices", Question: "Where can I find my invoices?", Score: 0.943}, {ID: "refunds", Question: "Can I get a refund?", Score: 0.906}}
	apply := func(id string, o bot.Outcome) *bot.Conversation {
		t.Helper()
		in, job := mustTurn(t, s, "c-1", id, "text of "+id)
		o.JobID, o.ConversationKey, o.MessageIDs = job, in.Conversation.Key, []int64{in.MessageID}
		if o.Decision.Action == "" {
			o.Decision = bot.Decision{Action: bot.ActionAnswer}
		}
		if err := s.ApplyDecision(ctx, o); err != nil {
			t.Fatal(err)
		}
		c, err := s.Conversation(ctx, "chat/c-1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := apply("m-1", bot.Outcome{Choice: choice}); !cmp.Equal(c.Choice, choice) {
		t.Fatalf("after the question: choice %v", cmp.Diff(choice, c.Choice))
	}
	if c := apply("m-2", bot.Outcome{Act: "greeting"}); !cmp.Equal(c.Choice, choice) {
		t.Fatalf("after a greeting: choice %+v, want it kept", c.Choice)
	}
	if c := apply("m-3", bot.Outcome{Answered: true}); c.Choice != nil {
		t.Fatalf("after an answer: choice %+v, want none", c.Choice)
	}
	apply("m-4", bot.Outcome{Choice: choice})
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: "chat/c-1", From: bot.StateBot, To: bot.StateEscalated, Actor: "operator", Reason: "returned"}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Conversation(ctx, "chat/c-1"); err != nil || c.Choice != nil {
		t.Fatalf("after a hand-off: %+v, %v; want no choice", c, err)
	}
}
