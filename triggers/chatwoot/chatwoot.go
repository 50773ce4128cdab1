// Package chatwoot is the trigger for Chatwoot agent-bot and account
// webhooks: the signature of Chatwoot's PR 13573 (X-Chatwoot-Signature:
// sha256=hex HMAC-SHA256 of "{X-Chatwoot-Timestamp}.{body}", checked within
// the replay window), and message_created events of incoming, public
// messages normalised into a bot.Event. Everything else, our own outgoing
// replies included, is acknowledged and ignored, so the bot never answers
// itself. A trigger without a secret accepts unsigned webhooks (Chatwoot
// sends no signature then) and so must restrict its callers with allow_ips:
// New refuses it otherwise, as the generic kind refuses auth: none.
//
// # Ownership
//
// Chatwoot also says who owns a conversation, and Parse reads it (see
// Parse for the rules): an agent bot's conversations sit in pending; a
// person who opens one, is assigned to it, or replies in it takes it from
// the bot; resolved is resolved; back to pending is the bot's again. Agent
// bots receive conversation_opened, conversation_resolved and
// message_created (each message carries its conversation's status and
// assignee); account webhooks can add conversation_status_changed and
// conversation_updated.
//
// Echo versus person: the bot's own messages come back as outgoing
// message_created events. Posted with the agent bot's access token their
// sender is the agent bot, and they are ignored. Posted with a user's
// token (an agent's, or a "Support Bot" user's) their sender is a user,
// like a person's reply: such a message is sent as a signal with its text
// as the echo, and the engine drops it when the bot queued or sent that
// text on the conversation (agents' replies relayed from Slack included).
package chatwoot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/hmac"
)

// Kind is the trigger kind name.
const Kind = "chatwoot"

// Trigger verifies and parses Chatwoot webhooks.
type Trigger struct {
	name   string
	verify triggers.Trigger // nil: unsigned
}

var _ triggers.Trigger = (*Trigger)(nil)

// New builds a Chatwoot trigger. Without a secret it verifies nothing but
// the caller's address, so allow_ips is then required.
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name}
	if len(cfg.AllSecrets()) == 0 && len(cfg.AllowIPs) == 0 {
		return nil, errors.New("secret: required; without one anyone can post as Chatwoot, so unsigned webhooks need allow_ips (Chatwoot's addresses)")
	}
	if len(cfg.AllSecrets()) > 0 {
		hc := cfg
		hc.HMAC = triggers.HMACConfig{Header: "X-Chatwoot-Signature", Algorithm: "sha256", Encoding: "hex",
			Prefix: "sha256=", TimestampHeader: "X-Chatwoot-Timestamp", Signed: "{timestamp}.{body}"}
		v, err := hmac.New(hc)
		if err != nil {
			return nil, err
		}
		t.verify = v
	}
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "chatwoot".
func (t *Trigger) Kind() string { return Kind }

// Verify checks the signature when a secret is configured.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	if t.verify == nil {
		return nil
	}
	return t.verify.Verify(r, body)
}

// person is a sender or an assignee: a contact, a user (an agent or
// admin) or an agent bot.
type person struct {
	ID    json.Number `json:"id"`
	Name  string      `json:"name"`
	Email string      `json:"email"`
	Type  string      `json:"type"`
}

// conversation is the conversation object: the body of the conversation_*
// events, and "conversation" in a message's.
type conversation struct {
	ID     json.Number `json:"id"`
	Status string      `json:"status"`
	Meta   struct {
		Sender   person  `json:"sender"`
		Assignee *person `json:"assignee"`
	} `json:"meta"`
}

type payload struct {
	Event string `json:"event"`
	// ID is the message id of message_* events, the conversation id of
	// conversation_* events.
	ID          json.Number `json:"id"`
	Content     string      `json:"content"`
	MessageType any         `json:"message_type"`
	Private     bool        `json:"private"`
	Sender      person      `json:"sender"`
	// Conversation is a message's conversation; the conversation events
	// carry it at the top level instead.
	Conversation conversation `json:"conversation"`
	Status       string       `json:"status"`
	Meta         struct {
		Sender   person  `json:"sender"`
		Assignee *person `json:"assignee"`
	} `json:"meta"`
}

