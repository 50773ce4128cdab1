package bot

import (
	"strings"
	"time"
)

// Event types accepted by the intake.
const (
	EventTicketCreated  = "ticket.created"
	EventMessageCreated = "message.created"
)

// Event is one inbound webhook, normalised by a trigger into the native
// format whatever the source.
type Event struct {
	// Trigger is the name of the trigger that received the event.
	Trigger string `json:"trigger"`
	// ID is the source's event id (the webhook-id, a delivery id, or one
	// derived from the payload); (Trigger, ID) is unique in the inbox.
	ID   string `json:"id"`
	Type string `json:"type"`

	Conversation ConversationRef `json:"conversation"`
	Customer     Customer        `json:"customer"`
	Message      MessageRef      `json:"message"`

	// ReceivedAt is when the intake accepted the event (UTC).
	ReceivedAt time.Time `json:"received_at"`
}

// ConversationRef identifies a conversation at the source.
type ConversationRef struct {
	ID       string   `json:"id"`
	Subject  string   `json:"subject,omitempty"`
	URL      string   `json:"url,omitempty"`
	Priority string   `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// Customer is the person writing in.
type Customer struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Unverified: Name and Email are the customer's own word (a web chat
	// visitor typed them), not an identity a helpdesk vouches for; agents
	// are shown so.
	Unverified bool `json:"unverified,omitempty"`
}

// MessageRef is the customer's message carried by an event.
type MessageRef struct {
	ID   string `json:"id,omitempty"`
	Text string `json:"text"`
}

// Limits on normalised fields; longer values are a validation error.
const (
	MaxIDLen   = 256
	MaxTextLen = 32 << 10
)

// Validate reports the first field of e that is missing or invalid, as a
// *ValidationError naming the field.
func (e *Event) Validate() error {
	switch {
	case e.Type != EventTicketCreated && e.Type != EventMessageCreated:
		return Invalid("type", "must be %q or %q", EventTicketCreated, EventMessageCreated)
	case strings.TrimSpace(e.Conversation.ID) == "":
		return Invalid("conversation.id", "required")
	case len(e.Conversation.ID) > MaxIDLen:
		return Invalid("conversation.id", "longer than %d bytes", MaxIDLen)
	case strings.TrimSpace(e.Message.Text) == "":
		return Invalid("message.text", "required")
	case len(e.Message.Text) > MaxTextLen:
		return Invalid("message.text", "longer than %d bytes", MaxTextLen)
	case len(e.ID) > MaxIDLen:
		return Invalid("id", "longer than %d bytes", MaxIDLen)
	case len(e.Message.ID) > MaxIDLen:
		return Invalid("message.id", "longer than %d bytes", MaxIDLen)
	}
	return nil
}

// ConversationKey is the store's key of a conversation: the trigger name and
// the source's conversation id, so that two sources never share one.
func (e *Event) ConversationKey() string {
	return e.Trigger + "/" + e.Conversation.ID
}
