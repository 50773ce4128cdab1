package slack_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
)

// agentReplies returns the conversation's replies written by agents.
func (b *testBundle) agentReplies(t *testing.T, key string) []bot.StoredReply {
	t.Helper()
	rs, err := b.store.Replies(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var out []bot.StoredReply
	for _, r := range rs {
		if r.Author == bot.AuthorAgent {
			out = append(out, r)
		}
	}
	return out
}

func (b *testBundle) conversation(t *testing.T, key string) *bot.Conversation {
	t.Helper()
	c, err := b.store.Conversation(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *testBundle) lastTransition(t *testing.T, key string) bot.Transition {
	t.Helper()
	trs, err := b.store.Transitions(context.Background(), key)
	if err != nil || len(trs) == 0 {
		t.Fatalf("transitions = %v, %v", trs, err)
	}
	return trs[len(trs)-1]
}

func TestAgentReplyRelayedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-10", escalation("c-10"))

	reply := threadReply("Ev100", th, "1700000050.000100", "UALICE", "Hi Ada, your refund is on its way &amp; should arrive <https://example.com/r|soon>.", nil)
	b.sendEvent(t, reply)
	b.sendEvent(t, reply) // Slack's redelivery: same event_id
	// The same message seen through a second subscription: new event_id.
	b.sendEvent(t, threadReply("Ev101", th, "1700000050.000100", "UALICE", "Hi Ada, your refund is on its way &amp; should arrive <https://example.com/r|soon>.", nil))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := b.agentReplies(t, key)
	if len(got) != 1 {
		t.Fatalf("%d agent replies, want 1: %+v", len(got), got)
	}
	r := got[0]
	if r.Kind != bot.ReplyAgent || r.AgentName != "Alice" || r.Text != "Hi Ada, your refund is on its way & should arrive soon (https://example.com/r)." || r.State != bot.StateAgent {
		t.Fatalf("reply = %+v", r)
	}
	// Answering in the thread claimed the conversation, and the hand-off shows it.
	if c := b.conversation(t, key); c.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent", c.State)
	}
	_, updates, _ := b.fake.snapshot()
	if len(updates) != 1 || updates[0].TS != th.TS || !strings.Contains(decodedText(t, updates[0].Blocks), "Claimed by @Alice") {
		t.Fatalf("updates = %+v", updates)
	}

	// A second message from Alice: relayed, and her name comes from the cache.
	b.sendEvent(t, threadReply("Ev102", th, "1700000051.000100", "UALICE", "Anything else?", nil))
	b.runJobs(t)
	if got := b.agentReplies(t, key); len(got) != 2 || got[1].Text != "Anything else?" {
		t.Fatalf("agent replies = %+v", got)
	}
	b.fake.mu.Lock()
	calls := b.fake.userInfo["UALICE"]
	b.fake.mu.Unlock()
	if calls != 1 {
		t.Fatalf("users.info called %d times for one agent, want 1 (cached)", calls)
	}
}

func TestThreadMessagesNotRelayed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-11", escalation("c-11"))
	for _, ev := range [][]byte{
		// An internal note.
		threadReply("Ev200", th, "1700000060.000001", "UALICE", "// check the billing system first", nil),
		// A bot's message (ours or another app's).
		threadReply("Ev201", th, "1700000060.000002", "", "Customer wrote: hi", map[string]any{"bot_id": "B0OTHER", "subtype": "bot_message"}),
		// Our own bot user, without bot_id.
		threadReply("Ev202", th, "1700000060.000003", botUserID, "posted as the bot user", nil),
		// An edit and a deletion.
		threadReply("Ev203", th, "1700000060.000004", "UALICE", "edited", map[string]any{"subtype": "message_changed"}),
		threadReply("Ev204", th, "1700000060.000005", "UALICE", "", map[string]any{"subtype": "message_deleted"}),
		// A top-level message in the channel, not in a thread.
		threadReply("Ev205", bot.Thread{Channel: th.Channel}, "1700000060.000006", "UALICE", "lunch?", nil),
		// A reply in some other thread.
		threadReply("Ev206", bot.Thread{Channel: th.Channel, TS: "1600000000.000001"}, "1700000060.000007", "UALICE", "unrelated", nil),
		// Another event type.
		[]byte(`{"type":"event_callback","event_id":"Ev207","event":{"type":"reaction_added","user":"UALICE"}}`),
	} {
		b.sendEvent(t, ev)
	}
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := b.agentReplies(t, key); len(got) != 0 {
		t.Fatalf("relayed %+v, want nothing", got)
	}
	if c := b.conversation(t, key); c.State != bot.StateEscalated {
		t.Fatalf("state = %s, want escalated", c.State)
	}
}

