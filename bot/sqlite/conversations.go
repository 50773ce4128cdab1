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

// HistoryLimit bounds the earlier lines returned with an inbound message.
const HistoryLimit = 10

const convColumns = `key, trigger, external_id, subject, url, customer_id, customer_name, customer_email,
	state, failed_turns, slack_channel, slack_ts, created_at, updated_at, answered, confirm_pending, customer_unverified, pending_choice`

func scanConversation(sc scanner) (*bot.Conversation, error) {
	var c bot.Conversation
	var state, choice string
	var created, updated int64
	if err := sc.Scan(&c.Key, &c.Trigger, &c.ExternalID, &c.Subject, &c.URL, &c.Customer.ID, &c.Customer.Name,
		&c.Customer.Email, &state, &c.FailedTurns, &c.SlackChannel, &c.SlackThreadTS, &created, &updated,
		&c.Answered, &c.ConfirmPending, &c.Customer.Unverified, &choice); err != nil {
		return nil, err
	}
	if choice != "" {
		_ = json.Unmarshal([]byte(choice), &c.Choice) // written by encodeChoice
	}
	c.State = bot.State(state)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}

func getConversation(q *wtx, key string) (*bot.Conversation, error) {
	c, err := scanConversation(q.QueryRow("SELECT "+convColumns+" FROM conversations WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("conversation %q: %w", key, bot.ErrNotFound)
	}
	return c, err
}

// Conversation returns one conversation by key.
func (s *Store) Conversation(ctx context.Context, key string) (*bot.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, "SELECT "+convColumns+" FROM conversations WHERE key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("conversation %q: %w", key, bot.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get conversation: %w", err)
	}
	return c, nil
}

