package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// ingestLatencies runs b.N ingests from 32 callers and returns each one's
// latency, sorted.
func ingestLatencies(b *testing.B, s *sqlite.Store, prefix string) []time.Duration {
	ctx := context.Background()
	var n atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(16) // 16 × GOMAXPROCS(2) = 32 callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := n.Add(1)
			ev := event(fmt.Sprintf("%s-c%d", prefix, i), fmt.Sprintf("%s-e%d", prefix, i), "How do I reset my password?")
			a := bot.AuditEntry{At: time.Now(), Trigger: "chat", Status: 202}
			start := time.Now()
			if _, err := s.Ingest(ctx, ev, bot.IngestOptions{Audit: &a}); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	return lat
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkIngestLatency is BenchmarkIngest with the latency of each
// acknowledgement: the baseline of BenchmarkIngestDuringPurge.
func BenchmarkIngestLatency(b *testing.B) {
	s := MustOpenStore(b)
	reportLatency(b, ingestLatencies(b, s, "new"))
}

// BenchmarkIngestDuringPurge measures the same intake while the retention
// pass deletes 5,000 old resolved conversations (with their messages,
// replies, events, jobs and audit rows) in its batches of 200: the
// acknowledgement latency it adds is the cost of retention to intake.
func BenchmarkIngestDuringPurge(b *testing.B) {
	var offset atomic.Int64 // the store's clock, moved back to make old data
	s := sqlite.NewStore(filepath.Join(b.TempDir(), "purge.db"))
	s.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	const old = 5000
	offset.Store(int64(-60 * 24 * time.Hour))
	mustAnsweredConversations(b, s, old)
	if n, err := resolveAll(s); err != nil || n != old {
		b.Fatalf("resolved %d (%v), want %d", n, err, old)
	}
	offset.Store(0)

	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	var purged, history atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		// As worker.Retention does: the conversations, then the history.
		for {
			keys, err := s.PurgeCandidates(ctx, cutoff, 200)
			if err != nil || len(keys) == 0 {
				break
			}
			deleted, err := s.PurgeConversations(ctx, keys, cutoff)
			if err != nil {
				b.Error(err)
				return
			}
			purged.Add(int64(len(deleted)))
		}
		for {
			c, err := s.PurgeHistory(ctx, cutoff, 200)
			if err != nil {
				b.Error(err)
				return
			}
			history.Add(c.Jobs + c.Audit + c.Events)
			if c.Jobs < 200 && c.Audit < 200 && c.Events < 200 {
				return
			}
		}
	}()
	lat := ingestLatencies(b, s, "new")
	<-done
	reportLatency(b, lat)
	b.ReportMetric(float64(history.Load()), "history-rows")
	b.ReportMetric(float64(purged.Load()), "purged")
}

// mustAnsweredConversations stores n conversations of one answered
// message each, as the engine would.
func mustAnsweredConversations(b *testing.B, s *sqlite.Store, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				ev := event(fmt.Sprintf("old-c%d", i), fmt.Sprintf("old-e%d", i), "How do I reset my password?")
				ev.ReceivedAt = s.Now().UTC()
				if _, err := s.Ingest(ctx, ev, bot.IngestOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for {
		jobs, err := s.ClaimJobs(ctx, 256, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if len(jobs) == 0 {
			return
		}
		for _, j := range jobs {
			wg.Go(func() {
				var err error
				if j.Kind == bot.JobProcess {
					err = answer(ctx, s, j)
				} else { // the reply's delivery
					err = s.CompleteJob(ctx, j.ID)
				}
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
}

// answer records a process job's message and answers it.
func answer(ctx context.Context, s *sqlite.Store, j *bot.Job) error {
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	if err != nil {
		return err
	}
	in, err := s.RecordInbound(ctx, p.InboxID, 0)
	if err != nil {
		return err
	}
	key := in.Conversation.Key
	return s.ApplyDecision(ctx, bot.Outcome{
		JobID: j.ID, ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "Use the link."},
		Replies: []bot.Reply{{ID: "r-" + key, ConversationKey: key, Kind: bot.ReplyAnswer, Author: bot.AuthorBot,
			Text: "Use the link.", State: bot.StateBot}},
	})
}

func resolveAll(s *sqlite.Store) (int, error) {
	total := 0
	for {
		n, err := s.ResolveIdle(context.Background(), s.Now().Add(time.Hour))
		if err != nil || n == 0 {
			return total, err
		}
		total += n
	}
}
