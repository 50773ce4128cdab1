package bot

import (
	"strings"
	"time"
)

// Event types accepted by the intake.
const (
	EventTicketCreated  = "ticket.created"
	EventMessageCreated = "message.created"
	// EventOwnerChanged carries only an ownership signal from a helpdesk
	// (a person took, solved or handed back the conversation there), no
	// customer text. Only helpdesk adapters produce it.
	EventOwnerChanged = "conversation.owner_changed"
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
	// Owner is the helpdesk's word on who owns the conversation, when the
	// payload says: applied before the message (if any) is recorded.
	Owner *OwnerChange `json:"owner,omitempty"`

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
// *ValidationError naming the field. An EventOwnerChanged needs an owner
// and no text; the other types need the customer's text.
func (e *Event) Validate() error {
	if e.Owner != nil {
		if err := e.Owner.Validate(); err != nil {
			return err
		}
	}
	if e.Type == EventOwnerChanged {
		if e.Owner == nil {
			return Invalid("owner", "required for %s", EventOwnerChanged)
		}
		return e.validateRefs()
	}
	switch {
	case e.Type != EventTicketCreated && e.Type != EventMessageCreated:
		return Invalid("type", "must be %q or %q", EventTicketCreated, EventMessageCreated)
	case strings.TrimSpace(e.Message.Text) == "":
		return Invalid("message.text", "required")
	}
	return e.validateRefs()
}

func (e *Event) validateRefs() error {
	switch {
	case strings.TrimSpace(e.Conversation.ID) == "":
		return Invalid("conversation.id", "required")
	case len(e.Conversation.ID) > MaxIDLen:
		return Invalid("conversation.id", "longer than %d bytes", MaxIDLen)
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

// Reasons of the transitions a helpdesk makes.
const (
	ReasonHelpdeskAssigned   = "helpdesk_assigned"   // a person was assigned there
	ReasonHelpdeskReplied    = "helpdesk_replied"    // a person replied there
	ReasonHelpdeskOpened     = "helpdesk_opened"     // moved from the bot's queue to the people's there, no one assigned yet
	ReasonHelpdeskResolved   = "helpdesk_resolved"   // solved or closed there
	ReasonHelpdeskReturned   = "helpdesk_returned"   // put back in the bot's queue there (Chatwoot: status pending)
	ReasonHelpdeskUnassigned = "helpdesk_unassigned" // the person let go of it, or the helpdesk shows it in the bot's queue
)

// OwnerChange is a helpdesk's ownership signal: who owns the conversation
// now, according to the helpdesk, and who said so.
//
// State is StateAgent (a person was assigned or replied in the helpdesk),
// StateResolved (solved or closed there) or StateBot (handed back there).
// Actor names the vendor, and the person where the payload does:
// "zendesk", "chatwoot:Grace Hopper". Echo, when set, is the text a person
// wrote in the helpdesk: a signal whose Echo is a reply the bot itself
// sent (some vendors show the bot's replies as a person's) is not applied.
type OwnerChange struct {
	State  State  `json:"state"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	Echo   string `json:"echo,omitempty"`
}

// Allows reports whether the signal may move a conversation from state
// from. The reason narrows what bot.State.CanHelpdeskTransition allows:
//   - ReasonHelpdeskOpened takes only a conversation the bot is answering:
//     one opened without an assignee after the bot's own hand-off
//     (escalated) still waits for a person, and a resolved one reopens when
//     its customer writes again;
//   - ReasonHelpdeskUnassigned returns only what a person held (agent): an
//     escalated conversation is unassigned until someone claims it, and a
//     helpdesk that shows the bot's queue in a message's snapshot may not
//     have seen the bot's hand-off yet;
//   - the other reasons allow every transition a helpdesk may make.
func (o *OwnerChange) Allows(from State) bool {
	if !from.CanHelpdeskTransition(o.State) {
		return false
	}
	switch o.Reason {
	case ReasonHelpdeskOpened:
		return from == StateBot
	case ReasonHelpdeskUnassigned:
		return from == StateAgent
	}
	return true
}

// Validate reports whether o names a state a helpdesk may set, an actor
// and a reason.
func (o *OwnerChange) Validate() error {
	switch {
	case o.State != StateAgent && o.State != StateResolved && o.State != StateBot:
		return Invalid("owner.state", "must be %q, %q or %q", StateAgent, StateResolved, StateBot)
	case strings.TrimSpace(o.Actor) == "":
		return Invalid("owner.actor", "required")
	case len(o.Actor) > MaxIDLen:
		return Invalid("owner.actor", "longer than %d bytes", MaxIDLen)
	case strings.TrimSpace(o.Reason) == "":
		return Invalid("owner.reason", "required")
	case len(o.Echo) > MaxTextLen:
		return Invalid("owner.echo", "longer than %d bytes", MaxTextLen)
	}
	return nil
}
