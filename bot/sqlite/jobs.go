package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// DefaultMaxAttempts is used when a job is queued with MaxAttempts 0.
const DefaultMaxAttempts = 10

const jobColumns = "id, kind, queue_key, payload, state, attempt, max_attempts, run_at, COALESCE(locked_until, 0), COALESCE(last_error, ''), created_at, updated_at"

// queueJob inserts a job for p, due now.
func queueJob(tx *wtx, p bot.JobPayload, queueKey string, maxAttempts int, now time.Time) (int64, error) {
	return insertJob(tx, p.JobKind(), queueKey, bot.EncodePayload(p), maxAttempts, now, now)
}

func insertJob(tx *wtx, kind, queueKey string, payload []byte, maxAttempts int, runAt, now time.Time) (int64, error) {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var id int64
	err := tx.QueryRow(`INSERT INTO jobs (kind, queue_key, payload, max_attempts, run_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		kind, queueKey, payload, maxAttempts, ms(runAt), ms(now), ms(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert %s job: %w", kind, err)
	}
	return id, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(sc scanner) (*bot.Job, error) {
	var j bot.Job
	var runAt, locked, created, updated int64
	var state string
	if err := sc.Scan(&j.ID, &j.Kind, &j.QueueKey, &j.Payload, &state, &j.Attempt, &j.MaxAttempts,
		&runAt, &locked, &j.LastError, &created, &updated); err != nil {
		return nil, err
	}
	j.State = bot.JobState(state)
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromMS(runAt), fromMS(created), fromMS(updated)
	if locked > 0 {
		j.LockedUntil = fromMS(locked)
	}
	return &j, nil
}

// ClaimJobs leases up to n runnable jobs. A job is runnable when it is queued,
// due, and no earlier job of its queue key is still queued or running: that
// is what keeps a conversation's jobs in order.
func (s *Store) ClaimJobs(ctx context.Context, n int, lease time.Duration) ([]*bot.Job, error) {
	now := s.now()
	var jobs []*bot.Job
	err := s.write(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		rows, err := tx.Query(`UPDATE jobs SET state = 'running', attempt = attempt + 1, locked_until = ?, updated_at = ?
			WHERE id IN (
				SELECT j.id FROM jobs j
				WHERE j.state = 'queued' AND j.run_at <= ?
				  AND NOT EXISTS (SELECT 1 FROM jobs p
				                  WHERE p.queue_key = j.queue_key AND p.id < j.id
				                    AND p.state IN ('queued', 'running'))
				ORDER BY j.run_at, j.id LIMIT ?)
			RETURNING `+jobColumns,
			ms(now.Add(lease)), ms(now), ms(now), n)
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return fmt.Errorf("claim jobs: %w", err)
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// NextRunAt returns when the earliest queued job is due, or zero if none is.
func (s *Store) NextRunAt(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT MIN(run_at) FROM jobs WHERE state = 'queued'").Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("next run: %w", err)
	}
	if !v.Valid {
		return time.Time{}, nil
	}
	return fromMS(v.Int64), nil
}

// CompleteJob marks a running job completed.
func (s *Store) CompleteJob(ctx context.Context, id int64) error {
	return s.writeNotify(ctx, func(tx *wtx) error { return completeJob(tx, id, s.now()) })
}

func completeJob(tx *wtx, id int64, now time.Time) error {
	_, err := tx.Exec(`UPDATE jobs SET state = 'completed', locked_until = NULL, updated_at = ?, finalized_at = ?
		WHERE id = ? AND state = 'running'`, ms(now), ms(now), id)
	if err != nil {
		return fmt.Errorf("complete job %d: %w", id, err)
	}
	return nil
}

// RetryJob puts a running job back in the queue to run at runAt, keeping
// the error; DiscardJob dead-letters it.
func (s *Store) RetryJob(ctx context.Context, id int64, runAt time.Time, lastErr string) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE jobs SET state = 'queued', run_at = ?, locked_until = NULL, last_error = ?, updated_at = ?
			WHERE id = ? AND state = 'running'`, ms(runAt), lastErr, ms(now), id)
		if err != nil {
			return fmt.Errorf("retry job %d: %w", id, err)
		}
		return nil
	})
}

