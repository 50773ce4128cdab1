// Package storetest is the contract suite of bot.Store: every
// implementation runs Run from its own tests and passes it. Each subtest
// opens a fresh, empty store and runs in parallel with the others, on small
// data, so the suite stays fast on any driver.
//
// The suite checks what the methods' documentation promises, errors
// included (bot.ErrNotFound, bot.ErrConflict, *bot.ValidationError), through
// the interface only: nothing in it knows SQL or a file. Time-dependent
// behaviour is driven by the arguments (cutoffs in the future, short leases)
// rather than by the store's clock.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Trigger is the trigger name of the suite's events.
const Trigger = "chat"

// Run runs the contract suite. newStore returns a new, empty, open store and
// closes it when the test ends (t.Cleanup); Close may then be its second.
func Run(t *testing.T, newStore func(t *testing.T) bot.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Ping", testPing},
		{"Close", testClose},
		{"IngestDedupe", testIngestDedupe},
		{"IngestConcurrentDuplicates", testIngestConcurrentDuplicates},
		{"IngestAudit", testIngestAudit},
		{"ProcessPayload", testProcessPayload},
		{"BurstCoalescing", testBurst},
		{"AnswerAndDeliver", testAnswerAndDeliver},
		{"ApplyDecisionConflicts", testApplyDecisionConflicts},
		{"PrepareReplySuppressed", testPrepareReplySuppressed},
		{"StateMachine", testStateMachine},
		{"Escalation", testEscalation},
		{"ChangeStateClaim", testChangeStateClaim},
		{"ChangeStateClaimRace", testChangeStateClaimRace},
		{"ChangeStateClaimRefused", testChangeStateClaimRefused},
		{"ChangeStateResolve", testChangeStateResolve},
		{"ChangeStateHandBack", testChangeStateHandBack},
		{"ChangeStateEscalate", testChangeStateEscalate},
		{"ChangeStateFrom", testChangeStateFrom},
		{"ChangeStateInvalid", testChangeStateInvalid},
		{"QueueMirror", testQueueMirror},
		{"JobLifecycle", testJobLifecycle},
		{"JobRescue", testJobRescue},
		{"DeadLetters", testDeadLetters},
		{"Lanes", testLanes},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Notify", testNotify},
		{"Slack", testSlack},
		{"QueueAgentReply", testQueueAgentReply},
		{"AgentReply", testAgentReply},
		{"Ownership", testOwnership},
		{"ConfirmAndRatings", testConfirmAndRatings},
		{"PendingChoice", testPendingChoice},
		{"Suggestions", testSuggestions},
		{"Examples", testExamples},
		{"Retention", testRetention},
		{"Audit", testAudit},
		{"Rejections", testRejections},
		{"OutcomeStats", testOutcomeStats},
		{"FollowUps", testFollowUps},
		{"ResolveIdle", testResolveIdle},
		{"RuntimeTriggers", testRuntimeTriggers},
		{"Visitors", testVisitors},
		{"Dashboard", testDashboard},
		{"WebChatReplies", testSentReplies},
		{"ListConversations", testListConversations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, &env{t: t, s: newStore(t), ctx: context.Background()})
		})
	}
}

// env is one subtest's store and its helpers; every helper fails the test
// on an unexpected error.
type env struct {
	t   *testing.T
	s   bot.Store
	ctx context.Context
}

func key(conv string) string { return Trigger + "/" + conv }

// Event returns a customer message of conversation conv.
func Event(conv, id, text string) bot.Event {
	return bot.Event{
		Trigger: Trigger, ID: id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv, Subject: "Help with " + conv},
		Customer:     bot.Customer{ID: "u-" + conv, Name: "Ada"},
		Message:      bot.MessageRef{ID: id, Text: text},
		ReceivedAt:   time.Now().UTC(),
	}
}

func (e *env) ingest(ev bot.Event, opt bot.IngestOptions) bot.Receipt {
	e.t.Helper()
	rc, err := e.s.Ingest(e.ctx, ev, opt)
	if err != nil {
		e.t.Fatalf("ingest %s: %v", ev.ID, err)
	}
	return rc
}

// next claims the first runnable job of kind and releases the others it
// claimed with it; it fails the test if there is none.
func (e *env) next(kind string) *bot.Job {
	e.t.Helper()
	j := e.maybeNext(kind)
	if j == nil {
		e.t.Fatalf("no runnable %s job", kind)
	}
	return j
}

