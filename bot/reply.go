package bot

import (
	"context"
	"time"
)

// Reply kinds.
const (
	ReplyAnswer  = "answer"  // the bot's answer from the FAQ
	ReplyHandoff = "handoff" // "a person from our team will reply here"
	ReplyAgent   = "agent"   // a human agent's answer relayed from Slack
	ReplyNotice  = "notice"  // an operational notice (e.g. expected wait)
	ReplyClosing = "closing" // the bot's last line to a conversation the customer closed ("glad I could help")
)

// Reply is one outbound message to a customer. Its ID is stable across
// retries and is sent as the idempotency key (webhook-id).
type Reply struct {
	ID              string    `json:"id"`
	Trigger         string    `json:"trigger"`
	ConversationKey string    `json:"conversation_key"`
	ConversationID  string    `json:"conversation_id"` // the source's id
	Kind            string    `json:"kind"`
	Author          string    `json:"author"` // bot | agent
	AgentName       string    `json:"agent_name,omitempty"`
	Text            string    `json:"text"`
	State           State     `json:"state"` // the conversation's state after the reply
	CreatedAt       time.Time `json:"created_at"`

	// Options are quick replies the customer may pick instead of typing
	// (e.g. "Yes", "No" under "Did that answer your question?"); a channel
	// that cannot show buttons sends the text alone.
	Options []string `json:"options,omitempty"`
}

// Deliverer sends a reply to the customer through a reply channel.
// Errors follow the job error classes: Permanent for a refusal that a retry
// cannot fix (4xx, 410 Gone, a blocked address), RetryAfter for 429/503.
type Deliverer interface {
	Deliver(ctx context.Context, r Reply) error
}

// DelivererFunc adapts a function to Deliverer.
type DelivererFunc func(ctx context.Context, r Reply) error

// Deliver calls f.
func (f DelivererFunc) Deliver(ctx context.Context, r Reply) error { return f(ctx, r) }

// Escalation is a hand-off packet for human agents.
type Escalation struct {
	ConversationKey string      `json:"conversation_key"`
	Trigger         string      `json:"trigger"`
	ConversationID  string      `json:"conversation_id"`
	Subject         string      `json:"subject,omitempty"`
	URL             string      `json:"url,omitempty"`
	Customer        Customer    `json:"customer"`
	Reason          string      `json:"reason"`
	Detail          string      `json:"detail,omitempty"`
	Summary         string      `json:"summary,omitempty"`
	Candidates      []Candidate `json:"candidates,omitempty"`
	Draft           string      `json:"draft,omitempty"`
	Recent          []Turn      `json:"recent,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`

	// Rejected is the bot answer the customer said did not help (reason
	// answer_rejected).
	Rejected string `json:"rejected,omitempty"`
}

// Thread locates an escalation's thread at the agents' side.
type Thread struct {
	Channel string
	TS      string
}

// Escalator announces escalations to human agents and mirrors customer
// follow-ups into the thread. Errors follow the job error classes.
type Escalator interface {
	Escalate(ctx context.Context, e Escalation) (Thread, error)
	Mirror(ctx context.Context, t Thread, m Turn) error
}

// StoredReply is a reply with its delivery status
// (queued, sent, suppressed, failed).
type StoredReply struct {
	Reply
	Status string `json:"status"`
}

// StoredEscalation is an escalation with its id and status
// (open, claimed, resolved, returned).
type StoredEscalation struct {
	Escalation
	ID        int64     `json:"id"`
	Status    string    `json:"status"`
	ClaimedBy string    `json:"claimed_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Clip shortens s to at most n bytes, cut at a rune boundary, with "…"
// appended when it was cut: for texts shown to people or stored in logs.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not the first byte of a rune
		n--
	}
	return s[:n] + "…"
}
