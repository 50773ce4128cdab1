package bot

import "time"

// Statuses of an FAQSuggestion. A suggestion is decided once: pending →
// approved (its entry was written to the knowledge base) or rejected.
const (
	SuggestionPending  = "pending"
	SuggestionApproved = "approved"
	SuggestionRejected = "rejected"
)

// FAQSuggestion is an agent's answer proposed as a new FAQ entry ("Save as
// FAQ" in Slack): the customer's question that led to the answer, the answer
// as relayed, and who proposed it. There is at most one per relayed reply.
type FAQSuggestion struct {
	ID              int64  `json:"id"`
	ConversationKey string `json:"conversation_key"`
	// ReplyID is the relayed agent reply the suggestion was made from.
	ReplyID string `json:"reply_id"`
	// Question is the customer's message(s) the answer replied to, oldest
	// first, one per line.
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// AgentName wrote the answer; SuggestedBy clicked Save as FAQ.
	AgentName   string `json:"agent_name,omitempty"`
	SuggestedBy string `json:"suggested_by"`
	Status      string `json:"status"`
	// EntryID is the knowledge-base entry written on approval.
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
