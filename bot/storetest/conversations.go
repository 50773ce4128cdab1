package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func testAnswerAndDeliver(t *testing.T, e *env) {
	rid := e.answer("c1", "e1", "where is my order?")
	c := e.conversation("c1")
	eq(t, "state", c.State, bot.StateBot)
	eq(t, "answered", c.Answered, true)
	eq(t, "process jobs left", len(e.jobs(bot.JobQueued, bot.JobProcess))+len(e.jobs(bot.JobRunning, bot.JobProcess)), 0)
	j := e.next(bot.JobDeliver)
	eq(t, "deliver lane differs from the inbound lane", j.QueueKey != "", true)
	p, err := bot.DecodePayload[bot.DeliverPayload](j)
	ok(t, err)
	eq(t, "deliver payload", p.ReplyID, rid)
	r, send, err := e.s.PrepareReply(e.ctx, rid)
	ok(t, err)
	eq(t, "send", send, true)
	eq(t, "reply text", r.Text, "the answer")
	eq(t, "reply's source id", r.ConversationID, "c1")
	eq(t, "reply's trigger", r.Trigger, Trigger)
	ok(t, e.s.MarkReplySent(e.ctx, j.ID, rid))
	got, err := e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "deliver job", got.State, bot.JobCompleted)
	rs := e.replies("c1")
	eq(t, "replies", len(rs), 1)
	eq(t, "status", rs[0].Status, "sent")
	msgs, err := e.s.Messages(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "transcript", len(msgs), 2)
	eq(t, "transcript order", msgs[0].Author+">"+msgs[1].Author, bot.AuthorCustomer+">"+bot.AuthorBot)
	_, _, err = e.s.PrepareReply(e.ctx, "rpl_unknown")
	is(t, "PrepareReply(unknown)", err, bot.ErrNotFound)

	// The next turn sees the first in its history.
	_, in := e.turn("c1", "e2", "thanks, and my invoice?")
	eq(t, "pending", len(in.Pending), 1)
	eq(t, "history", len(in.History), 2)
}

// ApplyDecision returns bot.ErrConflict and changes nothing when the turn
// was answered meanwhile or the conversation left the bot.
func testApplyDecisionConflicts(t *testing.T, e *env) {
	j, in := e.turn("c1", "e1", "hi")
	o := bot.Outcome{JobID: j.ID, ConversationKey: in.Conversation.Key, MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "a"}, Answered: true,
		Replies: []bot.Reply{botReply(in, "rpl_1", bot.ReplyAnswer, "a", bot.StateBot)}}
	ok(t, e.s.ApplyDecision(e.ctx, o))
	// The same turn again (a second run of the job, a racing worker).
	o.Replies = []bot.Reply{botReply(in, "rpl_2", bot.ReplyAnswer, "a", bot.StateBot)}
	is(t, "ApplyDecision on an answered turn", e.s.ApplyDecision(e.ctx, o), bot.ErrConflict)
	eq(t, "replies after the conflict", len(e.replies("c1")), 1)

	// The conversation left the bot between RecordInbound and ApplyDecision.
	j, in = e.turn("c2", "e2", "hi")
	ok(t, e.change(bot.StateChange{Key: key("c2"), From: bot.StateBot, To: bot.StateEscalated, Actor: "ops", Reason: "test"}))
	err := e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: key("c2"), MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "a"}, Answered: true,
		Replies: []bot.Reply{botReply(in, "rpl_3", bot.ReplyAnswer, "a", bot.StateBot)}})
	is(t, "ApplyDecision on an escalated conversation", err, bot.ErrConflict)
	eq(t, "replies after the conflict", len(e.replies("c2")), 0)
	got, err := e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "process job left to the runner", got.State, bot.JobRunning)

	err = e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: key("nobody"),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "a"}})
	is(t, "ApplyDecision on an unknown conversation", err, bot.ErrNotFound)
}

