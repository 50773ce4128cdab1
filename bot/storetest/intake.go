package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func testPing(t *testing.T, e *env) { ok(t, e.s.Ping(e.ctx)) }

// After Close every call returns an error at once, writes bot.ErrClosed;
// a second Close is a no-op.
func testClose(t *testing.T, e *env) {
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{})
	ok(t, e.s.Close())
	ok(t, e.s.Close())
	_, err := e.s.Ingest(e.ctx, Event("c1", "e2", "hi"), bot.IngestOptions{})
	is(t, "Ingest after Close", err, bot.ErrClosed)
	is(t, "Ping after Close", e.s.Ping(e.ctx), bot.ErrClosed)
	_, err = e.s.ClaimJobs(e.ctx, 1, time.Minute)
	is(t, "ClaimJobs after Close", err, bot.ErrClosed)
	if _, err := e.s.Conversation(e.ctx, key("c1")); err == nil {
		t.Fatal("Conversation after Close: no error")
	}
}

func testIngestDedupe(t *testing.T, e *env) {
	rc1 := e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{})
	eq(t, "first ingest duplicate", rc1.Duplicate, false)
	if rc1.ID == "" {
		t.Fatal("receipt without an id")
	}
	rc2 := e.ingest(Event("c1", "e1", "hi again"), bot.IngestOptions{})
	eq(t, "redelivery", rc2, bot.Receipt{ID: rc1.ID, Duplicate: true})
	// Another trigger's event with the same id is another event.
	other := Event("c1", "e1", "hi")
	other.Trigger = "other"
	eq(t, "same id, other trigger: duplicate", e.ingest(other, bot.IngestOptions{}).Duplicate, false)
	st, err := e.s.QueueStats(e.ctx)
	ok(t, err)
	eq(t, "queued jobs", st.Queued, int64(2))
	_, err = e.s.Event(e.ctx, 1<<40)
	is(t, "Event(unknown)", err, bot.ErrNotFound)
}

func testIngestConcurrentDuplicates(t *testing.T, e *env) {
	var wg sync.WaitGroup
	receipts := make([]bot.Receipt, 8)
	for i := range receipts {
		wg.Go(func() {
			rc, err := e.s.Ingest(e.ctx, Event("c1", "e1", "hi"), bot.IngestOptions{})
			if err != nil {
				t.Error(err)
			}
			receipts[i] = rc
		})
	}
	wg.Wait()
	firsts := 0
	for _, rc := range receipts {
		if !rc.Duplicate {
			firsts++
		}
		eq(t, "receipt id", rc.ID, receipts[0].ID)
	}
	eq(t, "receipts not duplicate", firsts, 1)
	eq(t, "process jobs", len(e.jobs(bot.JobQueued, bot.JobProcess)), 1)
}

func testIngestAudit(t *testing.T, e *env) {
	a := &bot.AuditEntry{At: time.Now().UTC(), Trigger: Trigger, Remote: "10.0.0.1", Method: "POST", Status: 202, EventID: "e1", Bytes: 10}
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{Audit: a})
	list, err := e.s.ListAudit(e.ctx, bot.AuditFilter{Trigger: Trigger})
	ok(t, err)
	if len(list) != 1 || list[0].EventID != "e1" || list[0].Status != 202 || list[0].Remote != "10.0.0.1" {
		t.Fatalf("audit = %+v, want the ingest's entry", list)
	}
}

