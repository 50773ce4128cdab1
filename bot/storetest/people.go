package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func agentReply(conv, id, agent, text string) bot.Reply {
	return bot.Reply{ID: id, ConversationKey: key(conv), Kind: bot.ReplyAgent, Author: bot.AuthorAgent,
		AgentName: agent, Text: text, CreatedAt: time.Now().UTC()}
}

func testQueueAgentReply(t *testing.T, e *env) {
	esc := e.escalate("c1", "e1", "help")
	e.announce(esc, "1.0")
	queued, err := e.s.QueueAgentReply(e.ctx, "slack:C1:2.0", agentReply("c1", "rpl_a1", "ann", "Here you go"))
	ok(t, err)
	eq(t, "queued", queued, true)
	c := e.conversation("c1")
	eq(t, "answering claims", c.State, bot.StateAgent)
	queued, err = e.s.QueueAgentReply(e.ctx, "slack:C1:2.0", agentReply("c1", "rpl_a1", "ann", "Here you go"))
	ok(t, err)
	eq(t, "queued again", queued, false)
	rs := e.replies("c1")
	last := rs[len(rs)-1]
	eq(t, "agent reply", last.ID, "rpl_a1")
	eq(t, "agent name", last.AgentName, "ann")
	r, send, err := e.s.PrepareReply(e.ctx, "rpl_a1")
	ok(t, err)
	eq(t, "send", send, true)
	eq(t, "source id", r.ConversationID, "c1")
	eq(t, "state after the reply", r.State, bot.StateAgent)
	var delivers []string
	for _, j := range e.jobs(bot.JobQueued, bot.JobDeliver) {
		p, err := bot.DecodePayload[bot.DeliverPayload](j)
		ok(t, err)
		delivers = append(delivers, p.ReplyID)
	}
	eq(t, "deliver jobs: the hand-off, then the agent's reply once", strings.Join(delivers, " "), "rpl_c1_e1 rpl_a1")
	_, err = e.s.QueueAgentReply(e.ctx, "slack:C9:1.0", agentReply("nobody", "rpl_x", "ann", "x"))
	is(t, "QueueAgentReply(unknown)", err, bot.ErrNotFound)
}