// A bot answer queued before the conversation left the bot is not sent.
func testPrepareReplySuppressed(t *testing.T, e *env) {
	rid := e.answer("c1", "e1", "hi")
	j := e.next(bot.JobDeliver) // running: suppressed by PrepareReply, not at the transition
	ok(t, e.change(bot.StateChange{Key: key("c1"), From: bot.StateBot, To: bot.StateEscalated, Actor: "ops", Reason: "test"}))
	_, send, err := e.s.PrepareReply(e.ctx, rid)
	ok(t, err)
	eq(t, "send after escalation", send, false)
	ok(t, e.s.CompleteJob(e.ctx, j.ID))
	rs := e.replies("c1")
	eq(t, "status", rs[0].Status, "suppressed")

	// One still queued is suppressed at the transition.
	e.answer("c2", "e2", "hi")
	ok(t, e.change(bot.StateChange{Key: key("c2"), From: bot.StateBot, To: bot.StateEscalated, Actor: "ops", Reason: "test"}))
	eq(t, "status", e.replies("c2")[0].Status, "suppressed")
	if j := e.maybeNext(bot.JobDeliver); j != nil {
		t.Fatalf("deliver job %d of a suppressed answer still runs", j.ID)
	}
}

func testStateMachine(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	k := key("c1")
	is(t, "Transition(unknown)", e.change(bot.StateChange{Key: key("nobody"), To: bot.StateResolved, Actor: "ops", Reason: "x"}), bot.ErrNotFound)
	is(t, "Transition from the wrong state", e.change(bot.StateChange{Key: k, From: bot.StateAgent, To: bot.StateBot, Actor: "ops", Reason: "x"}), bot.ErrConflict)
	is(t, "Transition bot→agent", e.change(bot.StateChange{Key: k, To: bot.StateAgent, Actor: "ops", Reason: "x"}), bot.ErrConflict)
	ok(t, e.change(bot.StateChange{Key: k, From: bot.StateBot, To: bot.StateEscalated, Actor: "ops", Reason: "why"}))
	is(t, "Transition to the same state", e.change(bot.StateChange{Key: k, To: bot.StateEscalated, Actor: "ops", Reason: "x"}), bot.ErrConflict)
	ok(t, e.change(bot.StateChange{Key: k, To: bot.StateResolved, Actor: "ops", Reason: "done"}))
	trs, err := e.s.Transitions(e.ctx, k)
	ok(t, err)
	eq(t, "transitions", len(trs), 2)
	eq(t, "oldest first", trs[0].To, bot.StateEscalated)
	eq(t, "actor", trs[1].Actor, "ops")
	eq(t, "reason", trs[1].Reason, "done")
	eq(t, "state", e.conversation("c1").State, bot.StateResolved)
	// The customer writing again reopens it.
	_, in := e.turn("c1", "e2", "it broke again")
	eq(t, "reopened", in.Reopened, true)
	eq(t, "state", in.Conversation.State, bot.StateBot)
	_, err = e.s.Conversation(e.ctx, key("nobody"))
	is(t, "Conversation(unknown)", err, bot.ErrNotFound)
}

