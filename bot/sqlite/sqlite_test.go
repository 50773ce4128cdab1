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

func TestIngestDuplicate(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	rc1, err := s.Ingest(ctx, event("c-1", "e-1", "hi"), bot.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rc1.Duplicate {
		t.Fatal("first ingest reported duplicate")
	}
	rc2, err := s.Ingest(ctx, event("c-1", "e-1", "hi again"), bot.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rc2, (bot.Receipt{ID: rc1.ID, Duplicate: true}); got != want {
		t.Fatalf("second ingest = %+v, want %+v", got, want)
	}
	st, err := s.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Queued, int64(1); got != want {
		t.Fatalf("queued jobs = %d, want %d", got, want)
	}
}

func TestIngestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	receipts := make([]bot.Receipt, 10)
	errs := make([]error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = s.Ingest(ctx, event("c-1", "same", "hello"), bot.IngestOptions{})
		}()
	}
	wg.Wait()
	fresh := 0
	for i, rc := range receipts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !rc.Duplicate {
			fresh++
		}
		if rc.ID != receipts[0].ID {
			t.Fatalf("receipt %d id %s, want %s", i, rc.ID, receipts[0].ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d ingests stored the event, want 1", fresh)
	}
	jobs, err := s.ClaimJobs(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(jobs), 1; got != want {
		t.Fatalf("claimed %d jobs, want %d", got, want)
	}
}

func TestClaimKeepsLaneOrder(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	for i := range 3 {
		for _, conv := range []string{"a", "b"} {
			if _, err := s.Ingest(ctx, event(conv, fmt.Sprintf("%s-%d", conv, i), "q"), bot.IngestOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Only the head of each lane is runnable.
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(jobs), 2; got != want {
		t.Fatalf("claimed %d jobs, want %d (one per conversation)", got, want)
	}
	more, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 0 {
		t.Fatalf("claimed %d jobs while lane heads run, want 0", len(more))
	}
	if err := s.CompleteJob(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	next, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].QueueKey != jobs[0].QueueKey || next[0].ID <= jobs[0].ID {
		t.Fatalf("after completing %d, claimed %+v, want the next job of lane %s", jobs[0].ID, next, jobs[0].QueueKey)
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
	s.MaxPageCount = 48 // the schema takes about 40 pages
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
