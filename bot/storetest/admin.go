package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func testSuggestions(t *testing.T, e *env) {
	esc := e.escalate("c1", "e1", "can I pay by invoice?")
	e.announce(esc, "1.0")
	_, err := e.s.QueueAgentReply(e.ctx, "slack:C1:2.0", agentReply("c1", "rpl_a1", "ann", "Yes, on the Business plan."))
	ok(t, err)
	sg, err := e.s.SuggestionSource(e.ctx, "rpl_a1")
	ok(t, err)
	eq(t, "question", sg.Question, "can I pay by invoice?")
	eq(t, "answer", sg.Answer, "Yes, on the Business plan.")
	eq(t, "conversation", sg.ConversationKey, key("c1"))
	_, err = e.s.SuggestionSource(e.ctx, "rpl_unknown")
	is(t, "SuggestionSource(unknown)", err, bot.ErrNotFound)
	_, err = e.s.SuggestionSource(e.ctx, "rpl_c1_e1") // the bot's hand-off
	invalid(t, "SuggestionSource of a bot reply", err)

	_, _, err = e.s.SuggestFAQ(e.ctx, sg) // SuggestedBy missing
	invalid(t, "SuggestFAQ without SuggestedBy", err)
	sg.SuggestedBy = "ann"
	id, created, err := e.s.SuggestFAQ(e.ctx, sg)
	ok(t, err)
	eq(t, "created", created, true)
	id2, created, err := e.s.SuggestFAQ(e.ctx, sg)
	ok(t, err)
	eq(t, "created twice", created, false)
	eq(t, "same id", id2, id)
	got, err := e.s.Suggestion(e.ctx, id)
	ok(t, err)
	eq(t, "status", got.Status, bot.SuggestionPending)
	eq(t, "kind", got.Kind, bot.SuggestionEntry)
	_, err = e.s.Suggestion(e.ctx, 1<<40)
	is(t, "Suggestion(unknown)", err, bot.ErrNotFound)
	list, err := e.s.ListSuggestions(e.ctx, bot.SuggestionPending, 10)
	ok(t, err)
	eq(t, "pending", len(list), 1)
	_, err = e.s.ListSuggestions(e.ctx, "maybe", 10)
	invalid(t, "ListSuggestions(unknown status)", err)

	invalid(t, "approve without an entry id", e.s.DecideSuggestion(e.ctx, id, true, "ops", ""))
	invalid(t, "decide without by", e.s.DecideSuggestion(e.ctx, id, false, "", ""))
	ok(t, e.s.DecideSuggestion(e.ctx, id, true, "ops", "pay-invoice"))
	is(t, "decide twice", e.s.DecideSuggestion(e.ctx, id, false, "ops", ""), bot.ErrConflict)
	is(t, "DecideSuggestion(unknown)", e.s.DecideSuggestion(e.ctx, 1<<40, false, "ops", ""), bot.ErrNotFound)
	got, err = e.s.Suggestion(e.ctx, id)
	ok(t, err)
	eq(t, "status", got.Status, bot.SuggestionApproved)
	eq(t, "entry", got.EntryID, "pay-invoice")
	eq(t, "decided by", got.DecidedBy, "ops")

	// An agent's answer chosen from the knowledge base teaches the entry
	// the customer's phrasing, once per reply.
	_, in := e.turn("c1", "e2", "and by bank transfer?")
	_, err = e.s.QueueAgentReply(e.ctx, "faq:c1:pay-invoice", agentReply("c1", "rpl_a2", "ann", "Yes, on the Business plan."))
	ok(t, err)
	eq(t, "customer message recorded", in.MessageID != 0, true)
	learned, found, err := e.s.LearnExample(e.ctx, "rpl_a2", "pay-invoice", "ann")
	ok(t, err)
	eq(t, "learned", found, true)
	eq(t, "example kind", learned.Kind, bot.SuggestionExample)
	eq(t, "example question", learned.Question, "and by bank transfer?")
	again, _, err := e.s.LearnExample(e.ctx, "rpl_a2", "pay-invoice", "ann")
	ok(t, err)
	eq(t, "learned twice: the same suggestion", again.ID, learned.ID)
	// One suggestion per reply, whatever its kind: a reply suggested as an
	// entry is not learned as an example as well.
	entry, found, err := e.s.LearnExample(e.ctx, "rpl_a1", "pay-invoice", "ann")
	ok(t, err)
	eq(t, "found", found, true)
	eq(t, "the reply's suggestion", entry.ID, id)
}

