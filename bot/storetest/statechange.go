package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// The cases of ChangeState, one per rule of bot.StateChange.

// claim is the change an agent's Claim makes, from Slack, the dashboard or
// the admin API alike.
func claim(conv, agent string) bot.StateChange {
	return bot.StateChange{Key: key(conv), To: bot.StateAgent, Actor: agent}
}

// A claim moves an escalated conversation to agent and marks its escalation
// claimed by the agent, with the time of the claim (time to claim); the
// holder claiming again is a no-op.
func testChangeStateClaim(t *testing.T, e *env) {
	since := time.Now().Add(-time.Hour)
	e.escalate("c1", "e1", "help")
	c, err := e.s.ChangeState(e.ctx, claim("c1", "ann"))
	ok(t, err)
	eq(t, "returned state", c.State, bot.StateAgent)
	eq(t, "returned key", c.Key, key("c1"))
	eq(t, "state", e.conversation("c1").State, bot.StateAgent)
	esc, err := e.s.LatestEscalation(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "escalation status", esc.Status, "claimed")
	eq(t, "claimed by", esc.ClaimedBy, "ann")
	st, err := e.s.OutcomeStats(e.ctx, since, time.Hour)
	ok(t, err)
	eq(t, "claimed escalations (time to claim)", st.Claimed, 1)
	trs := e.transitions("c1")
	last := trs[len(trs)-1]
	eq(t, "transition", last.From+"→"+last.To, bot.StateEscalated+"→"+bot.StateAgent)
	eq(t, "actor", last.Actor, "ann")
	eq(t, "default reason", last.Reason, "claimed")

	c, err = e.s.ChangeState(e.ctx, claim("c1", "ann")) // the same agent again
	ok(t, err)
	eq(t, "state after a second claim", c.State, bot.StateAgent)
	eq(t, "transitions after a second claim", len(e.transitions("c1")), len(trs))
}

// Agents racing for one hand-off: the first claim wins, every other is
// answered with a *bot.ClaimError naming the winner.
func testChangeStateClaimRace(t *testing.T, e *env) {
	e.escalate("c1", "e1", "help")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = e.change(claim("c1", fmt.Sprintf("agent%d", i))) })
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two claims won: %s and agent%d", winner, i)
			}
			winner = fmt.Sprintf("agent%d", i)
		}
	}
	if winner == "" {
		t.Fatal("no claim won")
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		ce, isClaim := errors.AsType[*bot.ClaimError](err)
		if !isClaim || ce.ClaimedBy != winner {
			t.Fatalf("losing claim: err = %v, want a *bot.ClaimError naming %s", err, winner)
		}
		is(t, "losing claim", err, bot.ErrConflict)
	}
	esc, err := e.s.LatestEscalation(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "claimed by", esc.ClaimedBy, winner)
}

// A claim is refused for a conversation people do not wait on: the bot's,
// a resolved one (bot.ErrConflict, changing nothing), an unknown one
// (bot.ErrNotFound).
func testChangeStateClaimRefused(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	is(t, "claim of a bot conversation", e.change(claim("c1", "ann")), bot.ErrConflict)
	eq(t, "state", e.conversation("c1").State, bot.StateBot)
	e.escalate("c2", "e2", "help")
	ok(t, e.change(bot.StateChange{Key: key("c2"), To: bot.StateResolved, Actor: "bob"}))
	err := e.change(claim("c2", "ann"))
	is(t, "claim of a resolved conversation", err, bot.ErrConflict)
	if _, isClaim := errors.AsType[*bot.ClaimError](err); isClaim {
		t.Fatalf("claim of a resolved conversation: %v, a *bot.ClaimError though nobody holds it", err)
	}
	esc, err := e.s.LatestEscalation(e.ctx, key("c2"))
	ok(t, err)
	eq(t, "escalation status", esc.Status, "resolved")
	is(t, "claim of an unknown conversation", e.change(claim("nobody", "ann")), bot.ErrNotFound)
}

