package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// ingestOwner stores a helpdesk's ownership signal for conversation conv,
// with a customer message when text is set.
func ingestOwner(t *testing.T, s *sqlite.Store, conv, id, text string, o bot.OwnerChange) {
	t.Helper()
	ev := bot.Event{
		Trigger: "chat", ID: id, Type: bot.EventOwnerChanged,
		Conversation: bot.ConversationRef{ID: conv}, Owner: &o, ReceivedAt: time.Now().UTC(),
	}
	if text != "" {
		ev.Type, ev.Message = bot.EventMessageCreated, bot.MessageRef{ID: id, Text: text}
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(context.Background(), ev, bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitState waits until the conversation is in state want.
func waitState(t *testing.T, s *sqlite.Store, key string, want bot.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := s.Conversation(context.Background(), key)
		if err == nil && c.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s never became %s (last %+v, %v)", key, want, c, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitMessages waits until the conversation's transcript has n lines.
func waitMessages(t *testing.T, s *sqlite.Store, key string, n int) []bot.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err := s.Messages(context.Background(), key)
		if err == nil && len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcript has %d lines, want %d: %+v (%v)", len(ms), n, ms, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func transitions(t *testing.T, s *sqlite.Store, key string) string {
	t.Helper()
	ts, err := s.Transitions(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tr := range ts {
		out = append(out, string(tr.From)+">"+string(tr.To)+" "+tr.Actor+" "+tr.Reason)
	}
	return strings.Join(out, "; ")
}

var (
	assigned   = bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot:Grace Hopper", Reason: bot.ReasonHelpdeskAssigned}
	solved     = bot.OwnerChange{State: bot.StateResolved, Actor: "chatwoot:Grace Hopper", Reason: bot.ReasonHelpdeskResolved}
	unassigned = bot.OwnerChange{State: bot.StateBot, Actor: "zendesk", Reason: bot.ReasonHelpdeskUnassigned}
)

// A person assigned in the helpdesk owns the conversation: the customer's
// next message is recorded and not answered; handed back, the bot answers
// again; solved there, the conversation is resolved.
func TestHelpdeskOwnership(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c", "m1", "first question", 0)
	b.sink.wait(t, 1)
	ingestOwner(t, b.store, "c", "e1", "", assigned)
	ingest(t, b.store, "c", "m2", "are you there?", 0)
	ms := waitMessages(t, b.store, "chat/c", 3)
	if got := ms[2]; got.Author != bot.AuthorCustomer || got.Text != "are you there?" {
		t.Fatalf("last line = %+v, want the customer's message", got)
	}
	b.sink.quiet(t, 200*time.Millisecond)
	waitState(t, b.store, "chat/c", bot.StateAgent)

	ingestOwner(t, b.store, "c", "e2", "", unassigned)
	waitState(t, b.store, "chat/c", bot.StateBot)
	ingest(t, b.store, "c", "m3", "second question", 0)
	if got, want := b.sink.wait(t, 1)[0].Text, "re: second question"; got != want {
		t.Fatalf("reply = %q, want %q", got, want)
	}

	ingestOwner(t, b.store, "c", "e3", "", solved)
	waitState(t, b.store, "chat/c", bot.StateResolved)
	want := "bot>agent chatwoot:Grace Hopper helpdesk_assigned; agent>bot zendesk helpdesk_unassigned; " +
		"bot>resolved chatwoot:Grace Hopper helpdesk_resolved"
	if got := transitions(t, b.store, "chat/c"); got != want {
		t.Fatalf("transitions = %s, want %s", got, want)
	}
}

// A message that arrives with an assignment (Chatwoot's message with an
// assignee) is recorded after the assignment, and never answered.
func TestMessageWithAssignmentIsNotAnswered(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingestOwner(t, b.store, "c", "m1", "hello, anyone?", assigned)
	waitMessages(t, b.store, "chat/c", 1)
	waitState(t, b.store, "chat/c", bot.StateAgent)
	b.sink.quiet(t, 200*time.Millisecond)
	if got, want := transitions(t, b.store, "chat/c"), "bot>agent chatwoot:Grace Hopper helpdesk_assigned"; got != want {
		t.Fatalf("transitions = %s, want %s", got, want)
	}
}

// The bot's own reply, shown back by the helpdesk as a person's, takes
// nothing; an unassignment does not return an escalated conversation that
// no person held.
func TestOwnershipEchoAndRules(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c", "m1", "question", 0)
	b.sink.wait(t, 1)
	echo := assigned
	echo.Reason, echo.Echo = bot.ReasonHelpdeskReplied, "re: question"
	ingestOwner(t, b.store, "c", "e1", "", echo)
	ingest(t, b.store, "c", "m2", "get me a human", 0)
	waitState(t, b.store, "chat/c", bot.StateEscalated)
	ingestOwner(t, b.store, "c", "e2", "", unassigned)
	ingest(t, b.store, "c", "m3", "still waiting", 0)
	waitMessages(t, b.store, "chat/c", 5)
	b.sink.wait(t, 1) // the hand-off
	b.sink.quiet(t, 200*time.Millisecond)
	if got, want := transitions(t, b.store, "chat/c"), "bot>escalated bot human_requested"; got != want {
		t.Fatalf("transitions = %s, want %s", got, want)
	}
	// A person replying for real takes it, claiming the escalation.
	person := assigned
	person.Reason, person.Echo = bot.ReasonHelpdeskReplied, "I am looking into it"
	ingestOwner(t, b.store, "c", "e3", "", person)
	waitState(t, b.store, "chat/c", bot.StateAgent)
	escs, err := b.store.ListEscalations(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(escs) != 1 || escs[0].Status != "claimed" || escs[0].ClaimedBy != "chatwoot:Grace Hopper" {
		t.Fatalf("escalations = %+v, want one claimed by the helpdesk's agent", escs)
	}
}

// A bot answer still waiting to be delivered when a person takes the
// conversation in the helpdesk is never sent.
func TestHelpdeskTakeoverSuppressesQueuedAnswer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var held atomic.Bool
	b := setup(t, echoDecider, func(b *testBundle) {
		b.sink.fail = func(r bot.Reply) error {
			if r.Kind == bot.ReplyAnswer && held.CompareAndSwap(false, true) {
				<-release
				return errors.New("receiver down")
			}
			return nil
		}
	})
	ingest(t, b.store, "c", "m1", "question", 0)
	ingestOwner(t, b.store, "c", "e1", "", assigned)
	waitState(t, b.store, "chat/c", bot.StateAgent)
	close(release)
	b.sink.quiet(t, 300*time.Millisecond)
	replies, err := b.store.Replies(context.Background(), "chat/c")
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].Status != "suppressed" {
		t.Fatalf("replies = %+v, want the answer suppressed", replies)
	}
}

// A signal for a conversation the bot has never seen: an assignment creates
// it owned by the person, anything else is dropped.
func TestOwnershipOfUnknownConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingestOwner(t, b.store, "gone", "e1", "", solved)
	ingestOwner(t, b.store, "new", "e2", "", assigned)
	waitState(t, b.store, "chat/new", bot.StateAgent)
	ingest(t, b.store, "new", "m1", "hello", 0)
	waitMessages(t, b.store, "chat/new", 1)
	b.sink.quiet(t, 200*time.Millisecond)
	if _, err := b.store.Conversation(context.Background(), "chat/gone"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("conversation of a solved signal: %v, want not found", err)
	}
}

// threadEscalator posts every escalation to one thread and records what is
// mirrored into it.
type threadEscalator struct{ mirrored chan bot.Turn }

func (e threadEscalator) Escalate(context.Context, bot.Escalation) (bot.Thread, error) {
	return bot.Thread{Channel: "C1", TS: "1700000000.000100"}, nil
}

func (e threadEscalator) Mirror(_ context.Context, _ bot.Thread, m bot.Turn) error {
	e.mirrored <- m
	return nil
}

// An escalated conversation that a person takes in the helpdesk keeps its
// Slack thread: the customer's later messages are mirrored there.
func TestHelpdeskTakeoverMirrorsToSlack(t *testing.T) {
	t.Parallel()
	esc := threadEscalator{mirrored: make(chan bot.Turn, 10)}
	b := setup(t, echoDecider, func(b *testBundle) { b.engine.Escalator = esc })
	ingest(t, b.store, "c", "m1", "get me a human", 0)
	b.sink.wait(t, 1) // the hand-off
	waitFor(t, "escalation never announced", func() bool {
		c, err := b.store.Conversation(context.Background(), "chat/c")
		return err == nil && c.SlackThreadTS != ""
	})
	ingestOwner(t, b.store, "c", "e1", "", assigned)
	ingest(t, b.store, "c", "m2", "any news?", 0)
	select {
	case m := <-esc.mirrored:
		if m.Author != bot.AuthorCustomer || m.Text != "any news?" {
			t.Fatalf("mirrored %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing mirrored")
	}
	waitState(t, b.store, "chat/c", bot.StateAgent)
	b.sink.quiet(t, 200*time.Millisecond)
}

// A signal that arrives within a message's burst window does not hold the
// turn: when it changes nothing, the message is still answered.
func TestSignalDoesNotJoinBurst(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	burst := 200 * time.Millisecond
	ingest(t, b.store, "c", "m1", "question", burst)
	ingestOwner(t, b.store, "c", "e1", "", unassigned) // a bot conversation: not allowed, nothing changes
	if got, want := b.sink.wait(t, 1)[0].Text, "re: question"; got != want {
		t.Fatalf("reply = %q, want %q", got, want)
	}
}
