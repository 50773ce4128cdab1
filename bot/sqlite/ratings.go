package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// RateConversation stores the customer's rating of a resolved conversation,
// replacing an earlier one. It returns a *bot.ValidationError for a score
// outside 1–5 or a comment that is too long, bot.ErrNotFound for an unknown
// conversation, and bot.ErrConflict when the conversation is not resolved.
func (s *Store) RateConversation(ctx context.Context, r bot.Rating) error {
	if err := r.Validate(); err != nil {
		return err
	}
	now := s.now()
	err := s.write(ctx, func(tx *wtx) error {
		c, err := getConversation(tx, r.ConversationKey)
		if err != nil {
			return err
		}
		if c.State != bot.StateResolved {
			return fmt.Errorf("conversation is %s, not resolved: %w", c.State, bot.ErrConflict)
		}
		_, err = tx.Exec(`INSERT INTO ratings (conversation_key, score, comment, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (conversation_key) DO UPDATE SET score = excluded.score, comment = excluded.comment,
				created_at = excluded.created_at`, r.ConversationKey, r.Score, r.Comment, ms(now))
		if err != nil {
			return fmt.Errorf("insert rating: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rate conversation: %w", err)
	}
	return nil
}

// Rating returns a conversation's rating, or bot.ErrNotFound.
func (s *Store) Rating(ctx context.Context, key string) (bot.Rating, error) {
	r := bot.Rating{ConversationKey: key}
	var at int64
	err := s.r.QueryRowContext(ctx, "SELECT score, comment, created_at FROM ratings WHERE conversation_key = ?", key).
		Scan(&r.Score, &r.Comment, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("rating %q: %w", key, bot.ErrNotFound)
	} else if err != nil {
		return r, fmt.Errorf("rating %q: %w", key, err)
	}
	r.At = fromMS(at)
	return r, nil
}

// ratingCounts counts the ratings of conversations started since since, by
// score.
func (s *Store) ratingCounts(ctx context.Context, since time.Time, o *bot.OutcomeStats) error {
	rows, err := s.r.QueryContext(ctx, `SELECT r.score, COUNT(*) FROM ratings r JOIN conversations c ON c.key = r.conversation_key
		WHERE c.created_at >= ? GROUP BY r.score`, ms(since))
	if err != nil {
		return fmt.Errorf("rating counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var score int
		var n int64
		if err := rows.Scan(&score, &n); err != nil {
			return fmt.Errorf("rating counts: %w", err)
		}
		if score >= 1 && score <= 5 {
			o.Ratings[score-1] = n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rating counts: %w", err)
	}
	return nil
}

// RatingsSince counts the ratings given at or after since, by score (index
// 0 for a score of 1): the dashboard's CSAT over a period.
func (s *Store) RatingsSince(ctx context.Context, since time.Time) ([5]int64, error) {
	var out [5]int64
	rows, err := s.r.QueryContext(ctx, "SELECT score, COUNT(*) FROM ratings WHERE created_at >= ? GROUP BY score", ms(since))
	if err != nil {
		return out, fmt.Errorf("ratings since: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var score int
		var n int64
		if err := rows.Scan(&score, &n); err != nil {
			return out, fmt.Errorf("ratings since: %w", err)
		}
		if score >= 1 && score <= 5 {
			out[score-1] = n
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("ratings since: %w", err)
	}
	return out, nil
}
