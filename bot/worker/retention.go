package worker

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// RetentionStore is the part of the store the retention loop needs.
type RetentionStore interface {
	PurgeCandidates(ctx context.Context, cutoff time.Time, n int) ([]string, error)
	PurgeConversations(ctx context.Context, keys []string, cutoff time.Time) ([]string, error)
	PurgeHistory(ctx context.Context, cutoff time.Time, n int) (bot.PurgeCounts, error)
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	Messages(ctx context.Context, key string) ([]bot.Message, error)
	Transitions(ctx context.Context, key string) ([]bot.Transition, error)
	Replies(ctx context.Context, key string) ([]bot.StoredReply, error)
}

// Retention defaults.
const (
	DefaultRetentionInterval = time.Hour
	DefaultRetentionBatch    = 200
	// MinRetention is the shortest allowed age: an event's inbox row is
	// what turns a sender's redelivery into a no-op, and senders retry for
	// up to a day (Freshdesk: 95 minutes, Zendesk and Chatwoot: less).
	MinRetention = 24 * time.Hour
)

// Retention deletes what is older than After on a schedule: resolved
// conversations last changed before the cutoff with their transcripts,
// replies and events, then finished jobs, audit rows and unreferenced
// events. With ArchiveDir set, each conversation is first appended to
// ArchiveDir/conversations-YYYY-MM-DD.jsonl (one JSON object a line, synced
// to disk) and deleted only once its archive line is durable.
//
// It works in batches of Batch rows, each its own short write, so intake
// (which the store's writer serves first) is never held up behind a long
// delete.
type Retention struct {
	Store      RetentionStore
	After      time.Duration // required, at least MinRetention
	Interval   time.Duration // default DefaultRetentionInterval
	Batch      int           // default DefaultRetentionBatch
	ArchiveDir string        // empty: purge without archiving
	Now        func() time.Time
	Logger     *slog.Logger
	// OnPass, when set, is called after each pass with what it deleted
	// (metrics and tests).
	OnPass func(bot.PurgeCounts)

	loop periodic
}

// ArchivedConversation is one line of the archive.
type ArchivedConversation struct {
	Conversation *bot.Conversation `json:"conversation"`
	Messages     []bot.Message     `json:"messages"`
	Replies      []bot.StoredReply `json:"replies"`
	Transitions  []bot.Transition  `json:"transitions"`
	ArchivedAt   time.Time         `json:"archived_at"`
}

// Open starts the loop; the first pass runs at once.
func (r *Retention) Open() {
	r.defaults()
	r.loop.start(r.Interval, r.Logger, "retention pass", func(ctx context.Context) error {
		_, err := r.Run(ctx)
		return err
	})
}

// Close stops the loop and waits for a pass in progress to stop.
func (r *Retention) Close() error {
	r.loop.stop()
	return nil
}

func (r *Retention) defaults() {
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
// or ctx ends. It returns what it deleted.
func (r *Retention) Run(ctx context.Context) (bot.PurgeCounts, error) {
	r.defaults()
	var total bot.PurgeCounts
	if r.After < MinRetention {
		return total, fmt.Errorf("retention: after %s is shorter than %s", r.After, MinRetention)
	}
	cutoff := r.Now().Add(-r.After)
	defer func() {
		if r.OnPass != nil {
			r.OnPass(total)
		}
		if total != (bot.PurgeCounts{}) {
			r.Logger.Info("retention pass", "cutoff", cutoff.UTC().Format(time.RFC3339),
				"conversations", total.Conversations, "events", total.Events, "jobs", total.Jobs, "audit", total.Audit)
		}
	}()
	for ctx.Err() == nil {
		keys, err := r.Store.PurgeCandidates(ctx, cutoff, r.Batch)
		if err != nil {
			return total, err
		}
		if len(keys) == 0 {
			break
		}
		if r.ArchiveDir != "" {
			if err := r.archive(ctx, keys); err != nil {
				return total, err
			}
		}
		deleted, err := r.Store.PurgeConversations(ctx, keys, cutoff)
		if err != nil {
			return total, err
		}
		total.Conversations += int64(len(deleted))
		if len(deleted) == 0 {
			break // every candidate came back to life meanwhile
		}
	}
	for ctx.Err() == nil {
		c, err := r.Store.PurgeHistory(ctx, cutoff, r.Batch)
		if err != nil {
			return total, err
		}
		total.Events += c.Events
		total.Jobs += c.Jobs
		total.Audit += c.Audit
		if c.Events < int64(r.Batch) && c.Jobs < int64(r.Batch) && c.Audit < int64(r.Batch) {
			break
		}
	}
	return total, ctx.Err()
}

// archive appends the conversations to today's archive file and syncs it.
// A conversation archived but then not deleted (its customer came back)
// is archived again, in full, when it is purged later: the newest line of a
// key is the one that counts.
func (r *Retention) archive(ctx context.Context, keys []string) error {
	if err := os.MkdirAll(r.ArchiveDir, 0o700); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	now := r.Now().UTC()
	path := filepath.Join(r.ArchiveDir, "conversations-"+now.Format("2006-01-02")+".jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, key := range keys {
		a, err := r.load(ctx, key)
		if err != nil {
			return fmt.Errorf("archive %s: %w", key, err)
		}
		a.ArchivedAt = now
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("archive %s: %w", key, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return f.Close()
}

func (r *Retention) load(ctx context.Context, key string) (ArchivedConversation, error) {
	var a ArchivedConversation
	var err error
	if a.Conversation, err = r.Store.Conversation(ctx, key); err != nil {
		return a, err
	}
	if a.Messages, err = r.Store.Messages(ctx, key); err != nil {
		return a, err
	}
	if a.Replies, err = r.Store.Replies(ctx, key); err != nil {
		return a, err
	}
	a.Transitions, err = r.Store.Transitions(ctx, key)
	return a, err
}
