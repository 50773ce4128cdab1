package worker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
)

// TestRetention: a pass deletes a resolved conversation older than the
// cutoff with its events and finished jobs, after archiving it; an
// escalated conversation, a recent one and a resolved one with a waiting
// job stay.
func TestRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ctx := context.Background()
	ingest(t, b.store, "a", "a1", "where is my order?", 0)
	ingest(t, b.store, "b", "b1", "I want a human", 0)
	ingest(t, b.store, "c", "c1", "how do I pay?", 0)
	b.sink.wait(t, 3)
	if err := b.store.Audit(ctx, bot.AuditEntry{At: time.Now(), Trigger: "chat", Status: 401, Error: "bad signature"}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Hour)
	if _, err := b.store.ResolveIdle(ctx, later); err != nil { // resolves a and c
		t.Fatal(err)
	}
	// c's customer comes back while the workers are stopped: its event
	// waits in the queue, so c must survive the pass.
	if err := b.runner.Close(); err != nil {
		t.Fatal(err)
	}
	ingest(t, b.store, "c", "c2", "one more thing", 0)
	// A Slack delivery's inbox row is referenced by no message: it goes on
	// its own once old (its job carries its own payload).
	if _, err := b.store.IngestSlack(ctx, "Ev1", "slack_test", "T#slack", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "archive")
	now := time.Now()
	r := &worker.Retention{Store: b.store, After: 24 * time.Hour, ArchiveDir: dir, Batch: 1,
		Now: func() time.Time { return now }}
	got, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != (bot.PurgeCounts{}) {
		t.Fatalf("nothing is a day old yet, purged %+v", got)
	}

	now = now.Add(25 * time.Hour)
	if got, err = r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Conversations != 1 || got.Audit != 1 || got.Jobs == 0 || got.Events != 1 {
		t.Fatalf("purged %+v, want conversation a, the audit row, the Slack event and finished jobs", got)
	}
	if _, err := b.store.Conversation(ctx, "chat/a"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("conversation a after purge: %v, want not found", err)
	}
	for _, key := range []string{"chat/b", "chat/c"} {
		if _, err := b.store.Conversation(ctx, key); err != nil {
			t.Fatalf("%s purged: %v", key, err)
		}
	}
	if msgs, _ := b.store.Messages(ctx, "chat/a"); len(msgs) != 0 {
		t.Fatalf("messages of a left: %v", msgs)
	}
	if msgs, _ := b.store.Messages(ctx, "chat/b"); len(msgs) == 0 || msgs[0].Text != "I want a human" {
		t.Fatalf("messages of b = %v, want its transcript kept", msgs)
	}
	queued, err := b.store.ListJobs(ctx, bot.JobFilter{State: bot.JobQueued, Limit: 10})
	if err != nil || len(queued) != 2 {
		t.Fatalf("queued jobs = %d (%v), want c's waiting event and the Slack job", len(queued), err)
	}
	if done, _ := b.store.ListJobs(ctx, bot.JobFilter{State: bot.JobCompleted, Limit: 10}); len(done) != 0 {
		t.Fatalf("completed jobs left: %d", len(done))
	}
	if audit, _ := b.store.ListAudit(ctx, bot.AuditFilter{Limit: 10}); len(audit) != 0 {
		t.Fatalf("audit rows left: %v", audit)
	}

	files, err := filepath.Glob(filepath.Join(dir, "conversations-*.jsonl"))
	if err != nil || len(files) != 1 {
		t.Fatalf("archive files = %v (%v)", files, err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []worker.ArchivedConversation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a worker.ArchivedConversation
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, a)
	}
	if len(lines) != 1 || lines[0].Conversation.Key != "chat/a" || len(lines[0].Messages) != 2 ||
		lines[0].Messages[0].Text != "where is my order?" || len(lines[0].Replies) != 1 || len(lines[0].Transitions) == 0 {
		t.Fatalf("archive = %+v, want conversation a with its message, reply and transitions", lines)
	}

	// A second pass finds nothing more.
	if got, err = r.Run(ctx); err != nil || got != (bot.PurgeCounts{}) {
		t.Fatalf("second pass purged %+v (%v)", got, err)
	}
}

func TestRetentionRefusesShortAge(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	r := &worker.Retention{Store: b.store, After: time.Hour}
	if _, err := r.Run(context.Background()); err == nil {
		t.Fatal("an age under a day was accepted")
	}
}
