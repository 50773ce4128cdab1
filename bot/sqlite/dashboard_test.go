package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// mustOpenStoreAt opens a store whose clock reads clock (unix ms), so that
// the test places decisions in chosen buckets.
func mustOpenStoreAt(t *testing.T, clock *atomic.Int64) *sqlite.Store {
	t.Helper()
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	s.Now = func() time.Time { return time.UnixMilli(clock.Load()) }
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// decide records a customer message and applies a decision on it at the
// store's current time.
func decide(t *testing.T, s *sqlite.Store, conv string, action bot.Action) string {
	t.Helper()
	in := mustCustomerWrites(t, s, conv, "e-"+conv, "question "+conv)
	key := in.Conversation.Key
	o := bot.Outcome{ConversationKey: key, MessageIDs: []int64{in.MessageID}, Decision: bot.Decision{Action: action}}
	if action == bot.ActionEscalate {
		o.Decision.Reason = bot.ReasonHumanRequested
		o.Escalation = &bot.Escalation{ConversationKey: key, Reason: bot.ReasonHumanRequested}
	}
	if err := s.ApplyDecision(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return key
}

func TestActivityBuckets(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(base.UnixMilli())
	s := mustOpenStoreAt(t, &clock)
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return base.Add(d) }

	ingest := func(id string, when time.Time) {
		t.Helper()
		ev := event("c-"+id, id, "hi")
		ev.ReceivedAt = when
		if _, err := s.Ingest(ctx, ev, bot.IngestOptions{Audit: &bot.AuditEntry{At: when, Trigger: "chat", Status: 202, EventID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("a1", at(10*time.Second))
	ingest("a2", at(59*time.Second))
	ingest("a1", at(65*time.Second)) // a redelivery: audited as 200, not counted
	ingest("a3", at(-time.Second))   // before the period
	ingest("a4", at(3*time.Minute))  // at its end: excluded
	for _, a := range []bot.AuditEntry{
		{At: at(70 * time.Second), Trigger: "chat", Status: 401},
		{At: at(80 * time.Second), Trigger: "nope", Status: 404},
		{At: at(90 * time.Second), Trigger: "chat", Status: 503},
		{At: at(95 * time.Second), Trigger: "chat", Status: 200}, // ignored event
	} {
		if err := s.Audit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Audit does not wait for its commit; Ping goes through the same queue
	// after it, so once it returns the entries are stored.
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	clock.Store(at(2*time.Minute + 5*time.Second).UnixMilli())
	decide(t, s, "d-ans1", bot.ActionAnswer)
	decide(t, s, "d-ans2", bot.ActionAnswer)
	clock.Store(at(2*time.Minute + 50*time.Second).UnixMilli())
	decide(t, s, "d-esc", bot.ActionEscalate)
	clock.Store(at(5 * time.Minute).UnixMilli())
	decide(t, s, "d-late", bot.ActionAnswer) // after the period

	got, err := s.Activity(ctx, base, time.Minute, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []sqlite.ActivityBucket{
		{Start: at(0), Accepted: 2},
		{Start: at(time.Minute), Rejected: 3},
		{Start: at(2 * time.Minute), Answered: 2, Escalated: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Activity (-want +got):\n%s", diff)
	}

	// A period with nothing in it still has every bucket.
	empty, err := s.Activity(ctx, at(time.Hour), time.Minute, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(empty), 4; got != want {
		t.Fatalf("empty period: %d buckets, want %d", got, want)
	}
	for i, b := range empty {
		if want := (sqlite.ActivityBucket{Start: at(time.Hour + time.Duration(i)*time.Minute)}); b != want {
			t.Fatalf("empty bucket %d = %+v, want %+v", i, b, want)
		}
	}
}

func TestActivityRejectsBadRanges(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	for _, tc := range []struct {
		name string
		step time.Duration
		n    int
	}{
		{"zero step", 0, 10},
		{"negative step", -time.Minute, 10},
		{"sub-millisecond step", 1500 * time.Microsecond, 10},
		{"no buckets", time.Minute, 0},
		{"too many buckets", time.Minute, sqlite.MaxActivityBuckets + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := s.Activity(context.Background(), time.Now(), tc.step, tc.n); err == nil {
				t.Fatalf("Activity(%s, %d) = %d buckets, want an error", tc.step, tc.n, len(got))
			}
		})
	}
}

func TestDashboardCounts(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	s := mustOpenStoreAt(t, &clock)
	ctx := context.Background()

	got, err := s.DashboardCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sqlite.DashboardCounts{}); got != want {
		t.Fatalf("empty store: %+v, want zeros", got)
	}

	decide(t, s, "answered", bot.ActionAnswer)
	decide(t, s, "waiting", bot.ActionEscalate)
	claimed := decide(t, s, "claimed", bot.ActionEscalate)
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: claimed, To: bot.StateAgent, Actor: "Grace"}); err != nil {
		t.Fatal(err)
	}
	resolved := decide(t, s, "resolved", bot.ActionEscalate)
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: resolved, To: bot.StateResolved, Actor: "ops", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	// Dead-letter every job due now: the queued ones are the replies and
	// escalation announcements of the decisions above.
	queued, err := s.ClaimJobs(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) < 2 {
		t.Fatalf("claimed %d jobs, want the replies and escalations", len(queued))
	}
	if err := s.DiscardJob(ctx, queued[0].ID, "410 gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardJob(ctx, queued[1].ID, "410 gone"); err != nil {
		t.Fatal(err)
	}
	for _, j := range queued[2:] {
		if err := s.ReleaseJob(ctx, j.ID, time.UnixMilli(clock.Load())); err != nil {
			t.Fatal(err)
		}
	}

	// Jobs of one lane are claimed one at a time, so more are queued than
	// were released; the queue's own statistics say how many.
	qs, err := s.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if qs.Queued < int64(len(queued)-2) {
		t.Fatalf("queue stats: %d queued, want at least the %d released", qs.Queued, len(queued)-2)
	}

	got, err = s.DashboardCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := sqlite.DashboardCounts{
		Bot: 1, Escalated: 1, Agent: 1, Resolved: 1,
		OpenEscalations: 1, ClaimedEscalations: 1,
		DeadLetters: 2, Queued: qs.Queued,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("DashboardCounts (-want +got):\n%s", diff)
	}
}