func testExamples(t *testing.T, e *env) {
	list := []bot.FAQSuggestion{
		{EntryID: "refund", Question: "Money back?", SuggestedBy: "ops"},
		{EntryID: "refund", Question: "  money   BACK? ", SuggestedBy: "ops"}, // the same phrasing
		{EntryID: "invoice", Question: "Money back?", SuggestedBy: "ops"},     // another entry
	}
	ids, created, err := e.s.SuggestExamples(e.ctx, list)
	ok(t, err)
	eq(t, "ids", len(ids), 3)
	eq(t, "created", slices.Equal(created, []bool{true, false, true}), true)
	eq(t, "the same phrasing names the first", ids[1], ids[0])
	_, created, err = e.s.SuggestExamples(e.ctx, list[:1])
	ok(t, err)
	eq(t, "again", created[0], false)
	_, _, err = e.s.SuggestExamples(e.ctx, []bot.FAQSuggestion{{Question: "x", SuggestedBy: "ops"}})
	invalid(t, "SuggestExamples without an entry", err)
	pending, err := e.s.PendingExamples(e.ctx, "refund")
	ok(t, err)
	eq(t, "pending of refund", len(pending), 1)
	pending, err = e.s.PendingExamples(e.ctx, "")
	ok(t, err)
	eq(t, "pending of all", len(pending), 2)
	eq(t, "oldest first", pending[0].ID, ids[0])

	// ListSuggestions returns at most limit, 100 by default, 1000 at most.
	many := make([]bot.FAQSuggestion, 120)
	for i := range many {
		many[i] = bot.FAQSuggestion{EntryID: "bulk", Question: fmt.Sprintf("phrasing %d", i), SuggestedBy: "ops"}
	}
	_, _, err = e.s.SuggestExamples(e.ctx, many)
	ok(t, err)
	for _, tc := range []struct{ n, want int }{{0, 100}, {-1, 100}, {5, 5}, {5000, 122}} {
		list, err := e.s.ListSuggestions(e.ctx, "", tc.n)
		ok(t, err)
		eq(t, fmt.Sprintf("ListSuggestions(n=%d)", tc.n), len(list), tc.want)
	}

	done, err := e.s.AugmentDone(e.ctx, "h1")
	ok(t, err)
	eq(t, "augment done before", done, false)
	n, err := e.s.SaveAugment(e.ctx, bot.AugmentRecord{Hash: "h1", EntryID: "refund", Model: "m"},
		[]bot.FAQSuggestion{{EntryID: "refund", Question: "Can I get a refund?", SuggestedBy: "augment"}, {EntryID: "refund", Question: "money back?", SuggestedBy: "augment"}})
	ok(t, err)
	eq(t, "new from augment", n, 1)
	done, err = e.s.AugmentDone(e.ctx, "h1")
	ok(t, err)
	eq(t, "augment done", done, true)
	n, err = e.s.SaveAugment(e.ctx, bot.AugmentRecord{Hash: "h1", EntryID: "refund", Model: "m"},
		[]bot.FAQSuggestion{{EntryID: "refund", Question: "Can I get a refund?", SuggestedBy: "augment"}})
	ok(t, err)
	eq(t, "new from a rerun", n, 0)
}