// ListConversations returns conversations, most recently updated first.
func (s *Store) ListConversations(ctx context.Context, f bot.ConversationFilter) ([]*bot.Conversation, error) {
	q := "SELECT " + convColumns + " FROM conversations WHERE 1=1"
	var args []any
	if f.State != "" {
		q += " AND state = ?"
		args = append(args, string(f.State))
	}
	if f.Trigger != "" {
		q += " AND trigger = ?"
		args = append(args, f.Trigger)
	}
	if f.Query != "" {
		like := "%" + strings.NewReplacer("%", `\%`, "_", `\_`, `\`, `\\`).Replace(f.Query) + "%"
		q += ` AND (subject LIKE ? ESCAPE '\' OR customer_name LIKE ? ESCAPE '\' OR customer_email LIKE ? ESCAPE '\' OR external_id LIKE ? ESCAPE '\')`
		args = append(args, like, like, like, like)
	}
	q += " ORDER BY updated_at DESC LIMIT ?"
	args = append(args, limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	var out []*bot.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordInbound records the customer message of an inbox event in its
// conversation (creating it, or reopening it when resolved) and returns what
// the engine needs to decide. It is idempotent: a re-run of the same job
// finds the message already stored.
func (s *Store) RecordInbound(ctx context.Context, inboxID int64, burst time.Duration) (*bot.Inbound, error) {
	now := s.now()
	var in *bot.Inbound
	err := s.write(ctx, func(tx *wtx) error {
		in = &bot.Inbound{}
		var payload []byte
		var receivedAt int64
		if err := tx.QueryRow("SELECT payload, received_at FROM inbox WHERE id = ?", inboxID).Scan(&payload, &receivedAt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return bot.Permanent(fmt.Errorf("inbox %d: %w", inboxID, bot.ErrNotFound))
			}
			return fmt.Errorf("load inbox %d: %w", inboxID, err)
		}
		if err := json.Unmarshal(payload, &in.Event); err != nil {
			return bot.Permanent(fmt.Errorf("decode inbox %d: %w", inboxID, err))
		}
		ev := &in.Event
		key := ev.ConversationKey()
		tags, _ := json.Marshal(ev.Conversation.Tags)
		if ev.Conversation.Tags == nil {
			tags = []byte("[]")
		}
		_, err := tx.Exec(`INSERT INTO conversations (key, trigger, external_id, subject, url, priority, tags,
				customer_id, customer_name, customer_email, state, created_at, updated_at, last_customer_at, customer_unverified)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bot', ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				subject = CASE WHEN excluded.subject != '' THEN excluded.subject ELSE subject END,
				url = CASE WHEN excluded.url != '' THEN excluded.url ELSE url END,
				priority = CASE WHEN excluded.priority != '' THEN excluded.priority ELSE priority END,
				customer_id = CASE WHEN excluded.customer_id != '' THEN excluded.customer_id ELSE customer_id END,
				customer_name = CASE WHEN excluded.customer_name != '' THEN excluded.customer_name ELSE customer_name END,
				customer_email = CASE WHEN excluded.customer_email != '' THEN excluded.customer_email ELSE customer_email END,
				customer_unverified = CASE WHEN excluded.customer_name != '' OR excluded.customer_email != ''
					THEN excluded.customer_unverified ELSE customer_unverified END,
				updated_at = excluded.updated_at,
				last_customer_at = excluded.last_customer_at`,
			key, ev.Trigger, ev.Conversation.ID, ev.Conversation.Subject, ev.Conversation.URL, ev.Conversation.Priority,
			string(tags), ev.Customer.ID, ev.Customer.Name, ev.Customer.Email, ms(now), ms(now), receivedAt, ev.Customer.Unverified)
		if err != nil {
			return fmt.Errorf("upsert conversation: %w", err)
		}
		// Insert the message unless a previous run of this job did.
		err = tx.QueryRow("SELECT id FROM messages WHERE inbox_id = ?", inboxID).Scan(&in.MessageID)
		if errors.Is(err, sql.ErrNoRows) {
			c, err := getConversation(tx, key)
			if err != nil {
				return err
			}
			if c.State == bot.StateResolved {
				if err := transition(tx, key, c.State, bot.StateBot, bot.ActorCustomer, "customer wrote again", now); err != nil {
					return err
				}
				in.Reopened = true
			}
			err = tx.QueryRow(`INSERT INTO messages (conversation_key, inbox_id, external_id, author, text, created_at)
				VALUES (?, ?, ?, 'customer', ?, ?) RETURNING id`,
				key, inboxID, ev.Message.ID, ev.Message.Text, receivedAt).Scan(&in.MessageID)
			if err != nil {
				return fmt.Errorf("insert message: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		c, err := getConversation(tx, key)
		if err != nil {
			return err
		}
		in.Conversation = *c
		if c.State != bot.StateBot {
			// People own it: the message is theirs to answer, not a pending bot turn.
			if _, err := tx.Exec("UPDATE messages SET turn = -1 WHERE id = ? AND turn IS NULL", in.MessageID); err != nil {
				return fmt.Errorf("mark message: %w", err)
			}
			return nil
		}
		// A later message of the same burst is queued: let its job answer the turn.
		var later int
		// CROSS JOIN keeps the lane index (whose WHERE the state terms repeat,
		// so that SQLite may use it) as the outer loop.
		err = tx.QueryRow(`SELECT COUNT(*) FROM jobs j CROSS JOIN inbox i ON i.id = json_extract(j.payload, '$.inbox_id')
			WHERE j.queue_key = ? AND j.state IN ('queued', 'running') AND j.state = 'queued' AND j.kind = 'process'
			  AND i.id > ? AND i.received_at <= ? AND i.type != ?`,
			key+LaneIn, inboxID, receivedAt+burst.Milliseconds(), bot.EventOwnerChanged).Scan(&later)
		if err != nil {
			return fmt.Errorf("check burst: %w", err)
		}
		if later > 0 && burst > 0 {
			in.Deferred = true
			return nil
		}
		rows, err := tx.Query(`SELECT id, external_id, author, agent_name, text, created_at FROM messages
			WHERE conversation_key = ? AND author = 'customer' AND turn IS NULL ORDER BY id`, key)
		if err != nil {
			return fmt.Errorf("pending messages: %w", err)
		}
		in.Pending, err = scanMessages(rows, key)
		if err != nil {
			return err
		}
		var first int64 = 1<<62 - 1
		if len(in.Pending) > 0 {
			first = in.Pending[0].ID
		}
		rows, err = tx.Query(`SELECT id, external_id, author, agent_name, text, created_at FROM (
			SELECT * FROM messages WHERE conversation_key = ? AND id < ? ORDER BY id DESC LIMIT ?) ORDER BY id`,
			key, first, HistoryLimit)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		hist, err := scanMessages(rows, key)
		if err != nil {
			return err
		}
		for _, m := range hist {
			in.History = append(in.History, bot.Turn{Author: m.Author, Text: m.Text})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record inbound: %w", err)
	}
	return in, nil
}

func scanMessages(rows *sql.Rows, key string) ([]bot.Message, error) {
	defer rows.Close()
	var out []bot.Message
	for rows.Next() {
		m := bot.Message{ConversationKey: key}
		var at int64
		if err := rows.Scan(&m.ID, &m.ExternalID, &m.Author, &m.AgentName, &m.Text, &at); err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func transition(tx *wtx, key string, from, to bot.State, actor, reason string, now time.Time) error {
	// A close call the bot asked about is forgotten once the conversation
	// leaves the bot: the customer's next words to the bot are a new turn.
	res, err := tx.Exec(`UPDATE conversations SET state = ?, updated_at = ?,
			pending_choice = CASE WHEN ? = 'bot' THEN pending_choice ELSE '' END
		WHERE key = ? AND state = ?`,
		string(to), ms(now), string(to), key, string(from))
	if err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("conversation %q is not %s: %w", key, from, bot.ErrConflict)
	}
	if _, err := tx.Exec(`INSERT INTO transitions (conversation_key, from_state, to_state, actor, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, key, string(from), string(to), actor, reason, ms(now)); err != nil {
		return fmt.Errorf("insert transition: %w", err)
	}
	tx.changes = append(tx.changes, bot.Transition{ConversationKey: key, From: from, To: to, Actor: actor, Reason: reason, At: now})
	if to == bot.StateEscalated || to == bot.StateAgent || to == bot.StateResolved {
		// One owner: bot answers still queued are not sent once people own
		// the conversation (or it is closed).
		if err := suppressQueuedAnswers(tx, key, now); err != nil {
			return err
		}
	}
	return nil
}

func suppressQueuedAnswers(tx *wtx, key string, now time.Time) error {
	// Only jobs still queued are suppressed here; one already running is
	// checked again by PrepareReply before it sends.
	if _, err := tx.Exec(`UPDATE replies SET status = 'suppressed'
		WHERE conversation_key = ? AND kind = 'answer' AND status = 'queued'
		  AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = replies.job_id AND jobs.state = 'queued')`, key); err != nil {
		return fmt.Errorf("suppress answers: %w", err)
	}
	if _, err := tx.Exec(`UPDATE jobs SET state = 'completed', last_error = 'suppressed: conversation left bot state',
			updated_at = ?, finalized_at = ?
		WHERE state = 'queued' AND id IN (SELECT job_id FROM replies
			WHERE conversation_key = ? AND kind = 'answer' AND status = 'suppressed')`,
		ms(now), ms(now), key); err != nil {
		return fmt.Errorf("suppress answers: %w", err)
	}
	return nil
}

// ApplyDecision stores the decision for a turn and queues its replies and
// escalation, and completes the process job, in one transaction. It returns
// bot.ErrConflict, changing nothing (the job is left to the runner), when the
// conversation left the bot state or the turn was answered meanwhile.
func (s *Store) ApplyDecision(ctx context.Context, o bot.Outcome) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		c, err := getConversation(tx, o.ConversationKey)
		if err != nil {
			return err
		}
		if c.State != bot.StateBot {
			return fmt.Errorf("conversation is %s: %w", c.State, bot.ErrConflict)
		}
		// Claim the turn: every message must still be unanswered.
		var turn int64
		if len(o.MessageIDs) > 0 {
			turn = o.MessageIDs[len(o.MessageIDs)-1]
		}
		for _, id := range o.MessageIDs {
			res, err := tx.Exec("UPDATE messages SET turn = ? WHERE id = ? AND conversation_key = ? AND turn IS NULL", turn, id, o.ConversationKey)
			if err != nil {
				return fmt.Errorf("claim turn: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("message %d already answered: %w", id, bot.ErrConflict)
			}
		}
		dp, _ := json.Marshal(o.Decision)
		if _, err := tx.Exec(`INSERT INTO decisions (conversation_key, turn, action, reason, confidence, source, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.ConversationKey, turn, string(o.Decision.Action), o.Decision.Reason,
			o.Decision.Confidence, o.Decision.Source, dp, ms(now)); err != nil {
			return fmt.Errorf("insert decision: %w", err)
		}
		failed, answered, confirm, choice := 0, o.Answered, o.Confirm, o.Choice
		switch {
		case o.Decision.Action == bot.ActionEscalate || o.Failed:
			failed, answered, confirm, choice = c.FailedTurns+1, false, false, nil
		case o.Act != "" && o.Resolve == "":
			// A greeting or a courtesy is not a turn: it neither fails nor
			// answers, and what the bot last asked still stands.
			failed, answered, confirm, choice = c.FailedTurns, c.Answered, c.ConfirmPending, c.Choice
		}
		if _, err := tx.Exec("UPDATE conversations SET failed_turns = ?, answered = ?, confirm_pending = ?, pending_choice = ?, updated_at = ? WHERE key = ?",
			failed, answered, confirm, encodeChoice(choice), ms(now), o.ConversationKey); err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if o.Escalation != nil {
			if err := transition(tx, o.ConversationKey, bot.StateBot, bot.StateEscalated, bot.ActorBot, o.Decision.Reason, now); err != nil {
				return err
			}
			if err := insertEscalation(tx, o.ConversationKey, *o.Escalation, o.MaxAttempts, now); err != nil {
				return err
			}
		}
		for _, r := range o.Replies {
			if _, err := queueReply(tx, r, o.MaxAttempts, now); err != nil {
				return err
			}
		}
		if o.Resolve != "" && o.Escalation == nil {
			if err := transition(tx, o.ConversationKey, bot.StateBot, bot.StateResolved, bot.ActorCustomer, o.Resolve, now); err != nil {
				return err
			}
		}
		return completeJob(tx, o.JobID, now)
	})
}

func insertEscalation(tx *wtx, key string, e bot.Escalation, maxAttempts int, now time.Time) error {
	ep, _ := json.Marshal(e)
	var id int64
	if err := tx.QueryRow(`INSERT INTO escalations (conversation_key, reason, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		key, e.Reason, ep, ms(now)).Scan(&id); err != nil {
		return fmt.Errorf("insert escalation: %w", err)
	}
	_, err := queueJob(tx, bot.EscalatePayload{EscalationID: id}, key+LaneSlack, maxAttempts, now)
	return err
}

// queueReply stores a reply and its deliver job; the reply's text is also
// added to the transcript.
func queueReply(tx *wtx, r bot.Reply, maxAttempts int, now time.Time) (int64, error) {
	jobID, err := queueJob(tx, bot.DeliverPayload{ReplyID: r.ID}, r.ConversationKey+LaneOut, maxAttempts, now)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(`INSERT INTO replies (id, conversation_key, kind, author, agent_name, text, state, job_id, created_at, options)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.ConversationKey, r.Kind, r.Author, r.AgentName, r.Text,
		string(r.State), jobID, ms(now), encodeOptions(r.Options)); err != nil {
		return 0, fmt.Errorf("insert reply: %w", err)
	}
	if _, err := tx.Exec(`INSERT INTO messages (conversation_key, author, agent_name, text, turn, created_at)
		VALUES (?, ?, ?, ?, 0, ?)`, r.ConversationKey, r.Author, r.AgentName, r.Text, ms(now)); err != nil {
		return 0, fmt.Errorf("insert reply message: %w", err)
	}
	return jobID, nil
}

// QueueMirror queues a job that posts a customer message into the
// conversation's escalation thread, and completes the process job.
func (s *Store) QueueMirror(ctx context.Context, jobID int64, key string, messageID int64, maxAttempts int) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		if _, err := queueJob(tx, bot.MirrorPayload{MessageID: messageID}, key+LaneSlack, maxAttempts, now); err != nil {
			return err
		}
		return completeJob(tx, jobID, now)
	})
}

// PrepareReply returns a stored reply with the conversation's source id, and
// whether it may still be sent. A bot answer whose conversation has left the
// bot state is marked suppressed and not sent. The common case is a read.
func (s *Store) PrepareReply(ctx context.Context, id string) (bot.Reply, bool, error) {
	var r bot.Reply
	var status, state, convState string
	var created int64
	var options string
	err := s.r.QueryRowContext(ctx, `SELECT r.id, r.conversation_key, r.kind, r.author, r.agent_name, r.text, r.state, r.status,
			r.created_at, c.trigger, c.external_id, c.state, r.options
		FROM replies r JOIN conversations c ON c.key = r.conversation_key WHERE r.id = ?`, id).
		Scan(&r.ID, &r.ConversationKey, &r.Kind, &r.Author, &r.AgentName, &r.Text, &state, &status, &created,
			&r.Trigger, &r.ConversationID, &convState, &options)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, bot.Permanent(fmt.Errorf("reply %s: %w", id, bot.ErrNotFound))
	} else if err != nil {
		return r, false, fmt.Errorf("prepare reply: %w", err)
	}
	r.State, r.CreatedAt, r.Options = bot.State(state), fromMS(created), decodeOptions(options)
	switch {
	case status == "suppressed":
		return r, false, nil
	case r.Kind == bot.ReplyAnswer && bot.State(convState) != bot.StateBot:
		// Checked again under the write lock: people own the conversation,
		// so the bot's answer is never sent.
		send := false
		err := s.write(ctx, func(tx *wtx) error {
			var cur string
			if err := tx.QueryRow(`SELECT c.state FROM replies r JOIN conversations c ON c.key = r.conversation_key
				WHERE r.id = ?`, id).Scan(&cur); err != nil {
				return fmt.Errorf("recheck reply: %w", err)
			}
			if send = bot.State(cur) == bot.StateBot; send {
				return nil
			}
			_, err := tx.Exec("UPDATE replies SET status = 'suppressed' WHERE id = ?", id)
			return err
		})
		if err != nil {
			return r, false, fmt.Errorf("suppress reply: %w", err)
		}
		return r, send, nil
	}
	return r, true, nil
}

// MarkReplySent records a delivered reply and completes its job.
func (s *Store) MarkReplySent(ctx context.Context, jobID int64, id string) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		if _, err := tx.Exec("UPDATE replies SET status = 'sent', sent_at = ? WHERE id = ?", ms(now), id); err != nil {
			return fmt.Errorf("mark reply sent: %w", err)
		}
		return completeJob(tx, jobID, now)
	})
}

