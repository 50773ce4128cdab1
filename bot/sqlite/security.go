package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// RevokeVisitor ends the web chat session of conversation key
// ("trigger/visitor id") on the server: VisitorRevoked reports it from now on.
func (s *Store) RevokeVisitor(ctx context.Context, key string, at time.Time) error {
	err := s.write(ctx, func(tx *wtx) error { return revoke(tx, key, at) })
	if err != nil {
		return fmt.Errorf("revoke visitor: %w", err)
	}
	return nil
}

func revoke(tx *wtx, key string, at time.Time) error {
	_, err := tx.Exec(`INSERT INTO chat_revocations (conversation_key, revoked_at) VALUES (?, ?)
		ON CONFLICT (conversation_key) DO NOTHING`, key, ms(at))
	return err
}

// VisitorRevoked reports whether the web chat session of conversation key
// was revoked.
func (s *Store) VisitorRevoked(ctx context.Context, key string) (bool, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, "SELECT revoked_at FROM chat_revocations WHERE conversation_key = ?", key).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("visitor revoked: %w", err)
	}
	return true, nil
}

// isWebVisitor reports whether a conversation key is a web chat visitor's,
// whose session tokens must die with the conversation.
func isWebVisitor(key string) bool {
	_, id, ok := strings.Cut(key, "/")
	return ok && strings.HasPrefix(id, "wv_")
}

// CountRejections adds counts of refused requests, per minute and source.
func (s *Store) CountRejections(ctx context.Context, counts []bot.RejectionCount) error {
	if len(counts) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *wtx) error {
		for _, c := range counts {
			_, err := tx.Exec(`INSERT INTO audit_rejections (minute, remote, trigger, status, count) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (minute, remote, trigger, status) DO UPDATE SET count = count + excluded.count`,
				ms(c.Minute), c.Remote, c.Trigger, c.Status, c.Count)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count rejections: %w", err)
	}
	return nil
}

// ListRejections returns the counts of refused requests since a time,
// newest minute first, at most n.
func (s *Store) ListRejections(ctx context.Context, since time.Time, n int) ([]bot.RejectionCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT minute, remote, trigger, status, count FROM audit_rejections
		WHERE minute >= ? ORDER BY minute DESC, count DESC LIMIT ?`, ms(since), limit(n))
	if err != nil {
		return nil, fmt.Errorf("list rejections: %w", err)
	}
	defer rows.Close()
	var out []bot.RejectionCount
	for rows.Next() {
		var c bot.RejectionCount
		var m int64
		if err := rows.Scan(&m, &c.Remote, &c.Trigger, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("list rejections: %w", err)
		}
		c.Minute = fromMS(m)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rejections: %w", err)
	}
	return out, nil
}

// PurgeAudit deletes, n rows at most per table, audit rows and rejection
// counts older than cutoff. It returns how many it deleted.
func (s *Store) PurgeAudit(ctx context.Context, cutoff time.Time, n int) (int64, error) {
	var total int64
	err := s.write(ctx, func(tx *wtx) error {
		total = 0
		res, err := tx.Exec(`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)`, ms(cutoff), n)
		if err != nil {
			return err
		}
		a, _ := res.RowsAffected()
		res, err = tx.Exec(`DELETE FROM audit_rejections WHERE rowid IN (SELECT rowid FROM audit_rejections WHERE minute < ? LIMIT ?)`, ms(cutoff), n)
		if err != nil {
			return err
		}
		r, _ := res.RowsAffected()
		total = a + r
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	return total, nil
}
