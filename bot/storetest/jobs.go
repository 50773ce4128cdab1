package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

func testJobLifecycle(t *testing.T, e *env) {
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{MaxAttempts: 5})
	j := e.next(bot.JobProcess)
	eq(t, "state", j.State, bot.JobRunning)
	if !j.LockedUntil.After(time.Now()) {
		t.Fatalf("locked until %v: want a lease in the future", j.LockedUntil)
	}
	if again := e.maybeNext(bot.JobProcess); again != nil {
		t.Fatal("a leased job was claimed twice")
	}
	// Retry: back in the queue at runAt with the error, the attempt counted.
	runAt := time.Now().Add(150 * time.Millisecond)
	ok(t, e.s.RetryJob(e.ctx, j.ID, runAt, "boom"))
	got, err := e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "state after retry", got.State, bot.JobQueued)
	eq(t, "last error", got.LastError, "boom")
	next, err := e.s.NextRunAt(e.ctx)
	ok(t, err)
	eq(t, "next run at", next.UnixMilli(), runAt.UnixMilli())
	if e.maybeNext(bot.JobProcess) != nil {
		t.Fatal("a job was claimed before its run time")
	}
	time.Sleep(time.Until(runAt.Add(5 * time.Millisecond)))
	j = e.next(bot.JobProcess)
	eq(t, "attempt", j.Attempt, 2)
	// Release: back in the queue without counting the attempt.
	ok(t, e.s.ReleaseJob(e.ctx, j.ID, time.Time{}))
	j = e.next(bot.JobProcess)
	eq(t, "attempt after release", j.Attempt, 2)
	ok(t, e.s.CompleteJob(e.ctx, j.ID))
	got, err = e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "state after complete", got.State, bot.JobCompleted)
	next, err = e.s.NextRunAt(e.ctx)
	ok(t, err)
	eq(t, "next run with an empty queue is zero", next.IsZero(), true)
	_, err = e.s.Job(e.ctx, 1<<40)
	is(t, "Job(unknown)", err, bot.ErrNotFound)
	// Only a running job is finished: the others are left as they are.
	e.ingest(Event("c2", "e2", "hi"), bot.IngestOptions{})
	queued := e.jobs(bot.JobQueued, bot.JobProcess)[0]
	ok(t, e.s.CompleteJob(e.ctx, queued.ID))
	ok(t, e.s.DiscardJob(e.ctx, queued.ID, "x"))
	ok(t, e.s.RetryJob(e.ctx, j.ID, time.Time{}, "x")) // completed
	ok(t, e.s.ReleaseJob(e.ctx, 1<<40, time.Time{}))
	got, err = e.s.Job(e.ctx, queued.ID)
	ok(t, err)
	eq(t, "queued job after CompleteJob", got.State, bot.JobQueued)
	got, err = e.s.Job(e.ctx, j.ID)
	ok(t, err)
	eq(t, "completed job after RetryJob", got.State, bot.JobCompleted)
	ok(t, e.s.CompleteJob(e.ctx, e.next(bot.JobProcess).ID))
	st, err := e.s.QueueStats(e.ctx)
	ok(t, err)
	eq(t, "stats", st, bot.QueueStats{})
}

func testJobRescue(t *testing.T, e *env) {
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{})
	e.ingest(Event("c2", "e2", "hi"), bot.IngestOptions{})
	jobs, err := e.s.ClaimJobs(e.ctx, 1, time.Millisecond)
	ok(t, err)
	eq(t, "claimed at most n", len(jobs), 1)
	held, err := e.s.ClaimJobs(e.ctx, 10, time.Hour)
	ok(t, err)
	eq(t, "claimed", len(held), 1)
	time.Sleep(5 * time.Millisecond)
	n, err := e.s.RescueJobs(e.ctx, false)
	ok(t, err)
	eq(t, "rescued (lease expired)", n, int64(1))
	got, err := e.s.Job(e.ctx, jobs[0].ID)
	ok(t, err)
	eq(t, "rescued job state", got.State, bot.JobQueued)
	n, err = e.s.RescueJobs(e.ctx, true)
	ok(t, err)
	eq(t, "rescued (all)", n, int64(1))
	st, err := e.s.QueueStats(e.ctx)
	ok(t, err)
	eq(t, "queued", st.Queued, int64(2))
	eq(t, "running", st.Running, int64(0))
	// The interrupted run counts as an attempt.
	j := e.next(bot.JobProcess)
	eq(t, "attempt after rescue", j.Attempt, 2)
}