func testEscalation(t *testing.T, e *env) {
	_, err := e.s.LatestEscalation(e.ctx, key("c1"))
	is(t, "LatestEscalation(unknown conversation)", err, bot.ErrNotFound)
	e.answer("c1", "e0", "hi")
	_, err = e.s.LatestEscalation(e.ctx, key("c1"))
	is(t, "LatestEscalation(never escalated)", err, bot.ErrNotFound)
	esc := e.escalate("c1", "e1", "I want a person")
	eq(t, "state", e.conversation("c1").State, bot.StateEscalated)
	eq(t, "status", esc.Status, "open")
	eq(t, "summary", esc.Summary, "I want a person")
	got, err := e.s.Escalation(e.ctx, esc.ID)
	ok(t, err)
	eq(t, "Escalation(id)", got.ConversationKey, key("c1"))
	_, err = e.s.Escalation(e.ctx, 1<<40)
	is(t, "Escalation(unknown)", err, bot.ErrNotFound)
	list, err := e.s.ListEscalations(e.ctx, "open", 10)
	ok(t, err)
	eq(t, "open escalations", len(list), 1)
	since := time.Now().Add(-time.Hour)
	times, waiting, err := e.s.Announcements(e.ctx, Trigger, since)
	ok(t, err)
	eq(t, "announced", len(times), 0)
	eq(t, "waiting", waiting, 1)

	e.announce(esc, "1.0")
	c, err := e.s.ConversationByThread(e.ctx, "C1", "1.0")
	ok(t, err)
	eq(t, "ConversationByThread", c.Key, key("c1"))
	eq(t, "thread", c.SlackChannel+"/"+c.SlackThreadTS, "C1/1.0")
	times, waiting, err = e.s.Announcements(e.ctx, Trigger, since)
	ok(t, err)
	eq(t, "announced", len(times), 1)
	eq(t, "waiting", waiting, 0)
	times, _, err = e.s.Announcements(e.ctx, "other", since)
	ok(t, err)
	eq(t, "another trigger's announcements", len(times), 0)
	list, err = e.s.ListEscalations(e.ctx, "", 10)
	ok(t, err)
	eq(t, "all escalations", len(list), 1)

	// A message while people own it is theirs, not a bot turn.
	_, in := e.turn("c1", "e2", "hello?")
	eq(t, "pending turns", len(in.Pending), 0)
	eq(t, "state", in.Conversation.State, bot.StateEscalated)
}

func testQueueMirror(t *testing.T, e *env) {
	esc := e.escalate("c1", "e1", "help")
	e.announce(esc, "1.0")
	j, in := e.turn("c1", "e2", "any news?")
	ok(t, e.s.QueueMirror(e.ctx, j.ID, key("c1"), in.MessageID, 0))
	got, err := e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "process job", got.State, bot.JobCompleted)
	p, err := bot.DecodePayload[bot.MirrorPayload](e.next(bot.JobMirror))
	ok(t, err)
	m, err := e.s.Message(e.ctx, p.MessageID)
	ok(t, err)
	eq(t, "mirrored message", m.Text, "any news?")
}

func testConfirmAndRatings(t *testing.T, e *env) {
	j, in := e.turn("c1", "e1", "how do I reset my password?")
	ok(t, e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: key("c1"), MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "a"}, Answered: true, Confirm: true,
		Replies: []bot.Reply{botReply(in, "rpl_1", bot.ReplyAnswer, "a\n\nDid that help?", bot.StateBot)}}))
	eq(t, "confirm pending", e.conversation("c1").ConfirmPending, true)
	r := bot.Rating{ConversationKey: key("c1"), Score: 5}
	is(t, "RateConversation before it is resolved", e.s.RateConversation(e.ctx, r), bot.ErrConflict)

	// "yes": an act that resolves the conversation, confirmed.
	j, in = e.turn("c1", "e2", "yes")
	ok(t, e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: key("c1"), MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "glad"}, Act: "yes", Resolve: bot.ResolutionConfirmed,
		Replies: []bot.Reply{botReply(in, "rpl_2", bot.ReplyClosing, "glad", bot.StateResolved)}}))
	c := e.conversation("c1")
	eq(t, "state", c.State, bot.StateResolved)
	eq(t, "confirm pending", c.ConfirmPending, false)

	_, err := e.s.Rating(e.ctx, key("c1"))
	is(t, "Rating before one is given", err, bot.ErrNotFound)
	ok(t, e.s.RateConversation(e.ctx, r))
	r.Score, r.Comment = 4, "quick"
	ok(t, e.s.RateConversation(e.ctx, r)) // replaces the first
	got, err := e.s.Rating(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "score", got.Score, 4)
	eq(t, "comment", got.Comment, "quick")
	counts, err := e.s.RatingsSince(e.ctx, time.Now().Add(-time.Hour))
	ok(t, err)
	eq(t, "ratings", counts, [5]int64{0, 0, 0, 1, 0})
	invalid(t, "comment too long", e.s.RateConversation(e.ctx, bot.Rating{ConversationKey: key("c1"), Score: 3, Comment: strings.Repeat("x", bot.MaxRatingComment+1)}))
	invalid(t, "score 0", e.s.RateConversation(e.ctx, bot.Rating{ConversationKey: key("c1"), Score: 0}))
	is(t, "RateConversation(unknown)", e.s.RateConversation(e.ctx, bot.Rating{ConversationKey: key("nobody"), Score: 3}), bot.ErrNotFound)

	st, err := e.s.OutcomeStats(e.ctx, time.Now().Add(-time.Hour), 0)
	ok(t, err)
	eq(t, "conversations", st.Conversations, int64(1))
	eq(t, "confirmed", st.Confirmed, int64(1))
	eq(t, "rated 4", st.Ratings[3], int64(1))
}