// DiscardJob moves a running job to the dead-letter state with its error.
func (s *Store) DiscardJob(ctx context.Context, id int64, lastErr string) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE jobs SET state = 'discarded', locked_until = NULL, last_error = ?, updated_at = ?, finalized_at = ?
			WHERE id = ? AND state = 'running'`, lastErr, ms(now), ms(now), id)
		if err != nil {
			return fmt.Errorf("discard job %d: %w", id, err)
		}
		return nil
	})
}

// ReleaseJob returns a running job to the queue without counting the attempt
// (shutdown interrupted it, or it snoozes until runAt).
func (s *Store) ReleaseJob(ctx context.Context, id int64, runAt time.Time) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE jobs SET state = 'queued', attempt = MAX(attempt - 1, 0), run_at = ?, locked_until = NULL, updated_at = ?
			WHERE id = ? AND state = 'running'`, ms(runAt), ms(now), id)
		if err != nil {
			return fmt.Errorf("release job %d: %w", id, err)
		}
		return nil
	})
}

// RescueJobs re-queues running jobs whose lease has expired (their worker
// died) and returns how many it re-queued. With all set it re-queues every
// running job: at start-up, when no worker of this store can be running.
func (s *Store) RescueJobs(ctx context.Context, all bool) (int64, error) {
	now := s.now()
	var n int64
	err := s.writeNotify(ctx, func(tx *wtx) error {
		cut := ms(now)
		if all {
			cut = 1<<62 - 1
		}
		res, err := tx.Exec(`UPDATE jobs SET state = 'queued', locked_until = NULL, updated_at = ?,
			last_error = COALESCE(last_error, 'lease expired')
			WHERE state = 'running' AND locked_until < ?`, ms(now), cut)
		if err != nil {
			return fmt.Errorf("rescue jobs: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Job returns one job by id.
func (s *Store) Job(ctx context.Context, id int64) (*bot.Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, bot.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	return j, nil
}

// ListJobs returns jobs in a state (dead letters: bot.JobDiscarded), newest first.
func (s *Store) ListJobs(ctx context.Context, f bot.JobFilter) ([]*bot.Job, error) {
	q := "SELECT " + jobColumns + " FROM jobs WHERE state = ?"
	args := []any{string(f.State)}
	if f.Kind != "" {
		q += " AND kind = ?"
		args = append(args, f.Kind)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*bot.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ReplayJob re-queues a dead-lettered job with a fresh attempt budget.
// It returns bot.ErrNotFound if no discarded job has this id.
func (s *Store) ReplayJob(ctx context.Context, id int64) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE jobs SET state = 'queued', attempt = 0, run_at = ?, updated_at = ?, finalized_at = NULL
			WHERE id = ? AND state = 'discarded'`, ms(now), ms(now), id)
		if err != nil {
			return fmt.Errorf("replay job %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("dead letter %d: %w", id, bot.ErrNotFound)
		}
		return nil
	})
}

// ReplayAll re-queues every dead-lettered job and returns how many.
func (s *Store) ReplayAll(ctx context.Context) (int64, error) {
	now := s.now()
	var n int64
	err := s.writeNotify(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE jobs SET state = 'queued', attempt = 0, run_at = ?, updated_at = ?, finalized_at = NULL
			WHERE state = 'discarded'`, ms(now), ms(now))
		if err != nil {
			return fmt.Errorf("replay all: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// QueueStats reports the queue's depth and the age of its oldest due job.
func (s *Store) QueueStats(ctx context.Context) (bot.QueueStats, error) {
	var st bot.QueueStats
	var oldest sql.NullInt64
	now := s.now()
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM jobs WHERE state = 'queued'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'running'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'discarded'),
		(SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND run_at <= ?)`, ms(now)).
		Scan(&st.Queued, &st.Running, &st.Discarded, &oldest)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	if oldest.Valid {
		st.OldestDue = now.Sub(fromMS(oldest.Int64))
	}
	return st, nil
}
