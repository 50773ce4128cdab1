package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// ChangeState changes a conversation's state by the rules of
// bot.StateChange, in one transaction, and returns the conversation as it
// is after the change.
func (s *Store) ChangeState(ctx context.Context, sc bot.StateChange) (*bot.Conversation, error) {
	if !sc.To.Valid() {
		return nil, bot.Invalid("to", "%q is not a state", sc.To)
	}
	if sc.To == bot.StateAgent && sc.Actor == "" {
		return nil, bot.Invalid("actor", "the agent claiming is required")
	}
	now := s.now()
	var out *bot.Conversation
	err := s.writeNotify(ctx, func(tx *wtx) error {
		c, err := getConversation(tx, sc.Key)
		if err != nil {
			return err
		}
		out = c
		if sc.From != "" && c.State != sc.From {
			return fmt.Errorf("conversation is %s, not %s: %w", c.State, sc.From, bot.ErrConflict)
		}
		if noop, err := checkChange(tx, c, sc); err != nil || noop {
			return err
		}
		if sc.Closing != nil {
			r := *sc.Closing
			r.State = sc.To
			if _, err := queueReply(tx, r, 0, now); err != nil {
				return err
			}
		}
		reason := sc.Reason
		if sc.To == bot.StateAgent && reason == "" {
			reason = "claimed"
		}
		if err := transition(tx, sc.Key, c.State, sc.To, sc.Actor, reason, now); err != nil {
			return err
		}
		switch sc.To {
		case bot.StateAgent:
			err = claimEscalation(tx, sc.Key, sc.Actor, now)
		case bot.StateResolved:
			err = closeEscalation(tx, sc.Key, "resolved", now)
		case bot.StateBot:
			if _, err := tx.Exec("UPDATE conversations SET failed_turns = 0 WHERE key = ?", sc.Key); err != nil {
				return fmt.Errorf("reset failed turns: %w", err)
			}
			err = closeEscalation(tx, sc.Key, "returned", now)
		}
		if err != nil {
			return err
		}
		out, err = getConversation(tx, sc.Key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("change state: %w", err)
	}
	return out, nil
}

// checkChange applies bot.StateChange's rules to conversation c: whether
// the change is a no-op (a claim by the holder, closing a closed
// conversation) or not allowed.
func checkChange(tx *wtx, c *bot.Conversation, sc bot.StateChange) (noop bool, err error) {
	switch {
	case sc.To == bot.StateAgent && c.State == bot.StateAgent:
		holder := ""
		_ = tx.QueryRow(`SELECT claimed_by FROM escalations WHERE conversation_key = ? ORDER BY id DESC LIMIT 1`, c.Key).Scan(&holder)
		if holder == sc.Actor {
			return true, nil
		}
		return false, &ClaimError{ClaimedBy: holder}
	case sc.To == bot.StateAgent && c.State != bot.StateEscalated:
		return false, fmt.Errorf("conversation is %s, not escalated: %w", c.State, bot.ErrConflict)
	case (sc.To == bot.StateResolved || sc.To == bot.StateBot) && c.State == sc.To:
		return true, nil
	case !c.State.CanTransition(sc.To):
		return false, fmt.Errorf("conversation is %s and cannot become %s: %w", c.State, sc.To, bot.ErrConflict)
	}
	return false, nil
}

// claimEscalation marks the conversation's open escalation claimed by
// agent now: the claim's time is what time-to-claim is measured by.
func claimEscalation(tx *wtx, key, agent string, now time.Time) error {
	_, err := tx.Exec(`UPDATE escalations SET status = 'claimed', claimed_by = ?, claimed_at = ?
		WHERE conversation_key = ? AND status = 'open'`, agent, ms(now), key)
	if err != nil {
		return fmt.Errorf("claim escalation: %w", err)
	}
	return nil
}

// closeEscalation closes the conversation's open or claimed escalation
// with status (resolved, returned).
func closeEscalation(tx *wtx, key, status string, now time.Time) error {
	_, err := tx.Exec(`UPDATE escalations SET status = ?, closed_at = ?
		WHERE conversation_key = ? AND status IN ('open', 'claimed')`, status, ms(now), key)
	if err != nil {
		return fmt.Errorf("close escalation: %w", err)
	}
	return nil
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
			if err := claimEscalation(tx, c.Key, r.AgentName, now); err != nil {
				return err
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
