package worker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// The loop runs a pass at once, logs a failed one, and stop cancels the
// pass in progress and waits for it.
func TestPeriodic(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	passes := make(chan int, 10)
	n := 0
	var p periodic
	p.start(time.Hour, logger, "test pass", func(ctx context.Context) error {
		n++
		passes <- n
		if n == 1 {
			return errors.New("boom")
		}
		return nil
	})
	if got := <-passes; got != 1 {
		t.Fatalf("first pass = %d, want 1", got)
	}
	p.stop()
	p.stop() // twice is harmless
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "test pass") || !strings.Contains(buf.String(), "boom") {
		t.Fatalf("log = %q, want the failed pass", buf.String())
	}
	var never periodic
	never.stop() // never started
}

// A pass that waits for its context ends when the loop stops.
func TestPeriodicStopCancels(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var p periodic
	p.start(time.Hour, slog.New(slog.DiscardHandler), "test pass", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	p.stop()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