func testRetention(t *testing.T, e *env) {
	e.answer("c1", "e1", "hi")
	e.resolve("c1")
	e.answer("c2", "e2", "hi") // still the bot's: kept
	e.answer("c3", "e3", "hi")
	e.resolve("c3")
	e.runAll()
	// The customer wrote to c3 again: its process job waits.
	e.ingest(Event("c3", "e4", "one more thing"), bot.IngestOptions{})
	cutoff := time.Now().Add(time.Hour)
	keys, err := e.s.PurgeCandidates(e.ctx, cutoff, 10)
	ok(t, err)
	if !slices.Equal(keys, []string{key("c1")}) {
		t.Fatalf("candidates = %q, want only %s", keys, key("c1"))
	}
	keys, err = e.s.PurgeCandidates(e.ctx, time.Now().Add(-time.Hour), 10)
	ok(t, err)
	eq(t, "candidates changed before an earlier cutoff", len(keys), 0)
	// A customer came back to c1 after it was listed: no longer a candidate.
	e.ingest(Event("c1", "e9", "one more thing"), bot.IngestOptions{})
	gone, err := e.s.PurgeConversations(e.ctx, []string{key("c1"), key("c2")}, cutoff)
	ok(t, err)
	eq(t, "purged with a job waiting", len(gone), 0)
	for _, j := range e.jobs(bot.JobQueued, bot.JobProcess) {
		p, err := bot.DecodePayload[bot.ProcessPayload](j)
		ok(t, err)
		if ev, err := e.s.Event(e.ctx, p.InboxID); err != nil || ev.ID != "e9" {
			continue
		}
		_, err = e.s.RecordInbound(e.ctx, p.InboxID, 0)
		ok(t, err)
	}
	e.runAll()
	e.resolve("c1")
	gone, err = e.s.PurgeConversations(e.ctx, []string{key("c1"), key("c2")}, cutoff)
	ok(t, err)
	eq(t, "purged", slices.Equal(gone, []string{key("c1")}), true)
	_, err = e.s.Conversation(e.ctx, key("c1"))
	is(t, "Conversation(purged)", err, bot.ErrNotFound)
	msgs, err := e.s.Messages(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "messages of a purged conversation", len(msgs), 0)
	eq(t, "replies of a purged conversation", len(e.replies("c1")), 0)
	eq(t, "redelivery of a purged conversation's event: duplicate", e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{}).Duplicate, false)
	e.conversation("c2")

	ok(t, e.s.Audit(e.ctx, bot.AuditEntry{At: time.Now().UTC(), Trigger: Trigger, Status: 401}))
	pc, err := e.s.PurgeHistory(e.ctx, cutoff, 1000)
	ok(t, err)
	if pc.Jobs == 0 || pc.Audit != 1 {
		t.Fatalf("purge history = %+v, want the finished jobs and the audit row", pc)
	}
	eq(t, "completed jobs after purge", len(e.jobs(bot.JobCompleted, "")), 0)
	e.conversation("c3")
	// A Slack delivery's event goes once its job has run: a redelivery
	// after that is accepted again (hence a cutoff past every retry window).
	_, err = e.s.IngestSlack(e.ctx, "Ev1", bot.JobSlackEvent, "slack:C1:1.0", []byte(`{}`))
	ok(t, err)
	e.runAll()
	pc, err = e.s.PurgeHistory(e.ctx, cutoff, 1000)
	ok(t, err)
	if pc.Events == 0 || pc.Jobs == 0 {
		t.Fatalf("purge history = %+v, want the Slack delivery and its job", pc)
	}
	dup, err := e.s.IngestSlack(e.ctx, "Ev1", bot.JobSlackEvent, "slack:C1:1.0", []byte(`{}`))
	ok(t, err)
	eq(t, "Slack redelivery after purge: duplicate", dup, false)
	// The events of kept conversations stay: a redelivery is a duplicate.
	eq(t, "redelivery after purge", e.ingest(Event("c2", "e2", "hi"), bot.IngestOptions{}).Duplicate, true)
}

