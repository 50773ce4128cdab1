package faq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Live.Reload after Close.
var ErrClosed = errors.New("faq: live matcher closed")

// Live holds the matcher that serves traffic and rebuilds it in the
// background, so that start-up and reloads never wait on training. Until
// the first build finishes Current returns nil and callers must escalate,
// never guess. A newer build replaces the matcher atomically; a failed build
// keeps the previous one. Live is safe for concurrent use.
type Live struct {
	// Logger receives one line per finished background build (default
	// slog.Default()). Set it before Start.
	Logger *slog.Logger

	opts     Options
	cacheDir string

	cur atomic.Pointer[Matcher]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	gen        uint64             // generation of the newest build started
	installed  uint64             // generation of cur
	cancelLast context.CancelFunc // cancels the newest build in flight
	inflight   int                // background builds running
	err        error              // error of the newest finished build
	idle       chan struct{}      // closed and replaced when a build finishes
}

// NewLive returns a Live that builds with opts and caches built models in
// cacheDir ("" for no cache). It has no matcher until Start or Reload.
func NewLive(opts Options, cacheDir string) *Live {
	ctx, cancel := context.WithCancel(context.Background())
	return &Live{opts: opts, cacheDir: cacheDir, ctx: ctx, cancel: cancel, idle: make(chan struct{})}
}

// Start builds a matcher for kb in the background (from the cache when it
// can) and returns at once; Ready turns true when the build has finished.
// Starting again, or a Reload, supersedes a build still in flight. After
// Close, Start does nothing.
func (l *Live) Start(kb *KB) {
	ctx, gen, ok := l.begin(true)
	if !ok {
		return
	}
	go func() {
		defer l.wg.Done()
		m, err := l.build(ctx, gen, kb, true)
		log := l.logger()
		switch {
		case errors.Is(err, context.Canceled):
			// Superseded or closed: not an error worth reporting.
		case err != nil:
			log.Error("build faq matcher", "err", err)
		default:
			info := m.Info()
			log.Info("faq matcher ready", "entries", info.Entries, "features", info.Features,
				"cached", info.Cached, "build_ms", info.BuildTime.Milliseconds(), "kb_hash", info.KBHash[:12])
			if info.CacheErr != nil {
				log.Warn("faq matcher cache", "err", info.CacheErr)
			}
		}
	}()
}

// Reload builds a matcher for kb (from the cache when it can) and swaps it
// in, without dropping traffic: Current serves the previous matcher until
// the new one is ready. On error the previous matcher stays. It supersedes
// any build in flight, and returns ErrClosed after Close.
func (l *Live) Reload(ctx context.Context, kb *KB) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reload faq: %w", err)
	}
	bctx, gen, ok := l.begin(false)
	if !ok {
		return ErrClosed
	}
	defer l.wg.Done()
	stop := context.AfterFunc(ctx, l.cancelGen(gen))
	defer stop()
	if _, err := l.build(bctx, gen, kb, false); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("reload faq: %w", ctx.Err())
		}
		return fmt.Errorf("reload faq: %w", err)
	}
	return nil
}

// begin registers a new build generation, supersedes the previous one, and
// adds the build to the WaitGroup (under mu, so never after Close's Wait).
func (l *Live) begin(background bool) (context.Context, uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, 0, false
	}
	if l.cancelLast != nil {
		l.cancelLast()
	}
	ctx, cancel := context.WithCancel(l.ctx)
	l.gen++
	l.cancelLast = cancel
	l.wg.Add(1)
	if background {
		l.inflight++
	}
	return ctx, l.gen, true
}

// cancelGen returns a func that cancels build gen if it is still the newest.
func (l *Live) cancelGen(gen uint64) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.gen == gen && l.cancelLast != nil {
			l.cancelLast()
		}
	}
}

// build builds a matcher and installs it unless a newer one is installed.
func (l *Live) build(ctx context.Context, gen uint64, kb *KB, background bool) (*Matcher, error) {
	m, err := BuildCached(ctx, kb, l.opts, l.cacheDir)
	l.mu.Lock()
	defer l.mu.Unlock()
	if background {
		l.inflight--
	}
	close(l.idle)
	l.idle = make(chan struct{})
	if gen == l.gen {
		l.cancelLast() // release the context's resources
		l.cancelLast = nil
		l.err = err
	}
	if err != nil {
		return nil, err
	}
	if gen > l.installed {
		l.installed = gen
		l.cur.Store(m)
	}
	return m, nil
}

func (l *Live) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

// Ready reports whether a matcher is serving.
func (l *Live) Ready() bool { return l.cur.Load() != nil }

// Current returns the matcher serving now, or nil before the first build
// has finished; the caller then escalates.
func (l *Live) Current() *Matcher { return l.cur.Load() }

// Decide is Current().Decide, with ready false (and no result) while no
// matcher is serving: the caller must then escalate.
func (l *Live) Decide(text string, k int) (r Result, ready bool) {
	m := l.Current()
	if m == nil {
		return Result{}, false
	}
	return m.Decide(text, k), true
}

// Err returns the error of the newest finished build (nil if it succeeded),
// so that an operator can see why a reload did not take.
func (l *Live) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Wait blocks until no background build is in flight, or ctx is done, and
// returns the current matcher (nil if none was ever built) and Err.
func (l *Live) Wait(ctx context.Context) (*Matcher, error) {
	for {
		l.mu.Lock()
		busy, idle := l.inflight > 0, l.idle
		err := l.err
		l.mu.Unlock()
		if !busy {
			return l.Current(), err
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return l.Current(), ctx.Err()
		}
	}
}

// Close cancels any build in flight and waits for it to stop. The current
// matcher stays readable. Close is idempotent.
func (l *Live) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}
