package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// CreateRuntimeTrigger stores a new trigger; a taken name is bot.ErrConflict.
func (s *Store) CreateRuntimeTrigger(ctx context.Context, t bot.RuntimeTrigger) error {
	now := s.now()
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO runtime_triggers (name, kind, secret, reply_kind, reply_url, reply_secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Name, t.Kind, t.Secret, t.ReplyKind, t.ReplyURL, t.ReplySecret, ms(now), ms(now))
		if isUnique(err) {
			return fmt.Errorf("trigger %q exists: %w", t.Name, bot.ErrConflict)
		} else if err != nil {
			return fmt.Errorf("create trigger: %w", err)
		}
		return nil
	})
}

// RuntimeTriggers returns every run-time trigger, with secrets, by name.
func (s *Store) RuntimeTriggers(ctx context.Context) ([]bot.RuntimeTrigger, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, kind, secret, previous_secret, previous_until, reply_kind, reply_url,
		reply_secret, created_at, updated_at FROM runtime_triggers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list triggers: %w", err)
	}
	defer rows.Close()
	var out []bot.RuntimeTrigger
	for rows.Next() {
		var t bot.RuntimeTrigger
		var until, created, updated int64
		if err := rows.Scan(&t.Name, &t.Kind, &t.Secret, &t.PreviousSecret, &until, &t.ReplyKind, &t.ReplyURL,
			&t.ReplySecret, &created, &updated); err != nil {
			return nil, fmt.Errorf("list triggers: %w", err)
		}
		if until > 0 {
			t.PreviousUntil = fromMS(until)
		}
		t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RotateRuntimeTrigger replaces a trigger's secret; the old one stays valid
// until until. It returns bot.ErrNotFound for an unknown name.
func (s *Store) RotateRuntimeTrigger(ctx context.Context, name, secret string, until time.Time) error {
	now := s.now()
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE runtime_triggers SET previous_secret = secret, previous_until = ?, secret = ?, updated_at = ?
			WHERE name = ?`, ms(until), secret, ms(now), name)
		if err != nil {
			return fmt.Errorf("rotate trigger: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("trigger %q: %w", name, bot.ErrNotFound)
		}
		return nil
	})
}

// DeleteRuntimeTrigger removes a trigger; bot.ErrNotFound if there is none.
func (s *Store) DeleteRuntimeTrigger(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`DELETE FROM runtime_triggers WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("delete trigger: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("trigger %q: %w", name, bot.ErrNotFound)
		}
		return nil
	})
}
