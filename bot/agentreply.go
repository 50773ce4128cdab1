package bot

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxAgentNameLen bounds an agent's display name, in bytes.
const MaxAgentNameLen = 100

// ErrIdempotencyKeyReused means a request carried an idempotency key that an
// earlier, different request used: the first one's result stands, and this
// one is refused rather than answered with a result that is not its own.
var ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")

// AgentReply is an agent's answer written outside Slack: on the dashboard,
// through the admin API or with `supportbot reply`. It follows the rules of
// a Slack thread reply: it claims an escalated conversation for the agent,
// is relayed through the conversation's reply channel, and is refused for a
// conversation the bot owns or that is resolved.
type AgentReply struct {
	ConversationKey string
	// Agent is the agent's display name: the reply's author and, when the
	// reply claims the conversation, the transition's actor.
	Agent string
	Text  string
	// IdempotencyKey, when set, makes the reply once-only: a request that
	// repeats it gets the first request's result and sends nothing.
	IdempotencyKey string
	// Via says where the reply was written ("on the dashboard", "through
	// the admin API"); a claim is stored with the reason "answered " + Via.
	Via string
}

// Validate trims the name and text and reports the first invalid field.
func (a *AgentReply) Validate() error {
	a.Agent, a.Text = strings.TrimSpace(a.Agent), strings.TrimSpace(a.Text)
	switch {
	case strings.TrimSpace(a.ConversationKey) == "":
		return Invalid("conversation", "required")
	case a.Text == "":
		return Invalid("text", "required")
	case len(a.Text) > MaxTextLen:
		return Invalid("text", "longer than %d bytes", MaxTextLen)
	case !utf8.ValidString(a.Text):
		return Invalid("text", "not valid UTF-8")
	case a.Agent == "":
		return Invalid("agent", "required: the name the customer sees")
	case len(a.Agent) > MaxAgentNameLen || !utf8.ValidString(a.Agent) || strings.ContainsAny(a.Agent, "\r\n\x00"):
		return Invalid("agent", "at most %d bytes on one line", MaxAgentNameLen)
	case len(a.IdempotencyKey) > MaxIDLen:
		return Invalid("idempotency_key", "longer than %d bytes", MaxIDLen)
	}
	return nil
}

// AgentReplyResult is what storing an AgentReply did.
type AgentReplyResult struct {
	// Reply is the queued reply; State is the conversation's state after it.
	Reply Reply `json:"reply"`
	// Claimed is set when the reply claimed an escalated conversation.
	Claimed bool `json:"claimed"`
	// Replayed is set when an earlier request with the same idempotency
	// key stored the reply; nothing new was queued.
	Replayed bool `json:"-"`
}
