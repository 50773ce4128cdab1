package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
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