// Chatwoot events read here.
const (
	EventMessageCreated            = "message_created"
	EventConversationOpened        = "conversation_opened"
	EventConversationResolved      = "conversation_resolved"
	EventConversationStatusChanged = "conversation_status_changed"
	EventConversationUpdated       = "conversation_updated"
)

// Parse turns a webhook into an event: an incoming public message from a
// contact into a message, with the helpdesk's ownership signal when the
// conversation shows one; a change of owner into a signal alone. Anything
// else returns an error wrapping bot.ErrIgnored.
//
// Ownership (see the package doc for why each rule holds):
//   - a person assigned: an open or snoozed conversation whose assignee is
//     a user (the message's conversation.meta.assignee, or the conversation
//     events' meta.assignee) → agent, helpdesk_assigned;
//   - a person replied: an outgoing public message whose sender is a user
//     → agent, helpdesk_replied, with the text as the echo to tell the bot's
//     own replies (posted with a user's access token) apart; messages by an
//     agent bot (the bot's own, posted with the agent bot's token) are
//     ignored;
//   - conversation_opened, or conversation_status_changed to open, without
//     an assignee → agent, helpdesk_opened (only while the bot is answering
//     it: the bot's own hand-off opens the conversation too, and a resolved
//     one reopens when its customer writes);
//   - conversation_resolved, or status resolved → resolved;
//   - conversation_status_changed to pending → bot, helpdesk_returned; a
//     customer's message in a pending conversation (the agent bot's queue,
//     whoever is assigned) → bot, helpdesk_unassigned, which returns only
//     what a person held: the bot's own hand-off may not have opened the
//     conversation yet.
//
// The event id is the message id for messages (so that a message sent
// again under a new delivery id is one message), else X-Chatwoot-Delivery
// (stable across Chatwoot's retries), else a hash of the body.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return bot.Event{}, bot.Invalid("body", "not a Chatwoot webhook: %v", err)
	}
	id := r.Header.Get("X-Chatwoot-Delivery")
	var ev bot.Event
	switch p.Event {
	case EventMessageCreated:
		var err error
		if ev, err = t.message(&p); err != nil {
			return bot.Event{}, err
		}
		if p.ID != "" {
			id = "conversation:" + p.Conversation.ID.String() + ":message:" + p.ID.String()
		}
	case EventConversationOpened, EventConversationResolved, EventConversationStatusChanged, EventConversationUpdated:
		c := conversation{ID: p.ID, Status: p.Status, Meta: p.Meta}
		status := c.Status
		switch p.Event {
		case EventConversationOpened:
			status = "open"
		case EventConversationResolved:
			status = "resolved"
		}
		o := statusOwner(p.Event, status, c.Meta.Assignee)
		if o == nil {
			return bot.Event{}, fmt.Errorf("event %q with status %q: no change of owner: %w", p.Event, c.Status, bot.ErrIgnored)
		}
		ev = bot.Event{Type: bot.EventOwnerChanged, Owner: o,
			Conversation: bot.ConversationRef{ID: c.ID.String()},
			Customer:     customer(c.Meta.Sender)}
	default:
		return bot.Event{}, fmt.Errorf("event %q: %w", p.Event, bot.ErrIgnored)
	}
	if id == "" {
		id = triggers.BodyID(body)
	}
	ev.Trigger, ev.ID = t.name, id
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// message reads a message_created event.
func (t *Trigger) message(p *payload) (bot.Event, error) {
	c := p.Conversation
	ev := bot.Event{Conversation: bot.ConversationRef{ID: c.ID.String()}}
	typ := fmt.Sprint(p.MessageType)
	switch {
	case p.Private:
		return bot.Event{}, fmt.Errorf("private note: %w", bot.ErrIgnored)
	// message_type is "incoming" in webhooks (0 in the API's integer form),
	// "outgoing" (1) for agents' and bots' messages.
	case (typ == "outgoing" || typ == "1") && p.Sender.Type == "user":
		text := strings.TrimSpace(p.Content)
		if text == "" {
			return bot.Event{}, fmt.Errorf("outgoing message without text: %w", bot.ErrIgnored)
		}
		ev.Type = bot.EventOwnerChanged
		ev.Owner = &bot.OwnerChange{State: bot.StateAgent, Actor: actor(&p.Sender), Reason: bot.ReasonHelpdeskReplied, Echo: text}
		ev.Customer = customer(c.Meta.Sender)
		return ev, nil
	case typ != "incoming" && typ != "0", p.Sender.Type != "" && p.Sender.Type != "contact":
		return bot.Event{}, fmt.Errorf("not an incoming public message from a contact or a person's reply: %w", bot.ErrIgnored)
	}
	ev.Customer = customer(p.Sender)
	ev.Owner = messageOwner(c)
	if strings.TrimSpace(p.Content) == "" {
		// An attachment alone (content null): acknowledged, or Chatwoot
		// marks the customer's message failed. Its ownership still counts.
		if ev.Owner == nil {
			return bot.Event{}, fmt.Errorf("message %s has no text (an attachment alone): %w", p.ID, bot.ErrIgnored)
		}
		ev.Type = bot.EventOwnerChanged
		return ev, nil
	}
	ev.Type = bot.EventMessageCreated
	ev.Message = bot.MessageRef{ID: p.ID.String(), Text: p.Content}
	return ev, nil
}