// A close call's options are kept on the conversation for the customer's
// pick, and forgotten when the conversation leaves the bot.
func testPendingChoice(t *testing.T, e *env) {
	choice := []bot.Candidate{{ID: "refund", Question: "How do refunds work?", Score: 0.61}, {ID: "invoice", Question: "Where is my invoice?", Score: 0.6}}
	j, in := e.turn("c1", "e1", "money back invoice")
	ok(t, e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: key("c1"), MessageIDs: ids(in),
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "Did you mean", Options: choice}, Choice: choice,
		Replies: []bot.Reply{botReply(in, "rpl_1", bot.ReplyAnswer, "Did you mean", bot.StateBot)}}))
	c := e.conversation("c1")
	eq(t, "choice", len(c.Choice), 2)
	eq(t, "choice", c.Choice[1], choice[1])
	_, in = e.turn("c1", "e2", "2")
	eq(t, "choice seen by the next turn", len(in.Conversation.Choice), 2)
	ok(t, e.change(bot.StateChange{Key: key("c1"), From: bot.StateBot, To: bot.StateEscalated, Actor: "ops", Reason: "x"}))
	eq(t, "choice after escalation", len(e.conversation("c1").Choice), 0)
}

func testSentReplies(t *testing.T, e *env) {
	var rids []string
	for _, id := range []string{"e1", "e2", "e3"} {
		rid := e.answer("c1", id, "q "+id)
		j := e.next(bot.JobDeliver)
		ok(t, e.s.MarkReplySent(e.ctx, j.ID, rid))
		rids = append(rids, rid)
	}
	e.answer("c1", "e4", "not sent yet")
	all, err := e.s.SentReplies(e.ctx, key("c1"), "", 0)
	ok(t, err)
	eq(t, "sent replies", len(all), 3)
	eq(t, "in order", all[0].ID, rids[0])
	after, err := e.s.SentReplies(e.ctx, key("c1"), rids[0], 0)
	ok(t, err)
	eq(t, "after the first", len(after), 2)
	eq(t, "after the first", after[0].ID, rids[1])
	all, err = e.s.SentReplies(e.ctx, key("c1"), "", -1)
	ok(t, err)
	eq(t, "n <= 0: the default cap", len(all), 3)
	some, err := e.s.SentReplies(e.ctx, key("c1"), "rpl_other", 1)
	ok(t, err)
	eq(t, "unknown afterID starts at the first, n caps", len(some), 1)
	eq(t, "unknown afterID starts at the first", some[0].ID, rids[0])
}