// Workers claiming at once never get the same job, nor two of one lane.
func testConcurrentClaims(t *testing.T, e *env) {
	const convs = 12
	for i := range convs {
		for m := range 2 {
			e.ingest(Event(fmt.Sprintf("c%d", i), fmt.Sprintf("e%d-%d", i, m), "hi"), bot.IngestOptions{})
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	running := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for idle := 0; idle < 20; {
				jobs, err := e.s.ClaimJobs(e.ctx, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, j := range jobs {
					claimed[j.ID]++
					if running[j.QueueKey] {
						t.Errorf("lane %s: two jobs running at once", j.QueueKey)
					}
					running[j.QueueKey] = true
				}
				mu.Unlock()
				for _, j := range jobs {
					mu.Lock()
					running[j.QueueKey] = false
					mu.Unlock()
					if err := e.s.CompleteJob(e.ctx, j.ID); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	eq(t, "jobs claimed", len(claimed), 2*convs)
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
}

func testDeadLetters(t *testing.T, e *env) {
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{})
	e.ingest(Event("c2", "e2", "hi"), bot.IngestOptions{})
	a, b := e.next(bot.JobProcess), e.next(bot.JobProcess)
	e.ingest(Event("c3", "e3", "hi"), bot.IngestOptions{})
	time.Sleep(5 * time.Millisecond)
	st, err := e.s.QueueStats(e.ctx)
	ok(t, err)
	eq(t, "queued", st.Queued, int64(1))
	eq(t, "running", st.Running, int64(2))
	if st.OldestDue <= 0 {
		t.Fatalf("oldest due = %v, want the wait of the queued job", st.OldestDue)
	}
	ok(t, e.s.CompleteJob(e.ctx, e.next(bot.JobProcess).ID))
	ok(t, e.s.DiscardJob(e.ctx, a.ID, "bad payload"))
	ok(t, e.s.DiscardJob(e.ctx, b.ID, "bad payload"))
	dead := e.jobs(bot.JobDiscarded, "")
	eq(t, "dead letters", len(dead), 2)
	eq(t, "last error", dead[0].LastError, "bad payload")
	st, err = e.s.QueueStats(e.ctx)
	ok(t, err)
	eq(t, "discarded", st.Discarded, int64(2))
	ok(t, e.s.ReplayJob(e.ctx, a.ID))
	got, err := e.s.Job(e.ctx, a.ID)
	ok(t, err)
	eq(t, "replayed state", got.State, bot.JobQueued)
	j := e.next(bot.JobProcess)
	eq(t, "replayed job", j.ID, a.ID)
	eq(t, "replay starts a fresh attempt budget", j.Attempt, 1)
	is(t, "ReplayJob(running)", e.s.ReplayJob(e.ctx, a.ID), bot.ErrNotFound)
	is(t, "ReplayJob(unknown)", e.s.ReplayJob(e.ctx, 1<<40), bot.ErrNotFound)
	n, err := e.s.ReplayAll(e.ctx)
	ok(t, err)
	eq(t, "replayed all", n, int64(1))
	n, err = e.s.ReplayAll(e.ctx)
	ok(t, err)
	eq(t, "replayed with none left", n, int64(0))
}

// One queue key's jobs run one at a time, in id order; other keys' jobs
// run beside them.
func testLanes(t *testing.T, e *env) {
	for _, ev := range []bot.Event{Event("c1", "a1", "one"), Event("c1", "a2", "two"), Event("c2", "b1", "one"), Event("c1", "a3", "three")} {
		e.ingest(ev, bot.IngestOptions{})
	}
	var order []string
	for range 10 {
		jobs, err := e.s.ClaimJobs(e.ctx, 100, time.Minute)
		ok(t, err)
		if len(jobs) == 0 {
			break
		}
		lanes := map[string]bool{}
		for _, j := range jobs {
			if lanes[j.QueueKey] {
				t.Fatalf("two jobs of lane %s claimed at once", j.QueueKey)
			}
			lanes[j.QueueKey] = true
			p, err := bot.DecodePayload[bot.ProcessPayload](j)
			ok(t, err)
			ev, err := e.s.Event(e.ctx, p.InboxID)
			ok(t, err)
			order = append(order, ev.ID)
			ok(t, e.s.CompleteJob(e.ctx, j.ID))
		}
	}
	var c1 []string
	for _, id := range order {
		if id[0] == 'a' {
			c1 = append(c1, id)
		}
	}
	eq(t, "c1's order", len(c1), 3)
	eq(t, "c1's order", c1[0]+c1[1]+c1[2], "a1a2a3")
	eq(t, "every job ran", len(order), 4)
	// A retried job holds its lane: the next job waits for it.
	e.ingest(Event("c3", "x1", "one"), bot.IngestOptions{})
	e.ingest(Event("c3", "x2", "two"), bot.IngestOptions{})
	j := e.next(bot.JobProcess)
	runAt := time.Now().Add(100 * time.Millisecond)
	ok(t, e.s.RetryJob(e.ctx, j.ID, runAt, "later"))
	if k := e.maybeNext(bot.JobProcess); k != nil {
		t.Fatalf("job %d ran ahead of job %d of its lane", k.ID, j.ID)
	}
	// A dead letter does not: the lane moves on.
	time.Sleep(time.Until(runAt.Add(5 * time.Millisecond)))
	j = e.next(bot.JobProcess)
	ok(t, e.s.DiscardJob(e.ctx, j.ID, "gone"))
	e.next(bot.JobProcess)
}

func testNotify(t *testing.T, e *env) {
	ch := e.s.Notify()
	e.ingest(Event("c1", "e1", "hi"), bot.IngestOptions{})
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after a job was queued")
	}
}
