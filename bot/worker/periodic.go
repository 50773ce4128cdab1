package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// periodic is a loop that runs a pass at once and then every interval: the
// follow-ups and the retention passes. Its owner starts it in Open and
// stops it in Close.
type periodic struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs pass in a goroutine of its own, at once and then every
// interval, until stop; a pass's error is logged as msg unless the loop is
// stopping.
func (p *periodic) start(interval time.Duration, logger *slog.Logger, msg string, pass func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := pass(ctx); err != nil && ctx.Err() == nil {
				logger.Error(msg, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stop cancels the loop and waits for a pass in progress to end. It is safe
// on a loop never started.
func (p *periodic) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}
