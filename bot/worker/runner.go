// Package worker runs supportbot's durable jobs: a fixed pool of goroutines
// claims jobs from the store with a lease, runs the handler of each job's
// kind, and completes, retries (capped exponential backoff with full jitter),
// or dead-letters it. Jobs that share a queue key run one at a time in order;
// the store's claim enforces that. The handlers here are the conversation
// engine: process (record, decide, reply or escalate), deliver, escalate and
// mirror.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Queue is the part of the store the runner needs.
type Queue interface {
	// ClaimJobs leases up to n runnable jobs for lease.
	ClaimJobs(ctx context.Context, n int, lease time.Duration) ([]*bot.Job, error)
	CompleteJob(ctx context.Context, id int64) error
	RetryJob(ctx context.Context, id int64, runAt time.Time, lastErr string) error
	DiscardJob(ctx context.Context, id int64, lastErr string) error
	ReleaseJob(ctx context.Context, id int64, runAt time.Time) error
	RescueJobs(ctx context.Context, all bool) (int64, error)
	NextRunAt(ctx context.Context) (time.Time, error)
	// Notify signals after commits that queued jobs.
	Notify() <-chan struct{}
}

// Defaults of the runner.
const (
	DefaultWorkers         = 32
	DefaultLease           = 5 * time.Minute
	DefaultPollInterval    = time.Second
	DefaultBackoffBase     = time.Second
	DefaultBackoffMax      = time.Hour
	DefaultShutdownTimeout = 10 * time.Second
	DefaultCancelGrace     = 5 * time.Second
)

// Backoff is the retry policy: the delay before attempt n+1 is a uniformly
// random duration in [0, min(Max, Base·2^(n-1))] ("full jitter").
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after the given failed attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	base, max := cmp.Or(b.Base, DefaultBackoffBase), cmp.Or(b.Max, DefaultBackoffMax)
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Runner is the worker pool.
type Runner struct {
	Queue    Queue
	Handlers map[string]bot.Handler
	Workers  int
	Lease    time.Duration
	Backoff  Backoff
	// PollInterval bounds the wait between claims when nothing signals.
	PollInterval time.Duration
	// ShutdownTimeout is how long Close lets running jobs finish before
	// cancelling them.
	ShutdownTimeout time.Duration
	// CancelGrace is how long Close waits, after cancelling, for jobs to
	// return; a handler that ignores its context cannot hold shutdown longer
	// (default DefaultCancelGrace).
	CancelGrace time.Duration
	// OnFinish, when set, is called after each job run with its outcome
	// and the handler's error, if any (for metrics).
	OnFinish func(job *bot.Job, outcome string, d time.Duration, err error)
	Now      func() time.Time
	Logger   *slog.Logger

	jobs    chan *bot.Job
	running atomic.Int64
	wake    <-chan struct{}

	claimCtx, jobCtx      context.Context
	stopClaim, cancelJobs context.CancelFunc
	claimWG, workWG       sync.WaitGroup
	started               atomic.Bool
}

// Open rescues the jobs a previous process left running and starts the pool.
func (r *Runner) Open() error {
	r.Workers = cmp.Or(r.Workers, DefaultWorkers)
	r.Lease = cmp.Or(r.Lease, DefaultLease)
	r.PollInterval = cmp.Or(r.PollInterval, DefaultPollInterval)
	r.ShutdownTimeout = cmp.Or(r.ShutdownTimeout, DefaultShutdownTimeout)
	r.CancelGrace = cmp.Or(r.CancelGrace, DefaultCancelGrace)
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.Logger = r.Logger.With("component", "worker")
	// One process owns a SQLite file, so jobs still marked running were
	// interrupted by a crash: run them again now rather than after the lease.
	n, err := r.Queue.RescueJobs(context.Background(), true)
	if err != nil {
		return fmt.Errorf("rescue jobs: %w", err)
	}
	if n > 0 {
		r.Logger.Warn("re-queued interrupted jobs", "jobs", n)
	}
	r.wake = r.Queue.Notify()
	r.jobs = make(chan *bot.Job)
	r.claimCtx, r.stopClaim = context.WithCancel(context.Background())
	r.jobCtx, r.cancelJobs = context.WithCancel(context.Background())
	for range r.Workers {
		r.workWG.Add(1)
		go r.work()
	}
	r.claimWG.Add(2)
	go r.claimLoop()
	go r.rescueLoop()
	r.started.Store(true)
	return nil
}

// Running reports whether the pool is started and not closed (for /readyz).
func (r *Runner) Running() bool { return r.started.Load() }

// Close stops claiming, lets running jobs finish for up to ShutdownTimeout,
// then cancels them; interrupted jobs are released to the queue unharmed.
// Jobs still running CancelGrace after the cancel are left behind with an
// error: their leases expire and the rescuer queues them again.
func (r *Runner) Close() error {
	if !r.started.Swap(false) {
		return nil
	}
	r.stopClaim()
	r.claimWG.Wait()
	close(r.jobs)
	done := make(chan struct{})
	go func() { r.workWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.ShutdownTimeout):
		r.Logger.Warn("shutdown timeout: cancelling running jobs", "running", r.running.Load())
		r.cancelJobs()
		select {
		case <-done:
		case <-time.After(r.CancelGrace):
			n := r.running.Load()
			r.Logger.Error("shutdown: jobs ignored cancellation; their leases will expire", "running", n)
			return fmt.Errorf("close runner: %d jobs still running %s after cancel: %w", n, r.CancelGrace, context.DeadlineExceeded)
		}
	}
	r.cancelJobs()
	return nil
}