func testListConversations(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	e.escalate("c2", "e2", "help")
	all, err := e.s.ListConversations(e.ctx, bot.ConversationFilter{})
	ok(t, err)
	eq(t, "all", len(all), 2)
	eq(t, "most recently updated first", all[0].Key, key("c2"))
	esc, err := e.s.ListConversations(e.ctx, bot.ConversationFilter{State: bot.StateEscalated})
	ok(t, err)
	eq(t, "escalated", len(esc), 1)
	lim, err := e.s.ListConversations(e.ctx, bot.ConversationFilter{Limit: 1})
	ok(t, err)
	eq(t, "limited", len(lim), 1)
	q, err := e.s.ListConversations(e.ctx, bot.ConversationFilter{Query: "c1"})
	ok(t, err)
	eq(t, "query", len(q), 1)
	tr, err := e.s.ListConversations(e.ctx, bot.ConversationFilter{Trigger: "other"})
	ok(t, err)
	eq(t, "another trigger", len(tr), 0)
}

func testOutcomeStats(t *testing.T, e *env) {
	since := time.Now().Add(-time.Hour)
	e.answer("c1", "e1", "hi")
	e.resolve("c1")
	e.escalate("c2", "e2", "help")
	ok(t, e.change(bot.StateChange{Key: key("c2"), To: bot.StateAgent, Actor: "ann"}))
	e.escalate("c3", "e3", "help")
	st, err := e.s.OutcomeStats(e.ctx, since, 0)
	ok(t, err)
	eq(t, "conversations", st.Conversations, int64(3))
	eq(t, "resolved by the bot", st.ResolvedByBot, int64(1))
	eq(t, "handed off", st.HandedOff, int64(2))
	eq(t, "claimed", st.Claimed, int64(1))
	st, err = e.s.OutcomeStats(e.ctx, time.Now().Add(time.Hour), 0)
	ok(t, err)
	eq(t, "conversations started later", st.Conversations, int64(0))
}

func testFollowUps(t *testing.T, e *env) {
	esc := e.escalate("c1", "e1", "help")
	e.escalate("c2", "e2", "help") // not announced: never re-announced
	e.announce(esc, "1.0")
	later := time.Now().Add(time.Hour)
	re, no, err := e.s.QueueFollowUps(e.ctx, bot.FollowUpOptions{ReannounceBefore: later})
	ok(t, err)
	eq(t, "reannounced", re, 1)
	eq(t, "noticed", no, 0)
	p, err := bot.DecodePayload[bot.ReannouncePayload](e.next(bot.JobReannounce))
	ok(t, err)
	eq(t, "reannounce payload", p.EscalationID, esc.ID)
	re, _, err = e.s.QueueFollowUps(e.ctx, bot.FollowUpOptions{ReannounceBefore: later})
	ok(t, err)
	eq(t, "reannounced twice", re, 0)

	n := 0
	newID := func() string { n++; return "rpl_notice_" + string(rune('0'+n)) }
	_, no, err = e.s.QueueFollowUps(e.ctx, bot.FollowUpOptions{NoticeNow: true, Notice: "We will be back at 9", NewID: newID})
	ok(t, err)
	eq(t, "noticed", no, 2)
	_, no, err = e.s.QueueFollowUps(e.ctx, bot.FollowUpOptions{NoticeNow: true, Notice: "We will be back at 9", NewID: newID})
	ok(t, err)
	eq(t, "noticed twice", no, 0)
	rs := e.replies("c1")
	eq(t, "notice reply", rs[len(rs)-1].Kind, bot.ReplyNotice)
}

func testResolveIdle(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	e.escalate("c2", "e2", "help")
	e.turn("c3", "e3", "still waiting for the bot") // not answered yet: not idle
	n, err := e.s.ResolveIdle(e.ctx, time.Now().Add(-time.Hour))
	ok(t, err)
	eq(t, "resolved (none idle yet)", n, 0)
	n, err = e.s.ResolveIdle(e.ctx, time.Now().Add(time.Hour))
	ok(t, err)
	eq(t, "resolved", n, 1)
	eq(t, "bot conversation", e.conversation("c1").State, bot.StateResolved)
	eq(t, "escalated conversation", e.conversation("c2").State, bot.StateEscalated)
	eq(t, "unanswered conversation", e.conversation("c3").State, bot.StateBot)
	trs, err := e.s.Transitions(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "actor", trs[len(trs)-1].Actor, bot.ActorSystem)
}
