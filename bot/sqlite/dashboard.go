package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// ActivityBucket and DashboardCounts are the store's dashboard figures.
type (
	ActivityBucket  = bot.ActivityBucket
	DashboardCounts = bot.DashboardCounts
)

// MaxActivityBuckets caps the buckets one Activity call returns.
const MaxActivityBuckets = bot.MaxActivityBuckets

// Activity returns n consecutive buckets of length step (whole
// milliseconds), the first starting at since, counting intake requests (from the audit log) and decisions.
// Every bucket is present, empty ones with zero counts. It returns an error
// when step is not positive or n is outside 1..MaxActivityBuckets.
func (s *Store) Activity(ctx context.Context, since time.Time, step time.Duration, n int) ([]ActivityBucket, error) {
	if step < time.Millisecond || step%time.Millisecond != 0 || n < 1 || n > MaxActivityBuckets {
		return nil, fmt.Errorf("activity: want a step of whole milliseconds and 1..%d buckets, got %s and %d", MaxActivityBuckets, step, n)
	}
	since = since.UTC()
	out := make([]ActivityBucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * step)
	}
	from, width, until := ms(since), step.Milliseconds(), ms(since.Add(time.Duration(n)*step))

	// Both tables have an index on their time column, so each query reads
	// only the rows of the period.
	rows, err := s.r.QueryContext(ctx, `SELECT (at - ?1) / ?2 AS b,
			SUM(status = 202), SUM(status >= 400)
		FROM audit WHERE at >= ?1 AND at < ?3 GROUP BY b`, from, width, until)
	if err != nil {
		return nil, fmt.Errorf("activity: audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b, accepted, rejected int64
		if err := rows.Scan(&b, &accepted, &rejected); err != nil {
			return nil, fmt.Errorf("activity: audit: %w", err)
		}
		if b >= 0 && b < int64(n) {
			out[b].Accepted, out[b].Rejected = accepted, rejected
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("activity: audit: %w", err)
	}

	drows, err := s.r.QueryContext(ctx, `SELECT (created_at - ?1) / ?2 AS b,
			SUM(action = 'answer'), SUM(action = 'escalate')
		FROM decisions WHERE created_at >= ?1 AND created_at < ?3 GROUP BY b`, from, width, until)
	if err != nil {
		return nil, fmt.Errorf("activity: decisions: %w", err)
	}
	defer drows.Close()
	for drows.Next() {
		var b, answered, escalated int64
		if err := drows.Scan(&b, &answered, &escalated); err != nil {
			return nil, fmt.Errorf("activity: decisions: %w", err)
		}
		if b >= 0 && b < int64(n) {
			out[b].Answered, out[b].Escalated = answered, escalated
		}
	}
	if err := drows.Err(); err != nil {
		return nil, fmt.Errorf("activity: decisions: %w", err)
	}
	return out, nil
}

// DashboardCounts counts conversations by state, open and claimed
// escalations, dead letters and queued jobs, each from an index.
func (s *Store) DashboardCounts(ctx context.Context) (DashboardCounts, error) {
	var c DashboardCounts
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM conversations WHERE state = 'bot'),
		(SELECT COUNT(*) FROM conversations WHERE state = 'escalated'),
		(SELECT COUNT(*) FROM conversations WHERE state = 'agent'),
		(SELECT COUNT(*) FROM conversations WHERE state = 'resolved'),
		(SELECT COUNT(*) FROM escalations WHERE status = 'open'),
		(SELECT COUNT(*) FROM escalations WHERE status = 'claimed'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'discarded'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'queued')`).
		Scan(&c.Bot, &c.Escalated, &c.Agent, &c.Resolved, &c.OpenEscalations, &c.ClaimedEscalations, &c.DeadLetters, &c.Queued)
	if err != nil {
		return c, fmt.Errorf("dashboard counts: %w", err)
	}
	return c, nil
}
