package sqlite

import (
	"context"
	"fmt"
	"time"
)

// Announcements returns the times of the trigger's hand-offs announced at or
// after since, oldest first, and the number of its open hand-offs not yet
// announced (the escalation budget's count).
func (s *Store) Announcements(ctx context.Context, trigger string, since time.Time) ([]time.Time, int, error) {
	// Conversation keys are trigger + "/" + id: '/' + 1 is '0', so the
	// trigger's keys are the range [trigger/, trigger0).
	lo, hi := trigger+"/", trigger+"0"
	rows, err := s.r.QueryContext(ctx, `SELECT announced_at FROM escalations
		WHERE announced_at >= ? AND conversation_key >= ? AND conversation_key < ?
		ORDER BY announced_at`, ms(since), lo, hi)
	if err != nil {
		return nil, 0, fmt.Errorf("list announcements: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, 0, fmt.Errorf("list announcements: %w", err)
		}
		out = append(out, fromMS(at))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list announcements: %w", err)
	}
	var waiting int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM escalations
		WHERE announced_at IS NULL AND status = 'open' AND conversation_key >= ? AND conversation_key < ?`,
		lo, hi).Scan(&waiting); err != nil {
		return nil, 0, fmt.Errorf("count waiting hand-offs: %w", err)
	}
	return out, waiting, nil
}