func TestExplicitRelayMode(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *slack.Config) { c.Relay = slack.RelayExplicit })
	key, th := b.mustEscalate(t, "c-12", escalation("c-12"))
	// Slack sends ">" escaped in message text.
	b.sendEvent(t, threadReply("Ev300", th, "1700000070.000001", "UBOB", "thinking out loud here", nil))
	b.sendEvent(t, threadReply("Ev301", th, "1700000070.000002", "UBOB", "&gt;&gt; Your refund is on its way.", nil))
	b.sendEvent(t, threadReply("Ev302", th, "1700000070.000003", "UBOB", "// &gt;&gt; a note quoting the marker", nil))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := b.agentReplies(t, key)
	if len(got) != 1 || got[0].Text != "Your refund is on its way." || got[0].AgentName != "Bob" {
		t.Fatalf("relayed %+v, want only the marked message without its marker", got)
	}
}

func TestReplyToClosedConversationNotRelayed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-13", escalation("c-13"))
	if _, err := b.store.ChangeState(context.Background(), bot.StateChange{Key: key, To: bot.StateBot, Actor: "Alice", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	b.sendEvent(t, threadReply("Ev400", th, "1700000080.000001", "UALICE", "one more thing", nil))
	b.runJobs(t)
	if got := b.agentReplies(t, key); len(got) != 0 {
		t.Fatalf("relayed %+v to a bot-owned conversation", got)
	}
	_, _, eph := b.fake.snapshot()
	if len(eph) != 1 || eph[0].User != "UALICE" || eph[0].ThreadTS != th.TS || !strings.Contains(eph[0].Text, "Not sent") {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

func TestClaimRaceFirstWins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-20", escalation("c-20"))
	var wg sync.WaitGroup
	for _, user := range []string{"UALICE", "UBOB"} {
		wg.Go(func() { b.sendClick(t, click(slack.ActionClaim, key, user, th)) })
	}
	wg.Wait()
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	c := b.conversation(t, key)
	tr := b.lastTransition(t, key)
	if c.State != bot.StateAgent || tr.To != bot.StateAgent || tr.Reason != "claimed" {
		t.Fatalf("state %s, last transition %+v", c.State, tr)
	}
	winner := tr.Actor
	loserID, winnerID := "UBOB", "UALICE"
	if winner == "Bob" {
		loserID, winnerID = "UALICE", "UBOB"
	} else if winner != "Alice" {
		t.Fatalf("claimed by %q", winner)
	}
	_, updates, eph := b.fake.snapshot()
	if len(eph) != 1 || eph[0].User != loserID || eph[0].Channel != th.Channel || eph[0].Text != "Already claimed by @"+winner+"." {
		t.Fatalf("ephemerals = %+v, want one to %s naming %s", eph, loserID, winner)
	}
	if len(updates) == 0 {
		t.Fatal("hand-off not updated")
	}
	last := updates[len(updates)-1]
	if last.TS != th.TS || !strings.Contains(decodedText(t, last.Blocks), "Claimed by @"+winner) {
		t.Fatalf("last update = %+v", last)
	}
	if got, want := actionIDs(t, last.Blocks), []string{"resolve", "hand_back", "send_draft"}; !slices.Equal(got, want) {
		t.Fatalf("buttons after claim = %v, want %v", got, want)
	}

	// The winner clicking again is harmless.
	b.sendClick(t, click(slack.ActionClaim, key, winnerID, th))
	b.runJobs(t)
	if _, _, eph := b.fake.snapshot(); len(eph) != 1 {
		t.Fatalf("double click by the holder sent an ephemeral: %+v", eph)
	}
	if trs, _ := b.store.Transitions(context.Background(), key); trs[len(trs)-1] != tr {
		t.Fatalf("double click made a transition: %+v", trs[len(trs)-1])
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *slack.Config) { c.ClosingText = "Glad we could help. Closing this now." })
	key, th := b.mustEscalate(t, "c-21", escalation("c-21"))
	b.sendClick(t, click(slack.ActionClaim, key, "UALICE", th))
	b.sendClick(t, click(slack.ActionResolve, key, "UALICE", th))
	b.sendClick(t, click(slack.ActionResolve, key, "UALICE", th)) // double click
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c := b.conversation(t, key); c.State != bot.StateResolved {
		t.Fatalf("state = %s, want resolved", c.State)
	}
	if tr := b.lastTransition(t, key); tr.From != bot.StateAgent || tr.To != bot.StateResolved || tr.Actor != "Alice" || tr.Reason != "resolved in slack" {
		t.Fatalf("last transition = %+v", tr)
	}
	got := b.agentReplies(t, key)
	if len(got) != 1 || got[0].Text != "Glad we could help. Closing this now." || got[0].AgentName != "Alice" || got[0].State != bot.StateResolved {
		t.Fatalf("closing replies = %+v, want one", got)
	}
	_, updates, eph := b.fake.snapshot()
	last := updates[len(updates)-1]
	if !strings.Contains(decodedText(t, last.Blocks), "Resolved by @Alice") || len(actionIDs(t, last.Blocks)) != 0 {
		t.Fatalf("hand-off after resolve: %s", decodedText(t, last.Blocks))
	}
	if len(eph) != 0 {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

func TestResolveWithoutClosingText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-22", escalation("c-22"))
	b.sendClick(t, click(slack.ActionResolve, key, "UCAROL", th)) // unclaimed: escalated → resolved
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if tr := b.lastTransition(t, key); tr.From != bot.StateEscalated || tr.To != bot.StateResolved || tr.Actor != "Carol" {
		t.Fatalf("last transition = %+v", tr)
	}
	if got := b.agentReplies(t, key); len(got) != 0 {
		t.Fatalf("replies = %+v, want none", got)
	}
}

func TestHandBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-23", escalation("c-23"))
	b.sendClick(t, click(slack.ActionClaim, key, "UBOB", th))
	b.sendClick(t, click(slack.ActionHandBack, key, "UBOB", th))
	b.sendClick(t, click(slack.ActionHandBack, key, "UBOB", th)) // double click
	b.sendClick(t, click(slack.ActionResolve, key, "UBOB", th))  // a stale button after hand back
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c := b.conversation(t, key); c.State != bot.StateBot {
		t.Fatalf("state = %s, want bot", c.State)
	}
	if tr := b.lastTransition(t, key); tr.From != bot.StateAgent || tr.To != bot.StateBot || tr.Actor != "Bob" || tr.Reason != "handed back in slack" {
		t.Fatalf("last transition = %+v", tr)
	}
	esc, err := b.store.LatestEscalation(context.Background(), key)
	if err != nil || esc.Status != "returned" {
		t.Fatalf("escalation = %+v, %v", esc, err)
	}
	_, updates, eph := b.fake.snapshot()
	if !slices.ContainsFunc(updates, func(m message) bool {
		return strings.Contains(decodedText(t, m.Blocks), "Handed back to the bot by @Bob") && len(actionIDs(t, m.Blocks)) == 0
	}) {
		t.Fatalf("no update shows the hand back: %+v", updates)
	}
	// Only the stale Resolve is refused; the double click is silent.
	if len(eph) != 1 || !strings.Contains(eph[0].Text, "handed back to the bot") {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

func TestSendDraftOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-24", escalation("c-24"))
	b.sendClick(t, click(slack.ActionSendDraft, key, "UALICE", th))
	b.sendClick(t, click(slack.ActionSendDraft, key, "UALICE", th))
	b.sendClick(t, click(slack.ActionSendDraft, key, "UBOB", th))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := b.agentReplies(t, key)
	if len(got) != 1 || got[0].Text != "Our refund policy allows returns within 30 days." || got[0].AgentName != "Alice" {
		t.Fatalf("draft replies = %+v, want one by Alice", got)
	}
	if c := b.conversation(t, key); c.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent (sending the draft claims)", c.State)
	}
	_, updates, _ := b.fake.snapshot()
	first := updates[0]
	if slices.Contains(actionIDs(t, first.Blocks), slack.ActionSendDraft) || !strings.Contains(decodedText(t, first.Blocks), "*Draft answer* (sent)") {
		t.Fatalf("hand-off after sending the draft: %s", decodedText(t, first.Blocks))
	}
}

func TestStaleHandoffRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-25", escalation("c-25"))
	old := bot.Thread{Channel: th.Channel, TS: "1600000000.000001"}
	b.sendClick(t, click(slack.ActionClaim, key, "UALICE", old))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c := b.conversation(t, key); c.State != bot.StateEscalated {
		t.Fatalf("a stale message's button changed the state to %s", c.State)
	}
	if _, _, eph := b.fake.snapshot(); len(eph) != 1 || !strings.Contains(eph[0].Text, "out of date") {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

// A Slack failure during a click leaves the job retryable; the retry
// finishes the work without repeating the transition.
func TestActionRetryAfterRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-26", escalation("c-26"))
	b.fake.failNext("chat.update", failure{status: 429, retryAfter: "2"})
	b.sendClick(t, click(slack.ActionClaim, key, "UALICE", th))
	ctx := context.Background()
	jobs, err := b.store.ClaimJobs(ctx, 10, 60e9)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != slack.JobAction {
		t.Fatalf("jobs = %+v, %v", jobs, err)
	}
	h := b.esc.Handlers()[slack.JobAction]
	_, err = h.Handle(ctx, jobs[0])
	if d, ok := bot.RetryDelay(err); !ok || d != 2e9 {
		t.Fatalf("first run: %v, want retry after 2s", err)
	}
	if _, err := h.Handle(ctx, jobs[0]); err != nil {
		t.Fatalf("retry: %v", err)
	}
	trs, _ := b.store.Transitions(ctx, key)
	claims := 0
	for _, tr := range trs {
		if tr.To == bot.StateAgent {
			claims++
		}
	}
	if claims != 1 {
		t.Fatalf("%d claim transitions, want 1", claims)
	}
	if _, updates, _ := b.fake.snapshot(); len(updates) != 1 {
		t.Fatalf("updates = %d, want 1", len(updates))
	}
}

// Even when the two clicks' jobs run at the same moment (no lane ordering),
// the store decides: one claim wins and the other agent is told who won.
func TestClaimRaceConcurrentJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-27", escalation("c-27"))
	h := b.esc.Handlers()[slack.JobAction]
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, user := range []string{"UALICE", "UBOB"} {
		wg.Go(func() {
			_, errs[i] = h.Handle(context.Background(), &bot.Job{ID: int64(1000 + i), Kind: slack.JobAction, Payload: click(slack.ActionClaim, key, user, th)})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	winner := b.lastTransition(t, key).Actor
	_, _, eph := b.fake.snapshot()
	if len(eph) != 1 || eph[0].Text != "Already claimed by @"+winner+"." || agents[eph[0].User] == winner {
		t.Fatalf("winner %s; ephemerals = %+v", winner, eph)
	}
}