// Messages returns a conversation's transcript, oldest first.
func (s *Store) Messages(ctx context.Context, key string) ([]bot.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, external_id, author, agent_name, text, created_at FROM messages
		WHERE conversation_key = ? ORDER BY id LIMIT 10000`, key)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return scanMessages(rows, key)
}

// Transitions returns a conversation's state changes, oldest first.
func (s *Store) Transitions(ctx context.Context, key string) ([]bot.Transition, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT from_state, to_state, actor, reason, created_at FROM transitions
		WHERE conversation_key = ? ORDER BY id`, key)
	if err != nil {
		return nil, fmt.Errorf("list transitions: %w", err)
	}
	defer rows.Close()
	var out []bot.Transition
	for rows.Next() {
		t := bot.Transition{ConversationKey: key}
		var from, to string
		var at int64
		if err := rows.Scan(&from, &to, &t.Actor, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("list transitions: %w", err)
		}
		t.From, t.To, t.At = bot.State(from), bot.State(to), fromMS(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Replies returns a conversation's replies, oldest first, with their status.
func (s *Store) Replies(ctx context.Context, key string) ([]bot.StoredReply, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, author, agent_name, text, state, status, created_at, options
		FROM replies WHERE conversation_key = ? ORDER BY created_at, rowid`, key)
	if err != nil {
		return nil, fmt.Errorf("list replies: %w", err)
	}
	defer rows.Close()
	var out []bot.StoredReply
	for rows.Next() {
		r := bot.StoredReply{Reply: bot.Reply{ConversationKey: key}}
		var state, options string
		var at int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.Author, &r.AgentName, &r.Text, &state, &r.Status, &at, &options); err != nil {
			return nil, fmt.Errorf("list replies: %w", err)
		}
		r.State, r.CreatedAt, r.Options = bot.State(state), fromMS(at), decodeOptions(options)
		out = append(out, r)
	}
	return out, rows.Err()
}

const escalationColumns = "id, payload, status, claimed_by, created_at"

func scanEscalation(sc scanner) (bot.StoredEscalation, error) {
	var e bot.StoredEscalation
	var payload []byte
	var created int64
	if err := sc.Scan(&e.ID, &payload, &e.Status, &e.ClaimedBy, &created); err != nil {
		return e, err
	}
	if err := json.Unmarshal(payload, &e.Escalation); err != nil {
		return e, fmt.Errorf("decode escalation %d: %w", e.ID, err)
	}
	e.CreatedAt = fromMS(created)
	return e, nil
}

// Escalation returns an escalation by id.
func (s *Store) Escalation(ctx context.Context, id int64) (bot.StoredEscalation, error) {
	e, err := scanEscalation(s.r.QueryRowContext(ctx, "SELECT "+escalationColumns+" FROM escalations WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("escalation %d: %w", id, bot.ErrNotFound)
	} else if err != nil {
		return e, fmt.Errorf("get escalation: %w", err)
	}
	return e, nil
}

// ListEscalations returns escalations, newest first; status "" lists all.
func (s *Store) ListEscalations(ctx context.Context, status string, n int) ([]bot.StoredEscalation, error) {
	q := "SELECT " + escalationColumns + " FROM escalations"
	var args []any
	if status != "" {
		q += " WHERE status = ?"
		args = append(args, status)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit(n))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list escalations: %w", err)
	}
	defer rows.Close()
	out := []bot.StoredEscalation{}
	for rows.Next() {
		e, err := scanEscalation(rows)
		if err != nil {
			return nil, fmt.Errorf("list escalations: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MarkAnnounced records where an escalation was posted and completes its job.
func (s *Store) MarkAnnounced(ctx context.Context, jobID, escalationID int64, t bot.Thread) error {
	now := s.now()
	return s.writeNotify(ctx, func(tx *wtx) error {
		var key string
		if err := tx.QueryRow("UPDATE escalations SET announced_at = ? WHERE id = ? RETURNING conversation_key",
			ms(now), escalationID).Scan(&key); err != nil {
			return fmt.Errorf("mark announced: %w", err)
		}
		if t.TS != "" {
			if _, err := tx.Exec("UPDATE conversations SET slack_channel = ?, slack_ts = ? WHERE key = ?", t.Channel, t.TS, key); err != nil {
				return fmt.Errorf("store thread: %w", err)
			}
		}
		return completeJob(tx, jobID, now)
	})
}

// Message returns one transcript line by id.
func (s *Store) Message(ctx context.Context, id int64) (bot.Message, error) {
	var m bot.Message
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT id, conversation_key, external_id, author, agent_name, text, created_at
		FROM messages WHERE id = ?`, id).Scan(&m.ID, &m.ConversationKey, &m.ExternalID, &m.Author, &m.AgentName, &m.Text, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("message %d: %w", id, bot.ErrNotFound)
	} else if err != nil {
		return m, fmt.Errorf("get message: %w", err)
	}
	m.At = fromMS(at)
	return m, nil
}

// encodeChoice stores a pending choice as a JSON array, or an empty string
// for none.
func encodeChoice(c []bot.Candidate) string {
	if len(c) == 0 {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// encodeOptions stores a reply's quick replies as a JSON array, or an empty
// string for none.
func encodeOptions(opts []string) string {
	if len(opts) == 0 {
		return ""
	}
	b, _ := json.Marshal(opts)
	return string(b)
}

func decodeOptions(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out) // written by encodeOptions
	return out
}
