package sqlite

import (
	"context"
	"fmt"

	"github.com/supportbot/supportbot/bot"
)

// MaxSentReplies caps one SentReplies answer.
const MaxSentReplies = 500

// SentReplies returns the delivered replies of conversation key (status
// sent), in the order they were queued, that come after the reply afterID:
// what a web chat visitor missed while disconnected. With afterID "" or an id
// that is not one of the conversation's replies it starts at the first. At
// most n are returned (n <= 0 or over MaxSentReplies: MaxSentReplies).
func (s *Store) SentReplies(ctx context.Context, key, afterID string, n int) ([]bot.StoredReply, error) {
	if n <= 0 || n > MaxSentReplies {
		n = MaxSentReplies
	}
	// rowid is the queue order: replies of one conversation are queued and
	// delivered one at a time, in that order.
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, author, agent_name, text, state, status, created_at, options
		FROM replies
		WHERE conversation_key = ? AND status = 'sent'
		  AND rowid > COALESCE((SELECT rowid FROM replies WHERE id = ? AND conversation_key = ?), 0)
		ORDER BY rowid LIMIT ?`, key, afterID, key, n)
	if err != nil {
		return nil, fmt.Errorf("sent replies: %w", err)
	}
	defer rows.Close()
	var out []bot.StoredReply
	for rows.Next() {
		r := bot.StoredReply{Reply: bot.Reply{ConversationKey: key}}
		var state, options string
		var at int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.Author, &r.AgentName, &r.Text, &state, &r.Status, &at, &options); err != nil {
			return nil, fmt.Errorf("sent replies: %w", err)
		}
		r.State, r.CreatedAt, r.Options = bot.State(state), fromMS(at), decodeOptions(options)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sent replies: %w", err)
	}
	return out, nil
}
