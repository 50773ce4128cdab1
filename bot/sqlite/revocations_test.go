package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// TestPurgeRevokesWebVisitor: deleting a web chat visitor's conversation
// ends the visitor's session on the server, so that a token still running
// cannot reopen it; other conversations are not recorded.
func TestPurgeRevokesWebVisitor(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	s.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	offset.Store(int64(-60 * 24 * time.Hour))
	for _, conv := range []string{"wv_AAAAAAAAAAAAAAAAAAAAAAAA", "c-1"} {
		ev := event(conv, "e-"+conv, "hello")
		ev.Trigger = "site"
		ev.ReceivedAt = s.Now().UTC()
		if _, err := s.Ingest(ctx, ev, bot.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			var err error
			if j.Kind == bot.JobProcess {
				err = answer(ctx, s, j)
			} else { // the reply's delivery
				err = s.CompleteJob(ctx, j.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := resolveAll(s); err != nil {
		t.Fatal(err)
	}
	offset.Store(0)
	web := "site/wv_AAAAAAAAAAAAAAAAAAAAAAAA"
	if gone, _ := s.VisitorRevoked(ctx, web); gone {
		t.Fatal("revoked before the conversation was deleted")
	}
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	keys, err := s.PurgeCandidates(ctx, cutoff, 10)
	if err != nil || len(keys) != 2 {
		t.Fatalf("candidates %v, %v", keys, err)
	}
	if _, err := s.PurgeConversations(ctx, keys, cutoff); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.VisitorRevoked(ctx, web); err != nil || !gone {
		t.Fatalf("web visitor revoked = %v, %v; want true once its conversation is deleted", gone, err)
	}
	if gone, _ := s.VisitorRevoked(ctx, "site/c-1"); gone {
		t.Fatal("a conversation that is not a web visitor's was recorded")
	}
}
