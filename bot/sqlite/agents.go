package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/supportbot/supportbot/bot"
)

// ConversationByThread finds the conversation whose escalation thread is
// channel/ts. It returns bot.ErrNotFound if there is none.
func (s *Store) ConversationByThread(ctx context.Context, channel, ts string) (*bot.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, "SELECT "+convColumns+
		" FROM conversations WHERE slack_channel = ? AND slack_ts = ?", channel, ts))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("thread %s/%s: %w", channel, ts, bot.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("find thread: %w", err)
	}
	return c, nil
}

// ClaimError says who holds a conversation another agent tried to claim.
type ClaimError = bot.ClaimError

// Claim gives an escalated conversation to agent. Claiming twice by the same
// agent is a no-op; a claim on a conversation another agent holds returns a
// *ClaimError (which wraps bot.ErrConflict). The first claim wins.
func (s *Store) Claim(ctx context.Context, key, agent string) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		c, err := getConversation(tx, key)
		if err != nil {
			return err
		}
		holder := ""
		_ = tx.QueryRow(`SELECT claimed_by FROM escalations WHERE conversation_key = ? ORDER BY id DESC LIMIT 1`, key).Scan(&holder)
		switch c.State {
		case bot.StateAgent:
			if holder == agent {
				return nil
			}
			return &ClaimError{ClaimedBy: holder}
		case bot.StateEscalated:
		default:
			return fmt.Errorf("conversation is %s, not escalated: %w", c.State, bot.ErrConflict)
		}
		if err := transition(tx, key, c.State, bot.StateAgent, agent, "claimed", now); err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE escalations SET status = 'claimed', claimed_by = ?, claimed_at = ?
			WHERE id = (SELECT id FROM escalations WHERE conversation_key = ? ORDER BY id DESC LIMIT 1)`, agent, ms(now), key)
		if err != nil {
			return fmt.Errorf("claim escalation: %w", err)
		}
		return nil
	})
}

// CloseConversation ends people's ownership of a conversation: to StateResolved
// (resolve) or StateBot (hand back). Closing an already-closed conversation
// is a no-op. When closing is set it is queued first as the agent's reply.
func (s *Store) CloseConversation(ctx context.Context, key string, to bot.State, actor, reason string, closing *bot.Reply) error {
	now := s.now()
	status := "resolved"
	if to == bot.StateBot {
		status = "returned"
	}
	return s.writeNotify(ctx, func(tx *wtx) error {
		c, err := getConversation(tx, key)
		if err != nil {
			return err
		}
		if c.State == to {
			return nil
		}
		if !c.State.CanTransition(to) {
			return fmt.Errorf("conversation is %s and cannot become %s: %w", c.State, to, bot.ErrConflict)
		}
		if closing != nil {
			r := *closing
			r.State = to
			if _, err := queueReply(tx, r, 0, now); err != nil {
				return err
			}
		}
		if err := transition(tx, key, c.State, to, actor, reason, now); err != nil {
			return err
		}
		if to == bot.StateBot {
			if _, err := tx.Exec("UPDATE conversations SET failed_turns = 0 WHERE key = ?", key); err != nil {
				return fmt.Errorf("reset failed turns: %w", err)
			}
		}
		_, err = tx.Exec(`UPDATE escalations SET status = ?, closed_at = ?
			WHERE conversation_key = ? AND status IN ('open', 'claimed')`, status, ms(now), key)
		if err != nil {
			return fmt.Errorf("close escalation: %w", err)
		}
		return nil
	})
}

// QueueAgentReply relays an agent's answer to the customer, once per
// dedupeKey (a Slack message id, a draft id): a redelivered Slack event does
// not send a second reply. An agent answering an escalated conversation
// claims it. It returns false when the reply was queued before.
func (s *Store) QueueAgentReply(ctx context.Context, dedupeKey string, r bot.Reply) (bool, error) {
	now := s.now()
	var queued bool
	err := s.writeNotify(ctx, func(tx *wtx) error {
		queued = false
		res, err := tx.Exec(`INSERT INTO inbox (trigger, event_id, conversation_key, type, payload, received_at)
			VALUES ('agent', ?, ?, 'agent.reply', '{}', ?) ON CONFLICT (trigger, event_id) DO NOTHING`,
			dedupeKey, r.ConversationKey, ms(now))
		if err != nil {
			return fmt.Errorf("dedupe agent reply: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		c, err := getConversation(tx, r.ConversationKey)
		if err != nil {
			return err
		}
		switch c.State {
		case bot.StateEscalated:
			if err := transition(tx, c.Key, c.State, bot.StateAgent, r.AgentName, "answered in thread", now); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE escalations SET status = 'claimed', claimed_by = ?, claimed_at = ?
				WHERE conversation_key = ? AND status = 'open'`, r.AgentName, ms(now), c.Key); err != nil {
				return fmt.Errorf("claim escalation: %w", err)
			}
			r.State = bot.StateAgent
		default:
			r.State = c.State
		}
		r.Trigger, r.ConversationID = c.Trigger, c.ExternalID
		if _, err := queueReply(tx, r, 0, now); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("queue agent reply: %w", err)
	}
	return queued, nil
}
