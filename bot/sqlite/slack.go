package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/supportbot/supportbot/bot"
)

// TriggerSlack is the inbox trigger name of deliveries from Slack (Events API
// events and interactions): (TriggerSlack, id) is unique, so a redelivered
// event is stored once.
const TriggerSlack = "slack"

// IngestSlack stores one verified Slack delivery and the job of kind that
// processes it, in one transaction, and returns once the commit is durable.
// id is Slack's event_id (or another delivery key); queueKey orders the jobs
// of one Slack thread. A redelivery of id stores nothing and returns
// duplicate = true.
func (s *Store) IngestSlack(ctx context.Context, id, kind, queueKey string, payload []byte) (duplicate bool, err error) {
	if strings.TrimSpace(id) == "" || kind == "" {
		return false, fmt.Errorf("ingest slack: %w", bot.Invalid("id", "required"))
	}
	now := s.now()
	err = s.writeNotify(ctx, func(tx *wtx) error {
		duplicate = false
		var inboxID int64
		err := tx.QueryRow(`INSERT INTO inbox (trigger, event_id, conversation_key, type, payload, received_at)
			VALUES (?, ?, '', ?, '{}', ?) ON CONFLICT (trigger, event_id) DO NOTHING RETURNING id`,
			TriggerSlack, id, kind, ms(now)).Scan(&inboxID)
		if errors.Is(err, sql.ErrNoRows) {
			duplicate = true
			return nil
		} else if err != nil {
			return fmt.Errorf("insert inbox: %w", err)
		}
		_, err = insertJob(tx, kind, queueKey, payload, 0, now, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ingest slack: %w", err)
	}
	return duplicate, nil
}

// LatestEscalation returns the newest escalation of a conversation. It
// returns bot.ErrNotFound if the conversation was never escalated.
func (s *Store) LatestEscalation(ctx context.Context, key string) (bot.StoredEscalation, error) {
	e, err := scanEscalation(s.r.QueryRowContext(ctx,
		"SELECT "+escalationColumns+" FROM escalations WHERE conversation_key = ? ORDER BY id DESC LIMIT 1", key))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("escalation of %q: %w", key, bot.ErrNotFound)
	} else if err != nil {
		return e, fmt.Errorf("latest escalation: %w", err)
	}
	return e, nil
}
