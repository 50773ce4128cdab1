package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// PurgeCandidates returns up to n keys of conversations that are resolved,
// were last changed before cutoff, and have no job waiting or running: the
// ones PurgeConversations may delete.
func (s *Store) PurgeCandidates(ctx context.Context, cutoff time.Time, n int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM conversations c
		WHERE state = 'resolved' AND updated_at < ?
		AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state IN ('queued', 'running')
		                AND j.queue_key IN (c.key || '`+LaneIn+`', c.key || '`+LaneOut+`', c.key || '`+LaneSlack+`'))
		ORDER BY updated_at LIMIT ?`, ms(cutoff), n)
	if err != nil {
		return nil, fmt.Errorf("purge candidates: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("purge candidates: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("purge candidates: %w", err)
	}
	return keys, nil
}

// PurgeConversations deletes the conversations among keys that are still
// purge candidates (a customer may have come back since they were listed),
// with their messages, replies, transitions, decisions, escalations, agent
// reply idempotency keys and inbox events, a few conversations a
// transaction. It returns the keys it
// deleted.
func (s *Store) PurgeConversations(ctx context.Context, keys []string, cutoff time.Time) ([]string, error) {
	var deleted []string
	for chunk := range slices.Chunk(keys, purgeChunk) {
		d, err := s.purgeConversations(ctx, chunk, cutoff)
		deleted = append(deleted, d...)
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// purgeChunk is how many conversations one write deletes: a few
// milliseconds of the writer, so that acknowledgements queued behind it
// wait no longer than a group commit does.
const purgeChunk = 16

func (s *Store) purgeConversations(ctx context.Context, keys []string, cutoff time.Time) ([]string, error) {
	var deleted []string
	err := s.write(ctx, func(tx *wtx) error {
		deleted = deleted[:0]
		for _, key := range keys {
			var ok bool
			err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM conversations c WHERE key = ? AND state = 'resolved' AND updated_at < ?
				AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state IN ('queued', 'running')
				                AND j.queue_key IN (c.key || '`+LaneIn+`', c.key || '`+LaneOut+`', c.key || '`+LaneSlack+`')))`,
				key, ms(cutoff)).Scan(&ok)
			if err != nil {
				return fmt.Errorf("check %s: %w", key, err)
			}
			if !ok {
				continue
			}
			// Messages first: they hold the references to the inbox rows.
			rows, err := tx.Query("DELETE FROM messages WHERE conversation_key = ? RETURNING inbox_id", key)
			if err != nil {
				return fmt.Errorf("delete messages: %w", err)
			}
			var inbox []int64
			for rows.Next() {
				var id *int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("delete messages: %w", err)
				}
				if id != nil {
					inbox = append(inbox, *id)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("delete messages: %w", err)
			}
			if len(inbox) > 0 {
				// One statement text whatever the count, so that the
				// writer's statement cache keeps one entry for it.
				ids, _ := json.Marshal(inbox)
				if _, err := tx.Exec("DELETE FROM inbox WHERE id IN (SELECT value FROM json_each(?))", string(ids)); err != nil {
					return fmt.Errorf("delete inbox: %w", err)
				}
			}
			for _, table := range []string{"transitions", "decisions", "replies", "escalations", "ratings", "agent_replies"} {
				if _, err := tx.Exec("DELETE FROM "+table+" WHERE conversation_key = ?", key); err != nil {
					return fmt.Errorf("delete %s: %w", table, err)
				}
			}
			if _, err := tx.Exec("DELETE FROM conversations WHERE key = ?", key); err != nil {
				return fmt.Errorf("delete conversation: %w", err)
			}
			// A web visitor's session would otherwise reopen the deleted
			// conversation, its token still valid for weeks.
			if isWebVisitor(key) {
				if err := revoke(tx, key, s.now()); err != nil {
					return fmt.Errorf("revoke visitor: %w", err)
				}
			}
			deleted = append(deleted, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge conversations: %w", err)
	}
	return deleted, nil
}

// PurgeHistory deletes, n rows at most per table, what is older than cutoff
// and no longer needed: finished jobs (completed, and dead letters
// discarded before cutoff), audit rows, and inbox events that no message
// and no waiting job refers to (Slack deliveries, events of conversations
// already purged). An event redelivered after its inbox row is gone is
// accepted again, so cutoff must be well past every sender's retry window.
func (s *Store) PurgeHistory(ctx context.Context, cutoff time.Time, n int) (bot.PurgeCounts, error) {
	var c bot.PurgeCounts
	err := s.write(ctx, func(tx *wtx) error {
		c = bot.PurgeCounts{}
		res, err := tx.Exec(`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
			WHERE finalized_at IS NOT NULL AND finalized_at < ? ORDER BY finalized_at LIMIT ?)`, ms(cutoff), n)
		if err != nil {
			return fmt.Errorf("delete jobs: %w", err)
		}
		c.Jobs, _ = res.RowsAffected()
		res, err = tx.Exec(`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)`, ms(cutoff), n)
		if err != nil {
			return fmt.Errorf("delete audit: %w", err)
		}
		c.Audit, _ = res.RowsAffected()
		// Inbox rows are in received order by id, so the oldest come first
		// and the scan stops after n of them.
		res, err = tx.Exec(`DELETE FROM inbox WHERE id IN (SELECT i.id FROM inbox i
			WHERE i.received_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.inbox_id = i.id)
			AND i.id NOT IN (
				SELECT v FROM (
					SELECT json_extract(payload, '$.inbox_id') AS v FROM jobs WHERE state IN ('queued', 'running')
					UNION ALL
					SELECT json_extract(payload, '$.inbox_id') FROM jobs WHERE state = 'discarded')
				WHERE v IS NOT NULL)
			ORDER BY i.id LIMIT ?)`, ms(cutoff), n)
		if err != nil {
			return fmt.Errorf("delete inbox: %w", err)
		}
		c.Events, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return bot.PurgeCounts{}, fmt.Errorf("purge history: %w", err)
	}
	return c, nil
}
