package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Queue-key suffixes: a conversation's lanes. Jobs in one lane run in order;
// lanes run independently, so a Slack outage does not hold up replies.
const (
	LaneIn    = "#in"
	LaneOut   = "#out"
	LaneSlack = "#slack"
)

// Ingest stores an event and its process job in one transaction and returns
// once the commit is durable. A redelivery of (trigger, event id) stores
// nothing and returns the first receipt with Duplicate set.
func (s *Store) Ingest(ctx context.Context, ev bot.Event, opt bot.IngestOptions) (bot.Receipt, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return bot.Receipt{}, fmt.Errorf("ingest: %w", err)
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = s.now()
	}
	runAt := ev.ReceivedAt
	if ev.Type == bot.EventMessageCreated {
		runAt = runAt.Add(opt.Burst)
	}
	req := &ingestReq{
		trigger: ev.Trigger, eventID: ev.ID, convKey: ev.ConversationKey(), typ: ev.Type, payload: payload,
		receivedAt: ev.ReceivedAt, runAt: runAt, burstMS: opt.Burst.Milliseconds(), maxAttempts: opt.MaxAttempts,
		audit: opt.Audit,
	}
	err = s.submit(ctx, &writeReq{notify: true, done: make(chan error, 1), ingest: req})
	if err != nil {
		return bot.Receipt{}, fmt.Errorf("ingest: %w", err)
	}
	return req.receipt, nil
}

// EventRef is the public id of an inbox row, as returned by the intake.
func EventRef(id int64) string { return "evt_" + strconv.FormatInt(id, 10) }

// ParseEventRef returns the inbox row id of a public event id.
func ParseEventRef(ref string) (int64, error) {
	if len(ref) < 5 || ref[:4] != "evt_" {
		return 0, fmt.Errorf("event id %q: %w", ref, bot.ErrNotFound)
	}
	id, err := strconv.ParseInt(ref[4:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event id %q: %w", ref, bot.ErrNotFound)
	}
	return id, nil
}

// Audit records a request that was not ingested (rejected, ignored). It
// does not wait for the commit: a rejection is answered at once.
func (s *Store) Audit(ctx context.Context, a bot.AuditEntry) error {
	return s.submit(ctx, &writeReq{fn: func(tx *wtx) error { return insertAudit(tx, a) }})
}

func insertAudit(tx *wtx, a bot.AuditEntry) error {
	_, err := tx.Exec(`INSERT INTO audit (at, trigger, remote, method, status, event_id, error, bytes, duration_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ms(a.At), a.Trigger, a.Remote, a.Method, a.Status, a.EventID, a.Error, a.Bytes, a.Duration.Microseconds())
	if err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	return nil
}

// ListAudit returns audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, f bot.AuditFilter) ([]bot.AuditEntry, error) {
	q := "SELECT id, at, trigger, remote, method, status, event_id, error, bytes, duration_us FROM audit WHERE 1=1"
	var args []any
	if f.Trigger != "" {
		q += " AND trigger = ?"
		args = append(args, f.Trigger)
	}
	if f.Rejected {
		q += " AND status >= 400"
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []bot.AuditEntry
	for rows.Next() {
		var a bot.AuditEntry
		var at, dur int64
		if err := rows.Scan(&a.ID, &at, &a.Trigger, &a.Remote, &a.Method, &a.Status, &a.EventID, &a.Error, &a.Bytes, &dur); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Microsecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// limit is a list's row limit: 100 when n is not positive, 1000 at most.
func limit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// Event returns an inbox event by its row id.
func (s *Store) Event(ctx context.Context, id int64) (bot.Event, error) {
	var payload []byte
	err := s.r.QueryRowContext(ctx, "SELECT payload FROM inbox WHERE id = ?", id).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.Event{}, fmt.Errorf("event %d: %w", id, bot.ErrNotFound)
	} else if err != nil {
		return bot.Event{}, fmt.Errorf("get event: %w", err)
	}
	var ev bot.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return bot.Event{}, fmt.Errorf("decode event %d: %w", id, err)
	}
	return ev, nil
}
