package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/supportbot/supportbot/bot"
)

// AgentReply stores an agent's answer written outside Slack and queues its
// delivery through the conversation's reply channel, with the rules of a
// Slack thread reply: an escalated conversation is claimed by the agent
// (agent state, the agent as the actor, the escalation marked claimed); one
// an agent already holds takes the reply as it is; a conversation the bot
// owns, or a resolved one, is refused with an error wrapping
// bot.ErrConflict (claim it first). An unknown conversation is
// bot.ErrNotFound, an invalid reply a *bot.ValidationError.
//
// When the conversation has a Slack thread, the reply is mirrored there
// too, so that agents in Slack do not answer a second time.
//
// With an idempotency key the reply is stored once: the same key again
// returns the first result with Replayed set and queues nothing; the same
// key with another conversation, agent or text is
// bot.ErrIdempotencyKeyReused.
func (s *Store) AgentReply(ctx context.Context, a bot.AgentReply) (bot.AgentReplyResult, error) {
	if err := a.Validate(); err != nil {
		return bot.AgentReplyResult{}, err
	}
	now := s.now()
	hash := agentReplyHash(a)
	id := newAgentReplyID()
	var res bot.AgentReplyResult
	err := s.writeNotify(ctx, func(tx *wtx) error {
		res = bot.AgentReplyResult{}
		if a.IdempotencyKey != "" {
			found, err := agentReplyByKey(tx, a, hash, &res)
			if err != nil || found {
				return err
			}
		}
		c, err := getConversation(tx, a.ConversationKey)
		if err != nil {
			return err
		}
		r := bot.Reply{
			ID: id, Trigger: c.Trigger, ConversationKey: c.Key, ConversationID: c.ExternalID,
			Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: a.Agent, Text: a.Text,
			State: c.State, CreatedAt: now.UTC(),
		}
		switch c.State {
		case bot.StateEscalated:
			reason := "answered"
			if a.Via != "" {
				reason += " " + a.Via
			}
			if err := transition(tx, c.Key, c.State, bot.StateAgent, a.Agent, reason, now); err != nil {
				return err
			}
			if err := claimEscalation(tx, c.Key, a.Agent, now); err != nil {
				return err
			}
			r.State, res.Claimed = bot.StateAgent, true
		case bot.StateAgent:
		default:
			return fmt.Errorf("conversation is %s: claim it before replying: %w", c.State, bot.ErrConflict)
		}
		if _, err := queueReply(tx, r, 0, now); err != nil {
			return err
		}
		if c.SlackThreadTS != "" {
			// Agents in the Slack thread see that the customer was
			// answered elsewhere, as they see the customer's follow-ups.
			var msgID int64
			if err := tx.QueryRow(`SELECT id FROM messages WHERE conversation_key = ? AND author = 'agent'
				ORDER BY id DESC LIMIT 1`, c.Key).Scan(&msgID); err != nil {
				return fmt.Errorf("find reply message: %w", err)
			}
			if _, err := queueJob(tx, bot.MirrorPayload{MessageID: msgID}, c.Key+LaneSlack, 0, now); err != nil {
				return err
			}
		}
		if a.IdempotencyKey != "" {
			if _, err := tx.Exec(`INSERT INTO agent_replies (idempotency_key, request_hash, conversation_key, reply_id, state, claimed, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, a.IdempotencyKey, hash, c.Key, r.ID, string(r.State), res.Claimed, ms(now)); err != nil {
				return fmt.Errorf("store idempotency key: %w", err)
			}
		}
		res.Reply = r
		return nil
	})
	if err != nil {
		return bot.AgentReplyResult{}, fmt.Errorf("agent reply: %w", err)
	}
	return res, nil
}

// agentReplyByKey fills res with the result stored under a's idempotency
// key, if there is one.
func agentReplyByKey(tx *wtx, a bot.AgentReply, hash string, res *bot.AgentReplyResult) (bool, error) {
	var storedHash, key, replyID, state string
	var created int64
	err := tx.QueryRow(`SELECT request_hash, conversation_key, reply_id, state, claimed, created_at
		FROM agent_replies WHERE idempotency_key = ?`, a.IdempotencyKey).
		Scan(&storedHash, &key, &replyID, &state, &res.Claimed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("find idempotency key: %w", err)
	}
	if storedHash != hash {
		return false, bot.ErrIdempotencyKeyReused
	}
	res.Replayed = true
	res.Reply = bot.Reply{
		ID: replyID, ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent,
		AgentName: a.Agent, Text: a.Text, State: bot.State(state), CreatedAt: fromMS(created),
	}
	// The source's ids complete the reply; the key names the conversation.
	_ = tx.QueryRow("SELECT trigger, external_id FROM conversations WHERE key = ?", key).
		Scan(&res.Reply.Trigger, &res.Reply.ConversationID)
	return true, nil
}

// agentReplyHash identifies a request: the same key must come with the
// same conversation, agent and text. The parts are length-prefixed so that
// no two requests hash alike by moving bytes between them.
func agentReplyHash(a bot.AgentReply) string {
	h := sha256.New()
	for _, p := range []string{a.ConversationKey, a.Agent, a.Text} {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newAgentReplyID returns a new reply id (sent as the reply's idempotency
// key to the reply channel).
func newAgentReplyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "rpl_" + hex.EncodeToString(b)
}