func testAgentReply(t *testing.T, e *env) {
	esc := e.escalate("c1", "e1", "help")
	e.announce(esc, "1.0")
	a := bot.AgentReply{ConversationKey: key("c1"), Agent: "ann", Text: "On its way", IdempotencyKey: "k1", Via: "api"}
	res, err := e.s.AgentReply(e.ctx, a)
	ok(t, err)
	eq(t, "claimed", res.Claimed, true)
	eq(t, "replayed", res.Replayed, false)
	eq(t, "state", e.conversation("c1").State, bot.StateAgent)
	n := len(e.replies("c1"))
	again, err := e.s.AgentReply(e.ctx, a)
	ok(t, err)
	eq(t, "replayed", again.Replayed, true)
	eq(t, "same reply", again.Reply.ID, res.Reply.ID)
	eq(t, "replies after a replay", len(e.replies("c1")), n)
	b := a
	b.Text = "something else"
	_, err = e.s.AgentReply(e.ctx, b)
	is(t, "idempotency key with another text", err, bot.ErrIdempotencyKeyReused)
	// The conversation has a Slack thread: agents there see the reply.
	var mirrored bool
	for _, j := range e.jobs(bot.JobQueued, bot.JobMirror) {
		p, err := bot.DecodePayload[bot.MirrorPayload](j)
		ok(t, err)
		m, err := e.s.Message(e.ctx, p.MessageID)
		ok(t, err)
		mirrored = mirrored || m.Text == "On its way"
	}
	eq(t, "mirrored to the thread", mirrored, true)

	// Retries racing with one key store one reply.
	race := bot.AgentReply{ConversationKey: key("c1"), Agent: "ann", Text: "Racing", IdempotencyKey: "k2"}
	var wg sync.WaitGroup
	results := make([]bot.AgentReplyResult, 4)
	for i := range results {
		wg.Go(func() {
			r, err := e.s.AgentReply(e.ctx, race)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	firsts := 0
	for _, r := range results {
		if !r.Replayed {
			firsts++
		}
		eq(t, "racing replies' id", r.Reply.ID, results[0].Reply.ID)
	}
	eq(t, "racing replies stored", firsts, 1)
	n = len(e.replies("c1"))

	// Without a key, each call is a reply.
	a.IdempotencyKey = ""
	_, err = e.s.AgentReply(e.ctx, a)
	ok(t, err)
	eq(t, "replies", len(e.replies("c1")), n+1)

	e.answer("c2", "e2", "hi")
	_, err = e.s.AgentReply(e.ctx, bot.AgentReply{ConversationKey: key("c2"), Agent: "ann", Text: "x"})
	is(t, "AgentReply to a bot conversation", err, bot.ErrConflict)
	_, err = e.s.AgentReply(e.ctx, bot.AgentReply{ConversationKey: key("nobody"), Agent: "ann", Text: "x"})
	is(t, "AgentReply(unknown)", err, bot.ErrNotFound)
	_, err = e.s.AgentReply(e.ctx, bot.AgentReply{ConversationKey: key("c1"), Agent: "", Text: "x"})
	invalid(t, "AgentReply without an agent", err)
}

func ownerEvent(conv, id string, o bot.OwnerChange) bot.Event {
	ev := Event(conv, id, "")
	ev.Type, ev.Owner = bot.EventOwnerChanged, &o
	return ev
}

// ownership ingests an ownership signal and applies it as its job does.
func (e *env) ownership(ev bot.Event) bot.OwnerApplied {
	e.t.Helper()
	e.ingest(ev, bot.IngestOptions{})
	j := e.next(bot.JobProcess)
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	ok(e.t, err)
	res, err := e.s.ApplyOwnership(e.ctx, j.ID, p.InboxID)
	ok(e.t, err)
	if res.Done {
		got, err := e.s.Job(e.ctx, j.ID)
		ok(e.t, err)
		eq(e.t, "process job of a done signal", got.State, bot.JobCompleted)
	} else {
		ok(e.t, e.s.CompleteJob(e.ctx, j.ID))
	}
	return res
}

func testOwnership(t *testing.T, e *env) {
	rid := e.answer("c1", "e1", "hi")
	take := bot.OwnerChange{State: bot.StateAgent, Actor: "ann", Reason: bot.ReasonHelpdeskAssigned}
	res := e.ownership(ownerEvent("c1", "o1", take))
	eq(t, "done", res.Done, true)
	eq(t, "from", res.From, bot.StateBot)
	eq(t, "to", res.To, bot.StateAgent)
	eq(t, "state", e.conversation("c1").State, bot.StateAgent)
	eq(t, "queued bot answer", e.replies("c1")[0].Status, "suppressed")
	_, send, err := e.s.PrepareReply(e.ctx, rid)
	ok(t, err)
	eq(t, "send a suppressed answer", send, false)

	res = e.ownership(ownerEvent("c1", "o2", take))
	eq(t, "the same signal again: skipped", res.Skipped != "", true)
	eq(t, "the same signal again: unchanged", res.From, res.To)

	// Handing back from the bot state is not allowed: skipped, not an error.
	back := bot.OwnerChange{State: bot.StateBot, Actor: "ann", Reason: bot.ReasonHelpdeskReturned}
	res = e.ownership(ownerEvent("c2", "o3", back))
	eq(t, "unknown conversation handed back: skipped", res.Skipped != "", true)

	// A person taking a conversation the store has not seen creates it,
	// so the customer's first message is not answered by the bot.
	res = e.ownership(ownerEvent("c3", "o4", take))
	eq(t, "new conversation taken", e.conversation("c3").State, bot.StateAgent)
	_, in := e.turn("c3", "e3", "hello")
	eq(t, "pending bot turns", len(in.Pending), 0)

	// The bot's own reply coming back through the helpdesk is not a person.
	e.escalate("c5", "e5", "help")
	res = e.ownership(ownerEvent("c5", "o5", bot.OwnerChange{State: bot.StateAgent, Actor: "helpdesk-bot",
		Reason: bot.ReasonHelpdeskReplied, Echo: "a person will reply"}))
	eq(t, "echo", res.Skipped, "echo")
	eq(t, "state after an echo", e.conversation("c5").State, bot.StateEscalated)

	// An event with no signal changes nothing.
	e.ingest(Event("c4", "e4", "hi"), bot.IngestOptions{})
	j := e.next(bot.JobProcess)
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	ok(t, err)
	res, err = e.s.ApplyOwnership(e.ctx, j.ID, p.InboxID)
	ok(t, err)
	eq(t, "no signal", res.Event.Owner == nil && !res.Done, true)
}
