package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// MustOpenStore opens a store on a new database file in a temp dir.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s := sqlite.NewStore(filepath.Join(tb.TempDir(), "test.db"))
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func event(conv, id, text string) bot.Event {
	return bot.Event{
		Trigger: "chat", ID: id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv, Subject: "Help"},
		Customer:     bot.Customer{ID: "u-1", Name: "Ada"},
		Message:      bot.MessageRef{ID: id, Text: text},
		ReceivedAt:   time.Now().UTC(),
	}
}

func TestRetryDiscardReplay(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	if _, err := s.Ingest(ctx, event("c", "e", "q"), bot.IngestOptions{MaxAttempts: 2}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	j := jobs[0]
	if got, want := j.Attempt, 1; got != want {
		t.Fatalf("attempt = %d, want %d", got, want)
	}
	// A retry in the future is not claimable now.
	if err := s.RetryJob(ctx, j.ID, time.Now().Add(time.Hour), "boom"); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.ClaimJobs(ctx, 1, time.Minute); len(jobs) != 0 {
		t.Fatal("claimed a job scheduled in the future")
	}
	if err := s.RetryJob(ctx, j.ID, time.Now(), "boom"); err != nil {
		t.Fatal(err) // no-op: job is queued, not running
	}
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.JobQueued || got.LastError != "boom" {
		t.Fatalf("job = %+v, want queued with last error", got)
	}
	s.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	jobs, err = s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim after due = %v, %v", jobs, err)
	}
	if err := s.DiscardJob(ctx, j.ID, "still boom"); err != nil {
		t.Fatal(err)
	}
	dead, err := s.ListJobs(ctx, bot.JobFilter{State: bot.JobDiscarded})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].LastError != "still boom" || dead[0].Attempt != 2 {
		t.Fatalf("dead letters = %+v", dead)
	}
	if err := s.ReplayJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplayJob(ctx, j.ID); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("second replay err = %v, want ErrNotFound", err)
	}
	jobs, err = s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Attempt != 1 {
		t.Fatalf("claim after replay = %+v, %v; want attempt 1", jobs, err)
	}
}

func TestRescueExpiredLease(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	if _, err := s.Ingest(ctx, event("c", "e", "q"), bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if jobs, err := s.ClaimJobs(ctx, 1, time.Second); err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	if n, err := s.RescueJobs(ctx, false); err != nil || n != 0 {
		t.Fatalf("rescue before expiry = %d, %v; want 0", n, err)
	}
	s.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if n, err := s.RescueJobs(ctx, false); err != nil || n != 1 {
		t.Fatalf("rescue after expiry = %d, %v; want 1", n, err)
	}
	if jobs, err := s.ClaimJobs(ctx, 1, time.Second); err != nil || len(jobs) != 1 || jobs[0].Attempt != 2 {
		t.Fatalf("claim after rescue = %+v, %v", jobs, err)
	}
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.db")
	junk := bytes.Repeat([]byte("this is not a database "), 400)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	s := sqlite.NewStore(path)
	err := s.Open()
	if err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded on a corrupt file")
	}
	after, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !bytes.Equal(after, junk) {
		t.Fatal("Open modified the corrupt file")
	}
}

func TestStoreFull(t *testing.T) {
	t.Parallel()
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "full.db"))
	s.MaxPageCount = 80 // the schema takes most of it; 200 events of 8 KB do not fit
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	big := string(bytes.Repeat([]byte("x"), 8000))
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = s.Ingest(ctx, event("c", fmt.Sprint(i), big), bot.IngestOptions{})
	}
	if !errors.Is(err, bot.ErrStoreFull) {
		t.Fatalf("err = %v, want ErrStoreFull", err)
	}
	// The store still works for reads and small writes fail cleanly, not hang.
	if _, err := s.QueueStats(ctx); err != nil {
		t.Fatal(err)
	}
}

// A write submitted after Close, or racing with it, returns bot.ErrClosed (or
// commits) instead of waiting for a writer that has stopped.
func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		s := sqlite.NewStore(filepath.Join(t.TempDir(), fmt.Sprintf("t%d.db", i)))
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		// Writers racing with Close, and one after it.
		var wg sync.WaitGroup
		errs := make(chan error, 9)
		for range 8 {
			wg.Go(func() { errs <- s.Ping(context.Background()) })
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs <- s.Ping(context.Background()) })
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("try %d: a write after Close is still waiting", i)
		}
		close(errs)
		closed := 0
		for err := range errs {
			if err != nil && !errors.Is(err, bot.ErrClosed) {
				t.Fatalf("try %d: write = %v, want nil or bot.ErrClosed", i, err)
			}
			if err != nil {
				closed++
			}
		}
		if closed == 0 {
			t.Fatalf("try %d: the write after Close reported success", i)
		}
	}
}
