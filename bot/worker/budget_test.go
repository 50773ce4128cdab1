package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/bot/worker"
)

// recEscalator records the hand-offs announced and the notices posted.
type recEscalator struct {
	mu       sync.Mutex
	posted   []time.Time
	notices  []string
	announce chan struct{}
}

func (r *recEscalator) Escalate(context.Context, bot.Escalation) (bot.Thread, error) {
	r.mu.Lock()
	r.posted = append(r.posted, time.Now())
	r.mu.Unlock()
	r.announce <- struct{}{}
	return bot.Thread{}, nil
}

func (r *recEscalator) Mirror(context.Context, bot.Thread, bot.Turn) error { return nil }

func (r *recEscalator) Notice(_ context.Context, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, text)
	return nil
}

func (r *recEscalator) snapshot() ([]time.Time, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.posted...), append([]string(nil), r.notices...)
}

// A flood of hand-offs from one trigger reaches agents at the budget's pace:
// the ones over it wait (their jobs stay queued, none is dropped) and agents
// get one summary saying how many wait; every one is announced in the end.
func TestEscalationBudgetHoldsAndSummarises(t *testing.T) {
	t.Parallel()
	const max, window, flood = 2, 1500 * time.Millisecond, 5
	esc := &recEscalator{announce: make(chan struct{}, flood)}
	b := setup(t, echoDecider, func(b *testBundle) {
		b.engine.Escalator = esc
		b.engine.Budget = &worker.EscalationBudget{
			Store:   b.store,
			Budgets: map[string]worker.Budget{"chat": {Max: max, Window: window}},
		}
	})
	for i := range flood {
		ingest(t, b.store, fmt.Sprintf("c%d", i), fmt.Sprintf("m%d", i), "I want a human", 0)
	}
	deadline := time.After(20 * time.Second)
	for range flood {
		select {
		case <-esc.announce:
		case <-deadline:
			posted, _ := esc.snapshot()
			t.Fatalf("%d of %d hand-offs announced; the rest were lost or never released", len(posted), flood)
		}
	}
	posted, notices := esc.snapshot()
	// No window of the budget's length saw more than max announcements.
	for i := range posted {
		n := 0
		for _, p := range posted[i:] {
			if p.Sub(posted[i]) < window-100*time.Millisecond {
				n++
			}
		}
		if n > max {
			t.Fatalf("%d hand-offs announced within %s of %s, want at most %d (times %v)", n, window, posted[i].Format(time.StampMilli), max, posted)
		}
	}
	// The summary counts the hand-offs waiting when it is posted (the flood
	// may still be arriving).
	if len(notices) == 0 || !strings.Contains(notices[0], `from trigger "chat"`) || !strings.Contains(notices[0], "waiting") || !strings.Contains(notices[0], "None is dropped") {
		t.Fatalf("notices = %q, want a summary of the held hand-offs", notices)
	}
	if len(notices) > 3 {
		t.Fatalf("%d notices for one flood, want one per window", len(notices))
	}
	dead, err := b.store.ListJobs(context.Background(), bot.JobFilter{State: bot.JobDiscarded})
	if err != nil || len(dead) != 0 {
		t.Fatalf("dead letters = %v, %v; want none", dead, err)
	}
}

// failingAnnounce is the real store whose first MarkAnnounced fails, as a
// full disk or a crash after Slack accepted the post would.
type failingAnnounce struct {
	*sqlite.Store
	failed atomic.Bool
}

func (f *failingAnnounce) MarkAnnounced(ctx context.Context, jobID, escalationID int64, t bot.Thread) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("database or disk is full")
	}
	return f.Store.MarkAnnounced(ctx, jobID, escalationID, t)
}

// finderEscalator posts hand-offs and finds them again, as Slack does with
// the post's metadata.
type finderEscalator struct {
	mu    sync.Mutex
	posts map[string]bot.Thread // by conversation and creation time
	n     int
}

func handoffKey(e bot.Escalation) string {
	return e.ConversationKey + "@" + e.CreatedAt.Format(time.RFC3339Nano)
}

func (f *finderEscalator) Escalate(_ context.Context, e bot.Escalation) (bot.Thread, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	t := bot.Thread{Channel: "C1", TS: fmt.Sprintf("1.%06d", f.n)}
	f.posts[handoffKey(e)] = t
	return t, nil
}

func (f *finderEscalator) FindHandoff(_ context.Context, e bot.Escalation) (bot.Thread, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.posts[handoffKey(e)]
	return t, ok, nil
}

func (f *finderEscalator) Mirror(context.Context, bot.Thread, bot.Turn) error { return nil }

// A hand-off whose post was accepted but not recorded is found on the retry
// and recorded, not posted a second time.
func TestEscalateRetryDoesNotPostTwice(t *testing.T) {
	t.Parallel()
	fe := &finderEscalator{posts: map[string]bot.Thread{}}
	var store *failingAnnounce
	b := setup(t, echoDecider, func(b *testBundle) {
		store = &failingAnnounce{Store: b.store}
		b.engine.Store = store
		b.engine.Escalator = fe
	})
	ingest(t, b.store, "c", "m1", "I want a human", 0)
	waitFor(t, "the hand-off's thread was never recorded", func() bool {
		c, err := b.store.Conversation(context.Background(), "chat/c")
		return err == nil && c.SlackThreadTS != ""
	})
	if !store.failed.Load() {
		t.Fatal("MarkAnnounced never failed: the test did not exercise the retry")
	}
	fe.mu.Lock()
	n := fe.n
	fe.mu.Unlock()
	if n != 1 {
		t.Fatalf("hand-off posted %d times, want once", n)
	}
}