// The store's process job carries a bot.ProcessPayload naming the stored
// event and the burst window it was accepted with.
func testProcessPayload(t *testing.T, e *env) {
	ev := Event("c1", "e1", "where is my order?")
	ev.Conversation.Tags = []string{"vip"}
	e.ingest(ev, bot.IngestOptions{MaxAttempts: 3})
	j := e.next(bot.JobProcess)
	eq(t, "attempt", j.Attempt, 1)
	eq(t, "max attempts", j.MaxAttempts, 3)
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	ok(t, err)
	got, err := e.s.Event(e.ctx, p.InboxID)
	ok(t, err)
	if got.ID != ev.ID || got.Message.Text != ev.Message.Text || got.ConversationKey() != key("c1") || len(got.Conversation.Tags) != 1 {
		t.Fatalf("Event(%d) = %+v, want %+v", p.InboxID, got, ev)
	}
	in, err := e.s.RecordInbound(e.ctx, p.InboxID, 0)
	ok(t, err)
	eq(t, "state", in.Conversation.State, bot.StateBot)
	eq(t, "pending", len(in.Pending), 1)
	eq(t, "message id", in.Pending[0].ID, in.MessageID)
	// A re-run of the job finds the message stored.
	again, err := e.s.RecordInbound(e.ctx, p.InboxID, 0)
	ok(t, err)
	eq(t, "message id on a re-run", again.MessageID, in.MessageID)
	msgs, err := e.s.Messages(e.ctx, key("c1"))
	ok(t, err)
	eq(t, "messages", len(msgs), 1)
	m, err := e.s.Message(e.ctx, in.MessageID)
	ok(t, err)
	eq(t, "message text", m.Text, ev.Message.Text)
	_, err = e.s.Message(e.ctx, 1<<40)
	is(t, "Message(unknown)", err, bot.ErrNotFound)
	_, err = e.s.RecordInbound(e.ctx, 1<<40, 0)
	is(t, "RecordInbound(unknown)", err, bot.ErrNotFound)
}

// Messages of one burst are answered as one turn by the last one's job.
func testBurst(t *testing.T, e *env) {
	burst := 200 * time.Millisecond
	now := time.Now().UTC()
	for i, text := range []string{"hello", "my order", "is late"} {
		ev := Event("c1", "e"+string(rune('1'+i)), text)
		ev.ReceivedAt = now.Add(time.Duration(i) * time.Millisecond)
		e.ingest(ev, bot.IngestOptions{Burst: burst})
	}
	next, err := e.s.NextRunAt(e.ctx)
	ok(t, err)
	if next.Before(now.Add(burst - time.Millisecond)) {
		t.Fatalf("next run at %v, want the burst's end %v", next, now.Add(burst))
	}
	if j := e.maybeNext(bot.JobProcess); j != nil {
		t.Fatalf("process job %d runnable inside its burst window", j.ID)
	}
	time.Sleep(time.Until(now.Add(burst + 10*time.Millisecond)))
	var deferred, answered int
	for range 3 {
		j := e.next(bot.JobProcess)
		p, err := bot.DecodePayload[bot.ProcessPayload](j)
		ok(t, err)
		eq(t, "burst in payload", p.BurstMS, burst.Milliseconds())
		in, err := e.s.RecordInbound(e.ctx, p.InboxID, time.Duration(p.BurstMS)*time.Millisecond)
		ok(t, err)
		switch {
		case in.Deferred:
			deferred++
			ok(t, e.s.CompleteJob(e.ctx, j.ID))
		default:
			answered++
			eq(t, "pending messages of the burst", len(in.Pending), 3)
			ok(t, e.s.ApplyDecision(e.ctx, bot.Outcome{JobID: j.ID, ConversationKey: in.Conversation.Key, MessageIDs: ids(in),
				Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "a"}, Answered: true,
				Replies: []bot.Reply{botReply(in, "rpl_burst", bot.ReplyAnswer, "a", bot.StateBot)}}))
		}
	}
	eq(t, "deferred", deferred, 2)
	eq(t, "answered", answered, 1)
}

