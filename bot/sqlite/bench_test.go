package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// BenchmarkIngest measures durable intake (one group-committed transaction
// per batch of concurrent callers) with 32 concurrent callers.
func BenchmarkIngest(b *testing.B) {
	s := MustOpenStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS(2) = 32 callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ev := event(fmt.Sprintf("c%d", i), fmt.Sprintf("e%d", i), "How do I reset my password?")
			a := bot.AuditEntry{At: time.Now(), Trigger: "chat", Status: 202}
			if _, err := s.Ingest(ctx, ev, bot.IngestOptions{Audit: &a}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	batches, writes := s.CommitStats()
	b.ReportMetric(float64(writes)/float64(batches), "writes/commit")
}