// messageOwner is the ownership a customer's message shows: its
// conversation's assignee and status after the message.
func messageOwner(c conversation) *bot.OwnerChange {
	a := c.Meta.Assignee
	switch {
	case c.Status == "pending":
		// Pending is the agent bot's queue, whoever is assigned.
		return &bot.OwnerChange{State: bot.StateBot, Actor: Kind, Reason: bot.ReasonHelpdeskUnassigned}
	case a != nil && a.Type != "agent_bot" && (c.Status == "open" || c.Status == "snoozed"):
		return &bot.OwnerChange{State: bot.StateAgent, Actor: actor(a), Reason: bot.ReasonHelpdeskAssigned}
	}
	return nil
}

// statusOwner is the ownership a conversation event shows.
func statusOwner(event, status string, a *person) *bot.OwnerChange {
	human := a != nil && a.Type != "agent_bot"
	switch status {
	case "resolved":
		who := Kind
		if human {
			who = actor(a)
		}
		return &bot.OwnerChange{State: bot.StateResolved, Actor: who, Reason: bot.ReasonHelpdeskResolved}
	case "pending":
		if event == EventConversationStatusChanged {
			return &bot.OwnerChange{State: bot.StateBot, Actor: Kind, Reason: bot.ReasonHelpdeskReturned}
		}
	case "open", "snoozed":
		if human {
			return &bot.OwnerChange{State: bot.StateAgent, Actor: actor(a), Reason: bot.ReasonHelpdeskAssigned}
		}
		if event != EventConversationUpdated {
			return &bot.OwnerChange{State: bot.StateAgent, Actor: Kind, Reason: bot.ReasonHelpdeskOpened}
		}
	}
	return nil
}

// actor names a Chatwoot user as a transition's actor: "chatwoot:Name".
func actor(p *person) string {
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name = strings.TrimSpace(p.Email)
	}
	if name == "" && p.ID != "" {
		name = "user " + p.ID.String()
	}
	if name == "" {
		return Kind
	}
	return bot.Clip(Kind+":"+name, 200)
}

func customer(p person) bot.Customer {
	if p.Type != "" && p.Type != "contact" {
		return bot.Customer{}
	}
	return bot.Customer{ID: p.ID.String(), Name: p.Name, Email: p.Email}
}

// Signature returns the headers Chatwoot would send for body (tests, and
// `supportbot send`).
func Signature(secret string, body []byte, now time.Time) (ts, sig string) {
	ts = strconv.FormatInt(now.Unix(), 10)
	return ts, "sha256=" + hmacHex(secret, ts+"."+string(body))
}
