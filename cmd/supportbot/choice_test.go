package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/faq"
)

// TestEndToEndChoice: issue 15's close call on the shipped knowledge base.
// "How can I get a refund for my last invoice?" scores the invoices entry
// just above refunds; the bot asks which one the customer means, with both
// questions as options in the reply webhook, and answers the one picked.
func TestEndToEndChoice(t *testing.T) {
	rc := newReceiver(t)
	m := mustOpenMain(t, testConfig(t, rc.URL))
	url := m.Server.URL() + "/hooks/chat"
	kb, _, err := faq.LoadOrDefault(m.Config.FAQ.Path)
	if err != nil {
		t.Fatal(err)
	}
	invoices, ok1 := kb.Entry("invoices")
	refunds, ok2 := kb.Entry("refunds")
	if !ok1 || !ok2 {
		t.Fatal("the shipped knowledge base has no invoices or refunds entry")
	}
	const question = "How can I get a refund for my last invoice?"

	asked := say(t, rc, url, "c-pick", "p1", question)
	want := "Did you mean: " + strings.TrimRight(invoices.Question, "?") + ", or " + strings.TrimRight(refunds.Question, "?") + "?"
	if asked.State != "bot" || asked.Message.Text != want {
		t.Fatalf("reply = %+v, want the question %q", asked, want)
	}
	if !slices.Equal(asked.Message.Options, []string{invoices.Question, refunds.Question}) {
		t.Fatalf("options = %q, want both entries' questions", asked.Message.Options)
	}
	// The customer clicks (or types) the refunds entry's question.
	if r := say(t, rc, url, "c-pick", "p2", refunds.Question); r.State != "bot" || r.Message.Text != refunds.Answer {
		t.Fatalf("reply to the pick = %+v, want the refunds answer", r)
	}

	// "the first" picks the invoices entry.
	say(t, rc, url, "c-first", "f1", question)
	if r := say(t, rc, url, "c-first", "f2", "the first one"); r.Message.Text != invoices.Answer {
		t.Fatalf("reply to the first = %+v, want the invoices answer", r)
	}

	// A second close call in a row goes to a person.
	say(t, rc, url, "c-twice", "t1", question)
	if r := say(t, rc, url, "c-twice", "t2", "how can I get a refund for my last invoice"); r.State != "escalated" {
		t.Fatalf("reply to a second close call = %+v, want the hand-off", r)
	}
	esc, err := m.Store.LatestEscalation(context.Background(), "chat/c-twice")
	if err != nil || esc.Reason != bot.ReasonAmbiguous {
		t.Fatalf("escalation = %+v, %v; want ambiguous", esc, err)
	}
}
