package bot

import (
	"context"
	"strings"
	"time"
)

// Statuses of an FAQSuggestion. A suggestion is decided once: pending →
// approved (its entry was written to the knowledge base) or rejected.
const (
	SuggestionPending  = "pending"
	SuggestionApproved = "approved"
	SuggestionRejected = "rejected"
)

// Kinds of an FAQSuggestion.
const (
	// SuggestionEntry proposes a new entry: an agent's answer saved with
	// "Save as FAQ", with the customer's question.
	SuggestionEntry = "entry"
	// SuggestionExample proposes Question as one more example phrasing of
	// the existing entry EntryID: a paraphrase written by the language
	// model (`supportbot faq augment`), or a customer's question an agent
	// answered with that entry.
	SuggestionExample = "example"
)

// FAQSuggestion is a proposed change to the knowledge base, reviewed by an
// operator: an agent's answer proposed as a new FAQ entry ("Save as FAQ" in
// Slack; at most one per relayed reply), or a phrasing proposed as an
// example of an existing entry (at most one per phrasing and entry).
type FAQSuggestion struct {
	ID int64 `json:"id"`
	// Kind is SuggestionEntry ("" reads as one) or SuggestionExample.
	Kind string `json:"kind"`
	// ConversationKey and ReplyID are empty for examples the model wrote.
	ConversationKey string `json:"conversation_key,omitempty"`
	// ReplyID is the relayed agent reply the suggestion was made from.
	ReplyID string `json:"reply_id,omitempty"`
	// Question is the customer's message(s) the answer replied to, oldest
	// first, one per line; for an example, the phrasing proposed.
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// AgentName wrote the answer; SuggestedBy clicked Save as FAQ.
	AgentName   string `json:"agent_name,omitempty"`
	SuggestedBy string `json:"suggested_by"`
	Status      string `json:"status"`
	// EntryID is the knowledge-base entry written on approval; for an
	// example, the entry it is an example of, from the start.
	EntryID   string    `json:"entry_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// DecidedAt and DecidedBy are set once approved or rejected.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	DecidedBy string    `json:"decided_by,omitempty"`
}

// ValidSuggestionStatus reports whether s is a known suggestion status.
func ValidSuggestionStatus(s string) bool {
	switch s {
	case SuggestionPending, SuggestionApproved, SuggestionRejected:
		return true
	}
	return false
}

// ExampleKey folds a phrasing for comparison: lower case, runs of white
// space as one space, trimmed. Two phrasings with the same key are the same
// example.
func ExampleKey(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// FAQEntry is a knowledge-base entry as agents' tools show and send it.
type FAQEntry struct {
	ID       string
	Question string
	Answer   string
}

// FAQLearner serves the "Send FAQ answer" choice of agents' tools (Slack,
// the dashboard): it gives the live knowledge base's answer of an entry,
// and learns from its use, the customer's question becoming a suggested
// example phrasing of the entry.
type FAQLearner interface {
	// FAQEntry returns the entry id of the live knowledge base, or an
	// error wrapping ErrNotFound.
	FAQEntry(id string) (FAQEntry, error)
	// LearnExample records the customer's question that the agent reply
	// replyID answered (with entry entryID's answer) as a pending example
	// suggestion of entryID, once per reply; by is the agent. Operators who
	// chose it have it approved at once. ok is false when no question was
	// found to learn.
	LearnExample(ctx context.Context, replyID, entryID, by string) (s FAQSuggestion, ok bool, err error)
}

// AugmentRecord is one entry `supportbot faq augment` asked the model
// about: Hash covers what the request depended on, so that a rerun with
// the entry unchanged skips it.
type AugmentRecord struct {
	Hash             string
	EntryID          string
	Model            string
	Suggested        int // example suggestions stored
	PromptTokens     int
	CompletionTokens int
}