func testSlack(t *testing.T, e *env) {
	payload := []byte(`{"event_id":"Ev1","event":{"type":"message"}}`)
	dup, err := e.s.IngestSlack(e.ctx, "Ev1", bot.JobSlackEvent, "slack:C1:1.0", payload)
	ok(t, err)
	eq(t, "first delivery duplicate", dup, false)
	dup, err = e.s.IngestSlack(e.ctx, "Ev1", bot.JobSlackEvent, "slack:C1:1.0", payload)
	ok(t, err)
	eq(t, "redelivery duplicate", dup, true)
	_, err = e.s.IngestSlack(e.ctx, " ", bot.JobSlackEvent, "slack:C1:1.0", payload)
	invalid(t, "IngestSlack without an id", err)
	j := e.next(bot.JobSlackEvent)
	eq(t, "queue key", j.QueueKey, "slack:C1:1.0")
	eq(t, "payload", string(j.Payload), string(payload))

	n := bot.RelayNoticePayload{ReplyID: "rpl_1", Channel: "C1", ThreadTS: "1.0"}
	_, err = e.s.IngestSlack(e.ctx, "relayed:rpl_1", n.JobKind(), "slack:C1:1.0", bot.EncodePayload(n))
	ok(t, err)
	ok(t, e.s.CompleteJob(e.ctx, j.ID))
	got, err := bot.DecodePayload[bot.RelayNoticePayload](e.next(bot.JobSlackRelayNotice))
	ok(t, err)
	eq(t, "relay notice", got, n)

	_, err = e.s.ConversationByThread(e.ctx, "C1", "9.9")
	is(t, "ConversationByThread(unknown)", err, bot.ErrNotFound)
}

func testAudit(t *testing.T, e *env) {
	base := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	for i, st := range []int{202, 401, 202, 413} {
		ok(t, e.s.Audit(e.ctx, bot.AuditEntry{At: base.Add(time.Duration(i) * time.Second), Trigger: Trigger,
			Remote: "10.0.0.1", Method: "POST", Status: st, Bytes: int64(i), Duration: 1500 * time.Microsecond}))
	}
	ok(t, e.s.Audit(e.ctx, bot.AuditEntry{At: base, Trigger: "other", Remote: "10.0.0.2", Method: "POST", Status: 202}))
	// Audit does not wait for the commit: the writes above are visible
	// after any later write that does.
	ok(t, e.s.Ping(e.ctx))
	all, err := e.s.ListAudit(e.ctx, bot.AuditFilter{Trigger: Trigger})
	ok(t, err)
	eq(t, "entries", len(all), 4)
	eq(t, "newest first", all[0].Status, 413)
	eq(t, "duration", all[0].Duration, 1500*time.Microsecond)
	rej, err := e.s.ListAudit(e.ctx, bot.AuditFilter{Rejected: true})
	ok(t, err)
	eq(t, "rejected entries", len(rej), 2)
	lim, err := e.s.ListAudit(e.ctx, bot.AuditFilter{Limit: 2})
	ok(t, err)
	eq(t, "limited", len(lim), 2)
	n, err := e.s.PurgeAudit(e.ctx, time.Now().Add(time.Hour), 100)
	ok(t, err)
	eq(t, "purged", n, int64(5))
	all, err = e.s.ListAudit(e.ctx, bot.AuditFilter{})
	ok(t, err)
	eq(t, "entries after purge", len(all), 0)
}

func testRejections(t *testing.T, e *env) {
	minute := time.Now().UTC().Truncate(time.Minute)
	c := bot.RejectionCount{Minute: minute, Remote: "10.0.0.9", Trigger: "", Status: 404, Count: 3}
	ok(t, e.s.CountRejections(e.ctx, []bot.RejectionCount{c}))
	c.Count = 2
	ok(t, e.s.CountRejections(e.ctx, []bot.RejectionCount{c,
		{Minute: minute.Add(-time.Minute), Remote: "10.0.0.9", Trigger: Trigger, Status: 401, Count: 1}}))
	list, err := e.s.ListRejections(e.ctx, minute.Add(-time.Hour), 10)
	ok(t, err)
	eq(t, "rows", len(list), 2)
	eq(t, "newest minute first", list[0].Status, 404)
	eq(t, "counts of one minute and source add up", list[0].Count, int64(5))
	eq(t, "minute", list[0].Minute.Equal(minute), true)
	list, err = e.s.ListRejections(e.ctx, minute.Add(-time.Hour), 1)
	ok(t, err)
	eq(t, "limited", len(list), 1)
	list, err = e.s.ListRejections(e.ctx, minute, 10)
	ok(t, err)
	eq(t, "since", len(list), 1)
	n, err := e.s.PurgeAudit(e.ctx, minute.Add(time.Hour), 100)
	ok(t, err)
	eq(t, "purged", n, int64(2))
}