func testRuntimeTriggers(t *testing.T, e *env) {
	tr := bot.RuntimeTrigger{Name: "shop", Kind: "generic", Secret: "s1", ReplyKind: "webhook", ReplyURL: "https://example.com/r", ReplySecret: "rs"}
	ok(t, e.s.CreateRuntimeTrigger(e.ctx, tr))
	is(t, "create a taken name", e.s.CreateRuntimeTrigger(e.ctx, tr), bot.ErrConflict)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	ok(t, e.s.RotateRuntimeTrigger(e.ctx, "shop", "s2", until))
	is(t, "RotateRuntimeTrigger(unknown)", e.s.RotateRuntimeTrigger(e.ctx, "nope", "x", until), bot.ErrNotFound)
	list, err := e.s.RuntimeTriggers(e.ctx)
	ok(t, err)
	eq(t, "triggers", len(list), 1)
	got := list[0]
	eq(t, "secret", got.Secret, "s2")
	eq(t, "previous secret", got.PreviousSecret, "s1")
	eq(t, "previous valid until", got.PreviousUntil.Equal(until), true)
	eq(t, "reply secret", got.ReplySecret, "rs")
	ok(t, e.s.DeleteRuntimeTrigger(e.ctx, "shop"))
	is(t, "DeleteRuntimeTrigger(unknown)", e.s.DeleteRuntimeTrigger(e.ctx, "shop"), bot.ErrNotFound)
	list, err = e.s.RuntimeTriggers(e.ctx)
	ok(t, err)
	eq(t, "triggers after delete", len(list), 0)
}

func testVisitors(t *testing.T, e *env) {
	k := "web/wv_1"
	revoked, err := e.s.VisitorRevoked(e.ctx, k)
	ok(t, err)
	eq(t, "revoked before", revoked, false)
	ok(t, e.s.RevokeVisitor(e.ctx, k, time.Now()))
	ok(t, e.s.RevokeVisitor(e.ctx, k, time.Now())) // twice: still revoked
	revoked, err = e.s.VisitorRevoked(e.ctx, k)
	ok(t, err)
	eq(t, "revoked", revoked, true)
}

func testDashboard(t *testing.T, e *env) {
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	e.ingest(Event("c0", "e0", "hi"), bot.IngestOptions{Audit: &bot.AuditEntry{At: time.Now().UTC(), Trigger: Trigger, Method: "POST", Status: 202, EventID: "e0"}})
	e.answer("c1", "e1", "hi")
	e.escalate("c2", "e2", "help")
	ok(t, e.s.Audit(e.ctx, bot.AuditEntry{At: time.Now().UTC(), Trigger: Trigger, Status: 401}))
	ok(t, e.s.Ping(e.ctx))
	c, err := e.s.DashboardCounts(e.ctx)
	ok(t, err)
	eq(t, "bot", c.Bot, int64(1))
	eq(t, "queued jobs", c.Queued, int64(4)) // c0's process job, two deliver jobs, the escalate job
	eq(t, "dead letters", c.DeadLetters, int64(0))
	eq(t, "escalated", c.Escalated, int64(1))
	eq(t, "open escalations", c.OpenEscalations, int64(1))
	buckets, err := e.s.Activity(e.ctx, start, time.Minute, 3)
	ok(t, err)
	eq(t, "buckets", len(buckets), 3)
	eq(t, "first bucket start", buckets[0].Start.Equal(start), true)
	var accepted, answered, escalated, rejected int64
	for _, b := range buckets {
		accepted, answered, escalated, rejected = accepted+b.Accepted, answered+b.Answered, escalated+b.Escalated, rejected+b.Rejected
	}
	eq(t, "accepted", accepted, int64(1))
	eq(t, "answered", answered, int64(1))
	eq(t, "escalated", escalated, int64(1))
	eq(t, "rejected", rejected, int64(1))
	_, err = e.s.Activity(e.ctx, start, 0, 3)
	eq(t, "Activity with step 0 fails", err != nil, true)
	_, err = e.s.Activity(e.ctx, start, time.Minute, bot.MaxActivityBuckets+1)
	eq(t, "Activity with too many buckets fails", err != nil, true)
}
