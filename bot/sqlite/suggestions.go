package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Bounds of the question SuggestionSource takes from a transcript.
const (
	// maxQuestionMessages is how many customer messages one question joins.
	maxQuestionMessages = 5
	// maxQuestionLen caps the joined question, in bytes.
	maxQuestionLen = 4000
	// questionWindow is how many transcript lines before the answer are read.
	questionWindow = 50
)

const suggestionColumns = `id, kind, coalesce(conversation_key, ''), coalesce(reply_id, ''), question, answer, agent_name, suggested_by, status,
	entry_id, created_at, decided_at, decided_by`

func scanSuggestion(sc scanner) (bot.FAQSuggestion, error) {
	var s bot.FAQSuggestion
	var created int64
	var decided sql.NullInt64
	err := sc.Scan(&s.ID, &s.Kind, &s.ConversationKey, &s.ReplyID, &s.Question, &s.Answer, &s.AgentName, &s.SuggestedBy,
		&s.Status, &s.EntryID, &created, &decided, &s.DecidedBy)
	if err != nil {
		return s, err
	}
	s.CreatedAt = fromMS(created)
	if decided.Valid {
		s.DecidedAt = fromMS(decided.Int64)
	}
	return s, nil
}

// SuggestionSource prepares a suggestion from a relayed agent reply: the
// reply's text as the answer, and as the question the customer messages it
// answered. Those are found by walking the transcript back from the reply:
// earlier agent lines are skipped until a customer message is found, then
// customer messages are collected (the hand-off and other notices in
// between skipped) up to the previous agent line or bot answer, at most
// maxQuestionMessages of them. It returns bot.ErrNotFound for an unknown
// reply and a *bot.ValidationError for one that is not an agent's.
// SuggestedBy is left for the caller to fill in.
func (s *Store) SuggestionSource(ctx context.Context, replyID string) (bot.FAQSuggestion, error) {
	sg := bot.FAQSuggestion{ReplyID: replyID}
	var author string
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT conversation_key, author, agent_name, text, created_at FROM replies WHERE id = ?`, replyID).
		Scan(&sg.ConversationKey, &author, &sg.AgentName, &sg.Answer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return sg, fmt.Errorf("reply %q: %w", replyID, bot.ErrNotFound)
	} else if err != nil {
		return sg, fmt.Errorf("suggestion source: %w", err)
	}
	if author != bot.AuthorAgent {
		return sg, fmt.Errorf("suggestion source: %w", bot.Invalid("reply_id", "%q is not an agent's reply", replyID))
	}
	// The reply's transcript line was written in the same transaction, with
	// the same time and text (queueReply).
	var at int64 = 1<<62 - 1
	err = s.r.QueryRowContext(ctx, `SELECT id FROM messages WHERE conversation_key = ? AND author = 'agent'
		AND agent_name = ? AND text = ? AND created_at = ? ORDER BY id DESC LIMIT 1`,
		sg.ConversationKey, sg.AgentName, sg.Answer, created).Scan(&at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return sg, fmt.Errorf("suggestion source: find answer: %w", err)
	}
	// A bot line's reply kind tells an answer (which ends a question) from
	// the hand-off or a notice (which do not).
	rows, err := s.r.QueryContext(ctx, `SELECT m.author, m.text,
			CASE WHEN m.author = 'bot' THEN (SELECT r.kind FROM replies r WHERE r.conversation_key = m.conversation_key
				AND r.author = 'bot' AND r.text = m.text AND r.created_at = m.created_at LIMIT 1) END
		FROM messages m WHERE m.conversation_key = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`,
		sg.ConversationKey, at, questionWindow)
	if err != nil {
		return sg, fmt.Errorf("suggestion source: transcript: %w", err)
	}
	defer rows.Close()
	var question []string // newest first
	size := 0
walk:
	for rows.Next() {
		var author, text string
		var kind sql.NullString
		if err := rows.Scan(&author, &text, &kind); err != nil {
			return sg, fmt.Errorf("suggestion source: transcript: %w", err)
		}
		switch author {
		case bot.AuthorCustomer:
			text = strings.TrimSpace(text)
			if text == "" {
				continue
			}
			if len(question) > 0 && size+len(text)+1 > maxQuestionLen {
				break walk
			}
			question = append(question, text)
			size += len(text) + 1
			if len(question) == maxQuestionMessages {
				break walk
			}
		case bot.AuthorAgent:
			if len(question) > 0 {
				break walk // an earlier answer: what came before it was answered
			}
		case bot.AuthorBot:
			if kind.String == bot.ReplyAnswer {
				break walk
			}
		}
	}
	if err := rows.Err(); err != nil {
		return sg, fmt.Errorf("suggestion source: transcript: %w", err)
	}
	slices.Reverse(question)
	sg.Question = strings.Join(question, "\n")
	if len(sg.Question) > maxQuestionLen {
		sg.Question = strings.ToValidUTF8(sg.Question[:maxQuestionLen], "")
	}
	return sg, nil
}

// SuggestFAQ records a suggestion as pending, once per reply: a second call
// for the same ReplyID (a double click) stores nothing and returns the first
// suggestion's id with created false. ReplyID, ConversationKey, Question,
// Answer and SuggestedBy are required (*bot.ValidationError otherwise).
func (s *Store) SuggestFAQ(ctx context.Context, sg bot.FAQSuggestion) (id int64, created bool, err error) {
	for _, f := range []struct{ name, v string }{
		{"reply_id", sg.ReplyID}, {"conversation_key", sg.ConversationKey},
		{"question", sg.Question}, {"answer", sg.Answer}, {"suggested_by", sg.SuggestedBy},
	} {
		if strings.TrimSpace(f.v) == "" {
			return 0, false, fmt.Errorf("suggest faq: %w", bot.Invalid(f.name, "required"))
		}
	}
	now := s.now()
	err = s.write(ctx, func(tx *wtx) error {
		created = false
		err := tx.QueryRow(`INSERT INTO faq_suggestions (conversation_key, reply_id, question, answer, agent_name,
				suggested_by, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (reply_id) DO NOTHING RETURNING id`,
			sg.ConversationKey, sg.ReplyID, sg.Question, sg.Answer, sg.AgentName, sg.SuggestedBy, ms(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.QueryRow("SELECT id FROM faq_suggestions WHERE reply_id = ?", sg.ReplyID).Scan(&id); err != nil {
				return fmt.Errorf("find suggestion: %w", err)
			}
			return nil
		} else if err != nil {
			return fmt.Errorf("insert suggestion: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("suggest faq: %w", err)
	}
	return id, created, nil
}

// Suggestion returns one suggestion by id, or bot.ErrNotFound.
func (s *Store) Suggestion(ctx context.Context, id int64) (bot.FAQSuggestion, error) {
	sg, err := scanSuggestion(s.r.QueryRowContext(ctx, "SELECT "+suggestionColumns+" FROM faq_suggestions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return sg, fmt.Errorf("suggestion %d: %w", id, bot.ErrNotFound)
	} else if err != nil {
		return sg, fmt.Errorf("get suggestion: %w", err)
	}
	return sg, nil
}

// ListSuggestions returns suggestions with status ("" for all), newest
// first, at most limit (default 100, at most 1000). An unknown status is a
// *bot.ValidationError.
func (s *Store) ListSuggestions(ctx context.Context, status string, n int) ([]bot.FAQSuggestion, error) {
	q := "SELECT " + suggestionColumns + " FROM faq_suggestions"
	var args []any
	if status != "" {
		if !bot.ValidSuggestionStatus(status) {
			return nil, fmt.Errorf("list suggestions: %w", bot.Invalid("status", "must be %q, %q or %q",
				bot.SuggestionPending, bot.SuggestionApproved, bot.SuggestionRejected))
		}
		q += " WHERE status = ?"
		args = append(args, status)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit(n))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list suggestions: %w", err)
	}
	defer rows.Close()
	var out []bot.FAQSuggestion
	for rows.Next() {
		sg, err := scanSuggestion(rows)
		if err != nil {
			return nil, fmt.Errorf("list suggestions: %w", err)
		}
		out = append(out, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list suggestions: %w", err)
	}
	return out, nil
}

// DecideSuggestion approves (with the id of the knowledge-base entry that
// was written) or rejects a pending suggestion, on behalf of by. It returns
// bot.ErrNotFound for an unknown id, an error wrapping bot.ErrConflict when
// the suggestion was decided before, and a *bot.ValidationError when by, or
// entryID on approval, is empty.
func (s *Store) DecideSuggestion(ctx context.Context, id int64, approve bool, by, entryID string) error {
	status := bot.SuggestionRejected
	if approve {
		status = bot.SuggestionApproved
		if strings.TrimSpace(entryID) == "" {
			return fmt.Errorf("decide suggestion: %w", bot.Invalid("entry_id", "required to approve"))
		}
	} else {
		entryID = ""
	}
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("decide suggestion: %w", bot.Invalid("decided_by", "required"))
	}
	now := s.now()
	err := s.write(ctx, func(tx *wtx) error {
		// An example keeps the entry it was proposed for, even rejected:
		// the phrasing is then not proposed for it again.
		res, err := tx.Exec(`UPDATE faq_suggestions SET status = ?,
				entry_id = CASE WHEN kind = 'example' THEN entry_id ELSE ? END, decided_at = ?, decided_by = ?
			WHERE id = ? AND status = 'pending'`, status, entryID, ms(now), by, id)
		if err != nil {
			return fmt.Errorf("update suggestion: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var cur string
		err = tx.QueryRow("SELECT status FROM faq_suggestions WHERE id = ?", id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("suggestion %d: %w", id, bot.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("find suggestion: %w", err)
		}
		return fmt.Errorf("suggestion %d is already %s: %w", id, cur, bot.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("decide suggestion: %w", err)
	}
	return nil
}

// maxExampleLen caps a suggested example phrasing, in bytes.
const maxExampleLen = 4000

// SuggestExamples records example suggestions (Kind is set to
// bot.SuggestionExample) as pending, in one transaction, and returns the
// stored ones' ids, in order, with created false for each that was there
// already: a phrasing suggested before for the same entry (case and spaces
// aside, whatever its status), or the same ReplyID (a retried job). EntryID,
// Question and SuggestedBy are required (*bot.ValidationError otherwise).
func (s *Store) SuggestExamples(ctx context.Context, list []bot.FAQSuggestion) (ids []int64, created []bool, err error) {
	for i := range list {
		sg := &list[i]
		sg.Question = strings.TrimSpace(sg.Question)
		for _, f := range []struct{ name, v string }{
			{"entry_id", sg.EntryID}, {"question", sg.Question}, {"suggested_by", sg.SuggestedBy},
		} {
			if strings.TrimSpace(f.v) == "" {
				return nil, nil, fmt.Errorf("suggest examples: %w", bot.Invalid(f.name, "required"))
			}
		}
		if len(sg.Question) > maxExampleLen {
			return nil, nil, fmt.Errorf("suggest examples: %w", bot.Invalid("question", "longer than %d bytes", maxExampleLen))
		}
	}
	now := s.now()
	err = s.write(ctx, func(tx *wtx) error {
		ids, created = make([]int64, len(list)), make([]bool, len(list))
		for i, sg := range list {
			id, ok, err := insertExample(tx, sg, now)
			if err != nil {
				return err
			}
			ids[i], created[i] = id, ok
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("suggest examples: %w", err)
	}
	return ids, created, nil
}

func insertExample(tx *wtx, sg bot.FAQSuggestion, now time.Time) (int64, bool, error) {
	key := bot.ExampleKey(sg.Question)
	var id int64
	err := tx.QueryRow(`INSERT INTO faq_suggestions (kind, conversation_key, reply_id, question, answer, agent_name,
			suggested_by, status, entry_id, example_key, created_at)
		VALUES ('example', nullif(?, ''), nullif(?, ''), ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		sg.ConversationKey, sg.ReplyID, sg.Question, sg.Answer, sg.AgentName, sg.SuggestedBy, sg.EntryID, key, ms(now)).Scan(&id)
	if err == nil {
		return id, true, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("insert example: %w", err)
	}
	err = tx.QueryRow(`SELECT id FROM faq_suggestions WHERE (reply_id = nullif(?, ''))
		OR (kind = 'example' AND entry_id = ? AND example_key = ?) ORDER BY id LIMIT 1`, sg.ReplyID, sg.EntryID, key).Scan(&id)
	if err != nil {
		return 0, false, fmt.Errorf("find example: %w", err)
	}
	return id, false, nil
}

// PendingExamples returns the pending example suggestions, oldest first:
// of entryID, or of every entry when it is "".
func (s *Store) PendingExamples(ctx context.Context, entryID string) ([]bot.FAQSuggestion, error) {
	q := "SELECT " + suggestionColumns + " FROM faq_suggestions WHERE kind = 'example' AND status = 'pending'"
	var args []any
	if entryID != "" {
		q += " AND entry_id = ?"
		args = append(args, entryID)
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("pending examples: %w", err)
	}
	defer rows.Close()
	var out []bot.FAQSuggestion
	for rows.Next() {
		sg, err := scanSuggestion(rows)
		if err != nil {
			return nil, fmt.Errorf("pending examples: %w", err)
		}
		out = append(out, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending examples: %w", err)
	}
	return out, nil
}

// AugmentDone reports whether an augment request with this hash was made
// and recorded (see SaveAugment).
func (s *Store) AugmentDone(ctx context.Context, hash string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM faq_augments WHERE hash = ?", hash).Scan(&n); err != nil {
		return false, fmt.Errorf("augment done: %w", err)
	}
	return n > 0, nil
}

// SaveAugment stores the example suggestions one augment request produced
// and records the request (rec.Suggested set to the number stored anew), in
// one transaction, so that a rerun neither asks again nor loses them. It
// returns how many suggestions were new.
func (s *Store) SaveAugment(ctx context.Context, rec bot.AugmentRecord, list []bot.FAQSuggestion) (int, error) {
	for i := range list {
		list[i].Question = strings.TrimSpace(list[i].Question)
		if list[i].EntryID == "" || list[i].Question == "" || list[i].SuggestedBy == "" || len(list[i].Question) > maxExampleLen {
			return 0, fmt.Errorf("save augment: %w", bot.Invalid("question", "entry_id, question (at most %d bytes) and suggested_by are required", maxExampleLen))
		}
	}
	now := s.now()
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		n = 0
		for _, sg := range list {
			_, created, err := insertExample(tx, sg, now)
			if err != nil {
				return err
			}
			if created {
				n++
			}
		}
		_, err := tx.Exec(`INSERT INTO faq_augments (hash, entry_id, model, suggested, prompt_tokens, completion_tokens, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
			rec.Hash, rec.EntryID, rec.Model, n, rec.PromptTokens, rec.CompletionTokens, ms(now))
		if err != nil {
			return fmt.Errorf("record augment: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save augment: %w", err)
	}
	return n, nil
}

// LearnExample records, as a pending example suggestion of entryID, the
// customer's question (see SuggestionSource) that the agent reply replyID
// answered; by is who sent it. Once per reply: a retried call finds the
// stored suggestion, and so does a call for a reply already suggested as
// an FAQ entry (SuggestFAQ): one suggestion per reply, whatever its kind. ok is false, and nothing is stored, when no customer
// question comes before the reply. Errors are SuggestionSource's and
// SuggestExamples'.
func (s *Store) LearnExample(ctx context.Context, replyID, entryID, by string) (sg bot.FAQSuggestion, ok bool, err error) {
	sg, err = s.SuggestionSource(ctx, replyID)
	if err != nil {
		return sg, false, fmt.Errorf("learn example: %w", err)
	}
	if strings.TrimSpace(sg.Question) == "" {
		return sg, false, nil
	}
	sg.Kind, sg.EntryID, sg.SuggestedBy = bot.SuggestionExample, entryID, by
	ids, _, err := s.SuggestExamples(ctx, []bot.FAQSuggestion{sg})
	if err != nil {
		return sg, false, fmt.Errorf("learn example: %w", err)
	}
	if sg, err = s.Suggestion(ctx, ids[0]); err != nil {
		return sg, false, fmt.Errorf("learn example: %w", err)
	}
	return sg, true, nil
}
