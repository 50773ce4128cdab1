package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// QueueFollowUps queues re-announcement jobs and notice replies for open
// escalations that are due, each at most once, and returns how many of each.
func (s *Store) QueueFollowUps(ctx context.Context, o bot.FollowUpOptions) (reannounced, noticed int, err error) {
	now := s.now()
	err = s.writeNotify(ctx, func(tx *wtx) error {
		reannounced, noticed = 0, 0
		if !o.ReannounceBefore.IsZero() {
			rows, err := tx.Query(`UPDATE escalations SET reannounced_at = ?
				WHERE status = 'open' AND reannounced_at IS NULL AND announced_at IS NOT NULL AND created_at < ?
				RETURNING id, conversation_key`, ms(now), ms(o.ReannounceBefore))
			if err != nil {
				return fmt.Errorf("due re-announcements: %w", err)
			}
			type due struct {
				id  int64
				key string
			}
			var list []due
			for rows.Next() {
				var d due
				if err := rows.Scan(&d.id, &d.key); err != nil {
					rows.Close()
					return fmt.Errorf("due re-announcements: %w", err)
				}
				list = append(list, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("due re-announcements: %w", err)
			}
			for _, d := range list {
				if _, err := queueJob(tx, bot.ReannouncePayload{EscalationID: d.id}, d.key+LaneSlack, o.MaxAttempts, now); err != nil {
					return err
				}
			}
			reannounced = len(list)
		}
		if o.Notice != "" && (o.NoticeNow || !o.NoticeBefore.IsZero()) {
			before := ms(o.NoticeBefore)
			if o.NoticeNow {
				before = ms(now) + 1
			}
			rows, err := tx.Query(`UPDATE escalations SET noticed_at = ?
				WHERE status = 'open' AND noticed_at IS NULL AND created_at < ?
				RETURNING conversation_key`, ms(now), before)
			if err != nil {
				return fmt.Errorf("due notices: %w", err)
			}
			var keys []string
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return fmt.Errorf("due notices: %w", err)
				}
				keys = append(keys, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("due notices: %w", err)
			}
			for _, k := range keys {
				c, err := getConversation(tx, k)
				if err != nil {
					return err
				}
				r := bot.Reply{
					ID: o.NewID(), Trigger: c.Trigger, ConversationKey: k, ConversationID: c.ExternalID,
					Kind: bot.ReplyNotice, Author: bot.AuthorBot, Text: o.Notice, State: c.State, CreatedAt: now,
				}
				if _, err := queueReply(tx, r, o.MaxAttempts, now); err != nil {
					return err
				}
			}
			noticed = len(keys)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("queue follow-ups: %w", err)
	}
	return reannounced, noticed, nil
}

// ResolveIdle resolves bot-owned conversations whose last customer message
// is older than before (the bot answered and the customer went quiet), as
// the system, and returns how many it resolved.
func (s *Store) ResolveIdle(ctx context.Context, before time.Time) (int, error) {
	now := s.now()
	var n int
	err := s.writeNotify(ctx, func(tx *wtx) error {
		n = 0
		rows, err := tx.Query(`SELECT key FROM conversations WHERE state = 'bot' AND last_customer_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_key = conversations.key
			                AND m.author = 'customer' AND m.turn IS NULL)
			LIMIT 500`, ms(before))
		if err != nil {
			return fmt.Errorf("idle conversations: %w", err)
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return fmt.Errorf("idle conversations: %w", err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("idle conversations: %w", err)
		}
		for _, k := range keys {
			if err := transition(tx, k, bot.StateBot, bot.StateResolved, bot.ActorSystem, "idle", now); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("resolve idle: %w", err)
	}
	return n, nil
}

// OutcomeStats counts the outcomes of conversations started since since;
// window is the resolution window (a resolution counts once it has held
// that long, and an escalation unclaimed that long is abandoned).
func (s *Store) OutcomeStats(ctx context.Context, since time.Time, window time.Duration) (bot.OutcomeStats, error) {
	var o bot.OutcomeStats
	settled := ms(s.now().Add(-window))
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM conversations WHERE created_at >= ?1),
		(SELECT COUNT(*) FROM conversations c WHERE c.created_at >= ?1 AND c.state = 'resolved'
			AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.conversation_key = c.key AND t.to_state = 'escalated')
			AND (SELECT MAX(t.created_at) FROM transitions t WHERE t.conversation_key = c.key) <= ?2),
		(SELECT COUNT(DISTINCT t.conversation_key) FROM transitions t JOIN conversations c ON c.key = t.conversation_key
			WHERE c.created_at >= ?1 AND t.to_state = 'escalated'),
		(SELECT COUNT(*) FROM conversations c WHERE c.created_at >= ?1 AND c.state = 'resolved'
			AND (SELECT t.reason FROM transitions t WHERE t.conversation_key = c.key
				ORDER BY t.id DESC LIMIT 1) = 'confirmed'),
		(SELECT COUNT(*) FROM escalations e JOIN conversations c ON c.key = e.conversation_key
			WHERE c.created_at >= ?1 AND e.claimed_at IS NULL AND e.created_at <= ?2)`,
		ms(since), settled).Scan(&o.Conversations, &o.ResolvedByBot, &o.HandedOff, &o.Confirmed, &o.Abandoned)
	if err != nil {
		return o, fmt.Errorf("outcome stats: %w", err)
	}
	if err := s.ratingCounts(ctx, since, &o); err != nil {
		return o, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT claimed_at - created_at FROM escalations
		WHERE created_at >= ? AND claimed_at IS NOT NULL ORDER BY 1`, ms(since))
	if err != nil {
		return o, fmt.Errorf("claim times: %w", err)
	}
	defer rows.Close()
	var waits []int64
	for rows.Next() {
		var w int64
		if err := rows.Scan(&w); err != nil {
			return o, fmt.Errorf("claim times: %w", err)
		}
		waits = append(waits, max(w, 0))
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("claim times: %w", err)
	}
	if n := len(waits); n > 0 {
		at := func(q float64) time.Duration { return time.Duration(waits[int(q*float64(n-1))]) * time.Millisecond }
		o.Claimed, o.ClaimP50, o.ClaimP90, o.ClaimMax = int64(n), at(0.5), at(0.9), at(1)
	}
	return o, nil
}
