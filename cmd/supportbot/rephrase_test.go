package main

import (
	"context"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
)

// TestEndToEndRephraseTurns: with bot.rephrase_turns: 1 the first
// out-of-scope turn gets a request to rephrase, the second in a row is
// handed off as failed_turns with both turns in the hand-off.
func TestEndToEndRephraseTurns(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Bot.RephraseTurns = 1
	cfg.Bot.MaxFailedTurns = 3 // replaced by rephrase_turns: accepted, ignored
	m := mustOpenMain(t, cfg)
	hook := m.Server.URL() + "/hooks/chat"

	ev := say(t, rc, hook, "c-re", "r1", "Which colour is the moon tonight?")
	if ev.State != "bot" || ev.Message.Text != worker.DefaultRephraseText {
		t.Fatalf("reply = %+v, want the request to rephrase", ev)
	}
	ev = say(t, rc, hook, "c-re", "r2", "Is the moon made of cheese?")
	if ev.State != "escalated" {
		t.Fatalf("reply = %+v, want a hand-off", ev)
	}
	esc, err := m.Store.ListEscalations(context.Background(), "open", 10)
	if err != nil || len(esc) != 1 || esc[0].Reason != bot.ReasonFailedTurns {
		t.Fatalf("escalations = %+v, %v; want one failed_turns", esc, err)
	}
	var first bool
	for _, turn := range esc[0].Recent {
		first = first || turn.Text == "Which colour is the moon tonight?"
	}
	if !first {
		t.Fatalf("hand-off recent = %+v, want the first failed turn", esc[0].Recent)
	}
}