// Resolving closes the escalation as resolved and queues the closing reply
// in the same change; resolving again is a no-op that queues nothing.
func testChangeStateResolve(t *testing.T, e *env) {
	e.escalate("c1", "e1", "help")
	k := key("c1")
	ok(t, e.change(claim("c1", "ann")))
	closing := &bot.Reply{ID: "rpl_closing", ConversationKey: k, Kind: bot.ReplyAgent, Author: bot.AuthorAgent,
		AgentName: "ann", Text: "Glad to help", CreatedAt: time.Now().UTC()}
	resolve := bot.StateChange{Key: k, To: bot.StateResolved, Actor: "ann", Reason: "resolved", Closing: closing}
	c, err := e.s.ChangeState(e.ctx, resolve)
	ok(t, err)
	eq(t, "returned state", c.State, bot.StateResolved)
	rs := e.replies("c1")
	eq(t, "closing reply queued", rs[len(rs)-1].ID, "rpl_closing")
	eq(t, "closing reply's state", rs[len(rs)-1].State, bot.StateResolved)
	esc, err := e.s.LatestEscalation(e.ctx, k)
	ok(t, err)
	eq(t, "escalation status", esc.Status, "resolved")
	trs := e.transitions("c1")
	ok(t, e.change(resolve)) // a no-op
	eq(t, "replies after resolving twice", len(e.replies("c1")), len(rs))
	eq(t, "transitions after resolving twice", len(e.transitions("c1")), len(trs))

	// An escalation nobody claimed is closed as resolved too.
	e.escalate("c2", "e2", "help")
	ok(t, e.change(bot.StateChange{Key: key("c2"), To: bot.StateResolved, Actor: "operator"}))
	esc, err = e.s.LatestEscalation(e.ctx, key("c2"))
	ok(t, err)
	eq(t, "unclaimed escalation status", esc.Status, "resolved")
	is(t, "resolve of an unknown conversation", e.change(bot.StateChange{Key: key("nobody"), To: bot.StateResolved, Actor: "ann"}), bot.ErrNotFound)
}

// Handing back returns the escalation, claimed or not, and the
// conversation to the bot; a second hand back is a no-op.
func testChangeStateHandBack(t *testing.T, e *env) {
	e.escalate("c1", "e1", "help")
	handBack := bot.StateChange{Key: key("c1"), To: bot.StateBot, Actor: "bob", Reason: "handed back"}
	c, err := e.s.ChangeState(e.ctx, handBack)
	ok(t, err)
	eq(t, "returned state", c.State, bot.StateBot)
	eq(t, "failed turns", c.FailedTurns, 0)
	esc, err := e.s.LatestEscalation(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "escalation status", esc.Status, "returned")
	ok(t, e.change(handBack)) // a no-op
	eq(t, "transitions after handing back twice", len(e.transitions("c1")), 2)

	e.escalate("c2", "e2", "help")
	ok(t, e.change(claim("c2", "ann")))
	ok(t, e.change(bot.StateChange{Key: key("c2"), To: bot.StateBot, Actor: "ann"}))
	esc, err = e.s.LatestEscalation(e.ctx, key("c2"))
	ok(t, err)
	eq(t, "claimed escalation status", esc.Status, "returned")
	eq(t, "claimed by", esc.ClaimedBy, "ann")
}

// Escalating changes only the state; escalating an escalated conversation
// is a conflict, not a no-op.
func testChangeStateEscalate(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	c, err := e.s.ChangeState(e.ctx, bot.StateChange{Key: key("c1"), To: bot.StateEscalated, Actor: "operator", Reason: "asked"})
	ok(t, err)
	eq(t, "returned state", c.State, bot.StateEscalated)
	trs := e.transitions("c1")
	eq(t, "reason", trs[len(trs)-1].Reason, "asked")
	is(t, "escalating twice", e.change(bot.StateChange{Key: key("c1"), To: bot.StateEscalated, Actor: "operator"}), bot.ErrConflict)
}

// From, when set, must be the conversation's state: else bot.ErrConflict
// and nothing changes, not even a no-op's.
func testChangeStateFrom(t *testing.T, e *env) {
	e.escalate("c1", "e1", "help")
	err := e.change(bot.StateChange{Key: key("c1"), From: bot.StateBot, To: bot.StateResolved, Actor: "ops"})
	is(t, "from the wrong state", err, bot.ErrConflict)
	eq(t, "state", e.conversation("c1").State, bot.StateEscalated)
	ok(t, e.change(bot.StateChange{Key: key("c1"), From: bot.StateEscalated, To: bot.StateResolved, Actor: "ops"}))
	eq(t, "state", e.conversation("c1").State, bot.StateResolved)
}

// An unknown state, or a claim that names no agent, is a
// *bot.ValidationError.
func testChangeStateInvalid(t *testing.T, e *env) {
	e.escalate("c1", "e1", "help")
	invalid(t, "unknown state", e.change(bot.StateChange{Key: key("c1"), To: "closed", Actor: "ops"}))
	invalid(t, "claim without an agent", e.change(bot.StateChange{Key: key("c1"), To: bot.StateAgent}))
	eq(t, "state", e.conversation("c1").State, bot.StateEscalated)
}
