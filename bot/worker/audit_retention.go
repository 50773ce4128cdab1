package worker

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"
)

// AuditStore is the part of the store AuditRetention deletes from.
type AuditStore interface {
	// PurgeAudit deletes up to n audit rows and rejection counts per table
	// older than cutoff and returns how many it deleted.
	PurgeAudit(ctx context.Context, cutoff time.Time, n int) (int64, error)
}

// DefaultAuditRetention is how long audit rows are kept unless configured:
// the audit log is written by unauthenticated requests too, so it is never
// kept forever by default.
const DefaultAuditRetention = 30 * 24 * time.Hour

// AuditRetention deletes audit rows and rejection counts older than After
// on a schedule, in batches, whether or not conversations are kept forever.
type AuditRetention struct {
	Store    AuditStore
	After    time.Duration // default DefaultAuditRetention
	Interval time.Duration // default DefaultRetentionInterval
	Batch    int           // default DefaultRetentionBatch
	Now      func() time.Time
	Logger   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open starts the loop; the first pass runs at once.
func (r *AuditRetention) Open() {
	r.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.Interval)
		defer t.Stop()
		for {
			if _, err := r.Run(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Error("audit retention", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the loop and waits for it.
func (r *AuditRetention) Close() error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return nil
}

func (r *AuditRetention) defaults() {
	r.After = cmp.Or(r.After, DefaultAuditRetention)
	r.Interval = cmp.Or(r.Interval, DefaultRetentionInterval)
	r.Batch = cmp.Or(r.Batch, DefaultRetentionBatch)
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
}

// Run makes one pass: batches until nothing older than the cutoff is left
// or ctx ends. It returns how many rows it deleted.
func (r *AuditRetention) Run(ctx context.Context) (int64, error) {
	r.defaults()
	cutoff := r.Now().Add(-r.After)
	var total int64
	for ctx.Err() == nil {
		n, err := r.Store.PurgeAudit(ctx, cutoff, r.Batch)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
	}
	if total > 0 {
		r.Logger.Info("audit retention pass", "cutoff", cutoff.UTC().Format(time.RFC3339), "rows", total)
	}
	return total, nil
}
