package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/worker"
)

type auditStore struct {
	cutoffs []time.Time
	left    int64
}

func (s *auditStore) PurgeAudit(_ context.Context, cutoff time.Time, n int) (int64, error) {
	s.cutoffs = append(s.cutoffs, cutoff)
	d := min(s.left, int64(n))
	s.left -= d
	return d, nil
}

// TestAuditRetentionOnByDefault: audit rows were kept forever unless the
// whole store had a retention; they now go after 30 days by default, in
// batches.
func TestAuditRetentionOnByDefault(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st := &auditStore{left: 450}
	r := &worker.AuditRetention{Store: st, Now: func() time.Time { return now }}
	n, err := r.Run(context.Background())
	if err != nil || n != 450 {
		t.Fatalf("Run = %d, %v; want 450", n, err)
	}
	if got, want := st.cutoffs[0], now.Add(-30*24*time.Hour); !got.Equal(want) {
		t.Fatalf("cutoff %s, want %s", got, want)
	}
	if len(st.cutoffs) != 4 { // 200, 200, 50, then nothing left
		t.Fatalf("%d batches, want 4", len(st.cutoffs))
	}
}