func (e *env) maybeNext(kind string) *bot.Job {
	e.t.Helper()
	jobs, err := e.s.ClaimJobs(e.ctx, 100, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	var got *bot.Job
	for _, j := range jobs {
		if got == nil && j.Kind == kind {
			got = j
			continue
		}
		if err := e.s.ReleaseJob(e.ctx, j.ID, time.Time{}); err != nil {
			e.t.Fatal(err)
		}
	}
	return got
}

// jobs lists the jobs of kind in state, oldest first.
func (e *env) jobs(state bot.JobState, kind string) []*bot.Job {
	e.t.Helper()
	list, err := e.s.ListJobs(e.ctx, bot.JobFilter{State: state, Kind: kind, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(list)
	return list
}

// turn ingests a customer message and records it as its process job does.
func (e *env) turn(conv, id, text string) (*bot.Job, *bot.Inbound) {
	e.t.Helper()
	e.ingest(Event(conv, id, text), bot.IngestOptions{})
	j := e.next(bot.JobProcess)
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	if err != nil {
		e.t.Fatal(err)
	}
	in, err := e.s.RecordInbound(e.ctx, p.InboxID, 0)
	if err != nil {
		e.t.Fatalf("record inbound %s: %v", id, err)
	}
	return j, in
}

func ids(in *bot.Inbound) []int64 {
	out := make([]int64, len(in.Pending))
	for i, m := range in.Pending {
		out[i] = m.ID
	}
	return out
}

func botReply(in *bot.Inbound, id, kind, text string, state bot.State) bot.Reply {
	c := in.Conversation
	return bot.Reply{ID: id, Trigger: c.Trigger, ConversationKey: c.Key, ConversationID: c.ExternalID,
		Kind: kind, Author: bot.AuthorBot, Text: text, State: state, CreatedAt: time.Now().UTC()}
}

// answer runs a turn the bot answers; it returns the reply's id.
func (e *env) answer(conv, id, text string) string {
	e.t.Helper()
	j, in := e.turn(conv, id, text)
	rid := "rpl_" + conv + "_" + id
	err := e.s.ApplyDecision(e.ctx, bot.Outcome{
		JobID: j.ID, ConversationKey: in.Conversation.Key, MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "the answer", Confidence: 0.9, Source: "test"},
		Replies:  []bot.Reply{botReply(in, rid, bot.ReplyAnswer, "the answer", bot.StateBot)},
		Answered: true,
	})
	if err != nil {
		e.t.Fatalf("apply answer: %v", err)
	}
	return rid
}

// escalate runs a turn the bot escalates; it returns the escalation.
func (e *env) escalate(conv, id, text string) bot.StoredEscalation {
	e.t.Helper()
	j, in := e.turn(conv, id, text)
	c := in.Conversation
	err := e.s.ApplyDecision(e.ctx, bot.Outcome{
		JobID: j.ID, ConversationKey: c.Key, MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope, Source: "test"},
		Replies:  []bot.Reply{botReply(in, "rpl_"+conv+"_"+id, bot.ReplyHandoff, "a person will reply", bot.StateEscalated)},
		Escalation: &bot.Escalation{ConversationKey: c.Key, Trigger: c.Trigger, ConversationID: c.ExternalID,
			Reason: bot.ReasonOutOfScope, Summary: text, CreatedAt: time.Now().UTC()},
	})
	if err != nil {
		e.t.Fatalf("apply escalation: %v", err)
	}
	esc, err := e.s.LatestEscalation(e.ctx, c.Key)
	if err != nil {
		e.t.Fatal(err)
	}
	return esc
}

// announce runs the escalation's announce job, posting it to thread ts.
func (e *env) announce(esc bot.StoredEscalation, ts string) {
	e.t.Helper()
	j := e.next(bot.JobEscalate)
	p, err := bot.DecodePayload[bot.EscalatePayload](j)
	if err != nil {
		e.t.Fatal(err)
	}
	if p.EscalationID != esc.ID {
		e.t.Fatalf("escalate job for escalation %d, want %d", p.EscalationID, esc.ID)
	}
	if err := e.s.MarkAnnounced(e.ctx, j.ID, esc.ID, bot.Thread{Channel: "C1", TS: ts}); err != nil {
		e.t.Fatal(err)
	}
}

// resolve resolves a bot-owned conversation as the system.
func (e *env) resolve(conv string) {
	e.t.Helper()
	if err := e.change(bot.StateChange{Key: key(conv), To: bot.StateResolved, Actor: bot.ActorSystem, Reason: "test"}); err != nil {
		e.t.Fatalf("resolve %s: %v", conv, err)
	}
}

// change is ChangeState without the conversation it returns.
func (e *env) change(sc bot.StateChange) error {
	_, err := e.s.ChangeState(e.ctx, sc)
	return err
}

func (e *env) conversation(conv string) *bot.Conversation {
	e.t.Helper()
	c, err := e.s.Conversation(e.ctx, key(conv))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) transitions(conv string) []bot.Transition {
	e.t.Helper()
	list, err := e.s.Transitions(e.ctx, key(conv))
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) replies(conv string) []bot.StoredReply {
	e.t.Helper()
	list, err := e.s.Replies(e.ctx, key(conv))
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// runAll completes every runnable job, as handlers that succeed at once.
func (e *env) runAll() {
	e.t.Helper()
	for range 10 {
		jobs, err := e.s.ClaimJobs(e.ctx, 100, time.Minute)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(jobs) == 0 {
			return
		}
		for _, j := range jobs {
			if err := e.s.CompleteJob(e.ctx, j.ID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// is fails the test unless err matches target (errors.Is).
func is(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

// invalid fails the test unless err is a *bot.ValidationError.
func invalid(t *testing.T, what string, err error) {
	t.Helper()
	if _, ok := errors.AsType[*bot.ValidationError](err); !ok {
		t.Fatalf("%s: err = %v, want a *bot.ValidationError", what, err)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}
