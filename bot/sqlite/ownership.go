package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// ApplyOwnership applies the helpdesk ownership signal of an inbox event, if
// it carries one (bot.Event.Owner), as a transition with the helpdesk as the
// actor. An event that carries only the signal (bot.EventOwnerChanged) has
// its process job jobID completed in the same transaction, and the result's
// Done set; otherwise the engine records the event's message next, in the
// state the signal left.
//
// The rules, all in one place:
//   - the transitions allowed are bot.OwnerChange.Allows's;
//   - a person took the conversation (StateAgent): the open escalation is
//     claimed for the actor; a conversation the store has not seen yet is
//     created, so that the customer's first message is not answered by the
//     bot either;
//   - solved or closed (StateResolved), or handed back (StateBot): the
//     escalation is closed;
//   - a signal whose Echo is the text of a reply the bot queued or sent on
//     the conversation (an agent's relayed reply with its signature line)
//     is the bot's own message coming back, not a person.
//
// Queued bot answers are suppressed when the conversation leaves the bot
// state (as at an escalation), and checked again before sending. A signal
// that changes nothing, or that the rules refuse, is not an error: the
// result says why in Skipped. Applying the same event twice changes nothing
// the second time.
func (s *Store) ApplyOwnership(ctx context.Context, jobID, inboxID int64) (bot.OwnerApplied, error) {
	var res bot.OwnerApplied
	var payload []byte
	var receivedAt int64
	// Most events carry no signal: read them without taking the write lock.
	err := s.r.QueryRowContext(ctx, "SELECT payload, received_at FROM inbox WHERE id = ?", inboxID).Scan(&payload, &receivedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return res, bot.Permanent(fmt.Errorf("inbox %d: %w", inboxID, bot.ErrNotFound))
	} else if err != nil {
		return res, fmt.Errorf("apply ownership: load inbox %d: %w", inboxID, err)
	}
	if err := json.Unmarshal(payload, &res.Event); err != nil {
		return res, bot.Permanent(fmt.Errorf("decode inbox %d: %w", inboxID, err))
	}
	o := res.Event.Owner
	if o == nil {
		return res, nil
	}
	if res.Event.Type != bot.EventOwnerChanged {
		// A message that shows its conversation's owner (most of a
		// helpdesk's messages do) rarely changes it: look before taking
		// the write lock. The lane runs this conversation's events in
		// order, so only a person's action elsewhere can move it meanwhile.
		var state string
		err := s.r.QueryRowContext(ctx, "SELECT state FROM conversations WHERE key = ?", res.Event.ConversationKey()).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if o.State != bot.StateAgent {
				res.Skipped = "unknown conversation"
				return res, nil
			}
		case err != nil:
			return res, fmt.Errorf("apply ownership: %w", err)
		case bot.State(state) == o.State:
			res.Skipped, res.From, res.To = "unchanged", o.State, o.State
			return res, nil
		case !o.Allows(bot.State(state)):
			res.Skipped, res.From, res.To = "not allowed", bot.State(state), bot.State(state)
			return res, nil
		}
	}
	now := s.now()
	err = s.writeNotify(ctx, func(tx *wtx) error {
		res.Skipped, res.Done = "", false
		skipped, from, err := applyOwner(tx, &res.Event, receivedAt, now)
		if err != nil {
			return err
		}
		res.Skipped, res.From, res.To = skipped, from, from
		if skipped == "" {
			res.To = o.State
		}
		if res.Event.Type == bot.EventOwnerChanged {
			res.Done = true
			return completeJob(tx, jobID, now)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("apply ownership: %w", err)
	}
	return res, nil
}

// applyOwner applies ev.Owner and returns the state it found and, when it
// changed nothing, why.
func applyOwner(tx *wtx, ev *bot.Event, receivedAt int64, now time.Time) (string, bot.State, error) {
	o := ev.Owner
	key := ev.ConversationKey()
	c, err := getConversation(tx, key)
	if errors.Is(err, bot.ErrNotFound) {
		if o.State != bot.StateAgent {
			return "unknown conversation", "", nil
		}
		if _, err := tx.Exec(`INSERT INTO conversations (key, trigger, external_id, subject, url, priority,
				customer_id, customer_name, customer_email, state, created_at, updated_at, last_customer_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'bot', ?, ?, ?)`,
			key, ev.Trigger, ev.Conversation.ID, ev.Conversation.Subject, ev.Conversation.URL, ev.Conversation.Priority,
			ev.Customer.ID, ev.Customer.Name, ev.Customer.Email, ms(now), ms(now), receivedAt); err != nil {
			return "", "", fmt.Errorf("insert conversation: %w", err)
		}
		c = &bot.Conversation{Key: key, State: bot.StateBot}
	} else if err != nil {
		return "", "", err
	}
	from := c.State
	switch {
	case from == o.State:
		return "unchanged", from, nil
	case !o.Allows(from):
		return "not allowed", from, nil
	}
	if echo := strings.TrimSpace(o.Echo); echo != "" {
		var n int
		// The reply as sent: its text, and an agent's signed with their name
		// on a line of its own (deliver.Text).
		if err := tx.QueryRow(`SELECT COUNT(*) FROM replies WHERE conversation_key = ?1 AND status IN ('queued', 'sent')
			AND (trim(text) = ?2 OR (author = 'agent' AND substr(?2, 1, length(trim(text)) + 4) = trim(text) || char(10, 10) || '— '))`,
			key, echo).Scan(&n); err != nil {
			return "", "", fmt.Errorf("check echo: %w", err)
		}
		if n > 0 {
			return "echo", from, nil
		}
	}
	if err := transition(tx, key, from, o.State, o.Actor, o.Reason, now); err != nil {
		return "", "", err
	}
	switch o.State {
	case bot.StateAgent:
		err = claimEscalation(tx, key, o.Actor, now)
	case bot.StateResolved:
		err = closeEscalation(tx, key, "resolved", now)
	case bot.StateBot:
		if _, err = tx.Exec("UPDATE conversations SET failed_turns = 0 WHERE key = ?", key); err == nil {
			err = closeEscalation(tx, key, "returned", now)
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("update escalation: %w", err)
	}
	return "", from, nil
}