func (r *Runner) claimLoop() {
	defer r.claimWG.Done()
	errLog := newLimitedLogger(r.Logger, time.Minute)
	for {
		free := r.Workers - int(r.running.Load())
		var jobs []*bot.Job
		if free > 0 {
			var err error
			jobs, err = r.Queue.ClaimJobs(r.claimCtx, free, r.Lease)
			if err != nil && r.claimCtx.Err() == nil {
				errLog.Error("claim jobs", "err", err)
			}
		}
		for _, j := range jobs {
			r.running.Add(1)
			select {
			case r.jobs <- j:
			case <-r.claimCtx.Done():
				// Not started: give it back without counting the attempt.
				r.running.Add(-1)
				_ = r.Queue.ReleaseJob(context.Background(), j.ID, j.RunAt)
			}
		}
		if len(jobs) > 0 && len(jobs) == free {
			continue // there may be more
		}
		wait := r.PollInterval
		if next, err := r.Queue.NextRunAt(r.claimCtx); err == nil && !next.IsZero() {
			if d := next.Sub(r.Now()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		if len(jobs) > 0 {
			wait = min(wait, 50*time.Millisecond) // lanes unblock as jobs finish
		}
		t := time.NewTimer(wait)
		select {
		case <-r.claimCtx.Done():
			t.Stop()
			return
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (r *Runner) rescueLoop() {
	defer r.claimWG.Done()
	t := time.NewTicker(max(r.Lease/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-r.claimCtx.Done():
			return
		case <-t.C:
			if n, err := r.Queue.RescueJobs(r.claimCtx, false); err != nil && r.claimCtx.Err() == nil {
				r.Logger.Error("rescue jobs", "err", err)
			} else if n > 0 {
				r.Logger.Warn("re-queued jobs with expired leases", "jobs", n)
			}
		}
	}
}

func (r *Runner) work() {
	defer r.workWG.Done()
	for j := range r.jobs {
		r.run(j)
		r.running.Add(-1)
	}
}

// run executes one job and records its outcome. Store writes after the
// handler use a fresh context so that a cancelled job is still recorded.
func (r *Runner) run(j *bot.Job) {
	log := r.Logger.With("job_id", j.ID, "job_kind", j.Kind, "attempt", j.Attempt)
	start := r.Now()
	h, ok := r.Handlers[j.Kind]
	var out bot.JobOutcome
	var err error
	if !ok {
		err = bot.Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	} else {
		ctx, cancel := context.WithTimeout(r.jobCtx, r.Lease-r.Lease/10)
		out, err = safeHandle(ctx, h, j, log)
		cancel()
	}
	bg := context.Background()
	outcome := "completed"
	var serr error
	switch {
	case err == nil && !out.Snooze.IsZero():
		outcome = "snoozed"
		serr = r.Queue.ReleaseJob(bg, j.ID, out.Snooze)
	case err == nil && out.Completed:
	case err == nil:
		serr = r.Queue.CompleteJob(bg, j.ID)
	case r.jobCtx.Err() != nil && errors.Is(err, context.Canceled):
		outcome = "interrupted"
		serr = r.Queue.ReleaseJob(bg, j.ID, r.Now())
	case bot.IsPermanent(err) || j.Attempt >= j.MaxAttempts:
		outcome = "discarded"
		log.Error("job dead-lettered", "err", err)
		serr = r.Queue.DiscardJob(bg, j.ID, err.Error())
	default:
		outcome = "retried"
		delay := r.Backoff.Delay(j.Attempt)
		if d, ok := bot.RetryDelay(err); ok {
			delay = d
		}
		log.Warn("job failed, will retry", "err", err, "retry_in", delay.String())
		serr = r.Queue.RetryJob(bg, j.ID, r.Now().Add(delay), err.Error())
	}
	if serr != nil {
		// The lease expires and the rescuer re-queues it; handlers are idempotent.
		log.Error("record job outcome", "outcome", outcome, "err", serr)
	}
	if r.OnFinish != nil {
		r.OnFinish(j, outcome, r.Now().Sub(start), err)
	}
}

// safeHandle runs h, turning a panic into a permanent error; the stack goes
// to the log (not into the job's stored error) so the bug can be found.
func safeHandle(ctx context.Context, h bot.Handler, j *bot.Job, log *slog.Logger) (out bot.JobOutcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = bot.Permanent(fmt.Errorf("handler panic: %v", p))
		}
	}()
	return h.Handle(ctx, j)
}

// limitedLogger drops repeats of an error log within an interval, so an
// outage does not flood the log.
type limitedLogger struct {
	l     *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  time.Time
	count int
}

func newLimitedLogger(l *slog.Logger, every time.Duration) *limitedLogger {
	return &limitedLogger{l: l, every: every}
}

func (l *limitedLogger) Error(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.last) < l.every {
		l.count++
		return
	}
	if l.count > 0 {
		args = append(args, "suppressed", l.count)
	}
	l.last, l.count = time.Now(), 0
	l.l.Error(msg, args...)
}
