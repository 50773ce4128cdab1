package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
)

// scopeDecider answers "password" questions, escalates "human" as a request
// for a person and anything else as out of scope.
var scopeDecider = bot.DeciderFunc(func(_ context.Context, q bot.Query) (bot.Decision, error) {
	switch {
	case strings.Contains(q.Text, "human"):
		return bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested, Source: "policy"}, nil
	case strings.Contains(q.Text, "password"):
		return bot.Decision{Action: bot.ActionAnswer, Answer: "reset it", Confidence: 1}, nil
	}
	return bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope, Detail: "no FAQ entry", Source: "policy"}, nil
})

func escalations(t *testing.T, b *testBundle) []bot.StoredEscalation {
	t.Helper()
	es, err := b.store.ListEscalations(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestRephraseThenFailedTurns(t *testing.T) {
	t.Parallel()
	b := setup(t, scopeDecider, func(b *testBundle) { b.engine.RephraseTurns = 2 })
	for i, text := range []string{"gift cards?", "do you sell vouchers"} {
		ingest(t, b.store, "c", "m"+string(rune('1'+i)), text, 0)
		r := b.sink.wait(t, 1)[0]
		if r.Kind != bot.ReplyNotice || r.Text != worker.DefaultRephraseText || r.State != bot.StateBot {
			t.Fatalf("turn %d: reply = %+v, want the rephrase request", i+1, r)
		}
	}
	if es := escalations(t, b); len(es) != 0 {
		t.Fatalf("escalated after two failed turns: %+v", es)
	}
	ingest(t, b.store, "c", "m3", "presents?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("third failed turn: reply = %+v, want the hand-off", r)
	}
	es := escalations(t, b)
	if len(es) != 1 || es[0].Reason != bot.ReasonFailedTurns {
		t.Fatalf("escalations = %+v, want one failed_turns", es)
	}
	var said []string
	for _, turn := range es[0].Recent {
		said = append(said, turn.Text)
	}
	if got := strings.Join(said, "|"); !strings.Contains(got, "gift cards?") || !strings.Contains(got, "presents?") {
		t.Fatalf("hand-off shows %q, want the failed turns", got)
	}
}

func TestRephraseCountResetByAnAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, scopeDecider, func(b *testBundle) { b.engine.RephraseTurns = 1; b.engine.RephraseText = "Say again?" })
	for i, text := range []string{"gift cards?", "my password", "vouchers?"} {
		ingest(t, b.store, "c", "m"+string(rune('1'+i)), text, 0)
		b.sink.wait(t, 1)
	}
	if es := escalations(t, b); len(es) != 0 {
		t.Fatalf("escalated though an answer broke the run: %+v", es)
	}
	ingest(t, b.store, "c", "m4", "presents?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
}

func TestRephraseNeverDelaysOtherReasons(t *testing.T) {
	t.Parallel()
	b := setup(t, scopeDecider, func(b *testBundle) { b.engine.RephraseTurns = 3 })
	ingest(t, b.store, "c", "m1", "a human please", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
	if es := escalations(t, b); len(es) != 1 || es[0].Reason != bot.ReasonHumanRequested {
		t.Fatalf("escalations = %+v", es)
	}
}

func TestRephraseOffEscalatesAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, scopeDecider, nil)
	ingest(t, b.store, "c", "m1", "gift cards?", 0)
	if r := b.sink.wait(t, 1)[0]; r.Kind != bot.ReplyHandoff {
		t.Fatalf("reply = %+v, want the hand-off", r)
	}
	if es := escalations(t, b); len(es) != 1 || es[0].Reason != bot.ReasonOutOfScope {
		t.Fatalf("escalations = %+v", es)
	}
}
