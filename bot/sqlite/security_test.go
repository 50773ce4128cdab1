package sqlite_test

import (
	"context"
	"os"
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

// TestFilesPrivate: the database, its WAL and SHM files are 0600 and a data
// directory it creates is 0700 (they were created with the umask: 0644 and
// 0755 on most systems), and an older database's mode is tightened.
func TestFilesPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "test.db")
	s := sqlite.NewStore(path)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(context.Background(), bot.AuditEntry{At: time.Now(), Trigger: "x", Status: 404}); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Fatalf("%s mode %o, want %o", filepath.Base(p), got, want)
		}
	}
	check(dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		check(p, 0o600)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s = sqlite.NewStore(path)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(path, 0o600)
}

// TestCustomerUnverifiedKept: the store keeps that a customer's name and
// e-mail are self-declared, so that the hand-off shows them as unverified.
func TestCustomerUnverifiedKept(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	ev := event("wv_BBBBBBBBBBBBBBBBBBBBBBBB", "e-1", "hello")
	ev.Trigger = "site"
	ev.Customer = bot.Customer{ID: "wv_BBBBBBBBBBBBBBBBBBBBBBBB", Name: "CEO of Acme", Unverified: true}
	if _, err := s.Ingest(ctx, ev, bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	if err := answer(ctx, s, jobs[0]); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conversation(ctx, "site/wv_BBBBBBBBBBBBBBBBBBBBBBBB")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Customer.Unverified || c.Customer.Name != "CEO of Acme" {
		t.Fatalf("customer = %+v, want the name kept as unverified", c.Customer)
	}
}
