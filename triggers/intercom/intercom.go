// Package intercom is the trigger for Intercom webhook notifications: the
// signature Intercom puts on every notification (X-Hub-Signature: sha1=hex
// HMAC-SHA1 of the raw body, keyed with the app's client secret; there is
// no timestamp, so the notification id is what dedupes), and customer
// messages normalised into a bot.Event.
//
// Loop rule: only the topics conversation.user.created (a user or lead
// starts a conversation) and conversation.user.replied (a customer writes
// in an existing one) are answered, and only the parts whose author is a
// user, lead or contact. Everything else, conversation.admin.replied (our
// own replies, which the reply channel posts as an admin, and the replies
// of the agents in Intercom), notes, assignments, bot and Fin messages and
// the ping Intercom sends when the endpoint is saved, is never answered,
// so the bot never answers itself or a teammate.
//
// Ownership: the admins' side says who owns the conversation. A teammate
// (an admin other than reply.admin_id, the admin the bot posts as) who
// comments (conversation.admin.replied, or a comment part among a
// customer's), is assigned (conversation.admin.assigned, an assignment
// part, or the conversation's admin_assignee_id), snoozes or reopens it
// takes it from the bot; conversation.admin.closed resolves it; an
// unassignment (admin_assignee_id null, or an assignment to nobody) returns
// what a person held. Every part of a notification is read, in order, the
// later winning. The bot's own admin is never a person: its parts are the
// bot's answers and the agents' replies relayed from Slack, which the
// engine already knows about.
package intercom

import (
	"bytes"
	cryptohmac "crypto/hmac"
	"crypto/sha1" //nolint:gosec // Intercom signs with HMAC-SHA1, which does not rely on SHA-1's collision resistance.
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/hmac"
)

// Kind is the trigger kind name.
const Kind = "intercom"

// Topics that carry a customer's message.
const (
	TopicUserCreated = "conversation.user.created"
	TopicUserReplied = "conversation.user.replied"
)

// WebURL is the prefix of a conversation's address in Intercom's inbox; the
// app id and conversation id complete it.
const WebURL = "https://app.intercom.com/a/apps/"

// Trigger verifies and parses Intercom webhook notifications.
type Trigger struct {
	name   string
	verify triggers.Trigger
	admin  string // reply.admin_id: the admin the bot posts as, whose parts are the bot's
}

var _ triggers.Trigger = (*Trigger)(nil)

// New builds an Intercom trigger. The secret (the app's client secret, and
// any in secrets for rotation) is required: Intercom signs every
// notification.
func New(cfg triggers.Config) (triggers.Trigger, error) {
	hc := cfg
	hc.HMAC = triggers.HMACConfig{Header: "X-Hub-Signature", Algorithm: "sha1", Encoding: "hex", Prefix: "sha1="}
	v, err := hmac.New(hc)
	if err != nil {
		return nil, err
	}
	t := &Trigger{name: cfg.Name, verify: v}
	if cfg.Reply.Kind == Kind {
		t.admin = strings.TrimSpace(cfg.Reply.AdminID)
	}
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "intercom".
func (t *Trigger) Kind() string { return Kind }

// Verify checks X-Hub-Signature against every configured secret in
// constant time.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	return t.verify.Verify(r, body)
}

type author struct {
	ID    triggers.FlexString `json:"id"`
	Type  string              `json:"type"`
	Name  string              `json:"name"`
	Email string              `json:"email"`
}

type part struct {
	ID       triggers.FlexString `json:"id"`
	PartType string              `json:"part_type"`
	Body     string              `json:"body"`
	Author   author              `json:"author"`
	// AssignedTo is the admin (or team) an assignment part assigns to,
	// null for an unassignment.
	AssignedTo *author `json:"assigned_to"`
}

type notification struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Topic string `json:"topic"`
	AppID string `json:"app_id"`
	Data  struct {
		Item *conversation `json:"item"`
	} `json:"data"`
}

type conversation struct {
	Type     string              `json:"type"`
	ID       triggers.FlexString `json:"id"`
	Title    string              `json:"title"`
	Priority string              `json:"priority"`
	Source   struct {
		ID      triggers.FlexString `json:"id"`
		Subject string              `json:"subject"`
		Body    string              `json:"body"`
		Author  author              `json:"author"`
	} `json:"source"`
	// Contacts is a list object in API 2.x and a bare array before.
	Contacts json.RawMessage `json:"contacts"`
	Tags     struct {
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	} `json:"tags"`
	Parts *struct {
		Parts []part `json:"conversation_parts"`
	} `json:"conversation_parts"`
	// AdminAssigneeID is the assigned admin: absent in older payloads,
	// null (or 0) when no admin is assigned.
	AdminAssigneeID json.RawMessage `json:"admin_assignee_id"`
	State           string          `json:"state"`
}

// customerTypes are the authors whose messages the bot answers.
var customerTypes = map[string]bool{"user": true, "lead": true, "contact": true}

// Topics of the admins' side, read for the conversation's owner.
const (
	TopicAdminAssigned = "conversation.admin.assigned"
	TopicAdminReplied  = "conversation.admin.replied"
	TopicAdminClosed   = "conversation.admin.closed"
	TopicAdminOpened   = "conversation.admin.opened"
	TopicAdminSnoozed  = "conversation.admin.snoozed"
)

// Parse turns a notification into an event. conversation.user.created
// becomes ticket.created with the conversation's first message;
// conversation.user.replied becomes message.created with the text of every
// customer comment among the notification's conversation parts (not only
// the last: an assignment part may follow the customer's comment). The
// admin topics, and admin and assignment parts among a customer's, are read
// for the conversation's owner (see the package doc); a notification that
// carries only that becomes a bot.EventOwnerChanged. Other topics, notes,
// and notifications with neither a customer's text nor a change of owner,
// return an error wrapping bot.ErrIgnored. The event id is the notification
// id, which Intercom keeps across its retries; without one, the
// conversation and part ids.
func (t *Trigger) Parse(_ *http.Request, body []byte) (bot.Event, error) {
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var n notification
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return bot.Event{}, bot.Invalid("body", "not an Intercom notification: %v", err)
	}
	if n.Type != "" && n.Type != "notification_event" {
		return bot.Event{}, bot.Invalid("type", "%q is not notification_event", n.Type)
	}
	if n.Topic == "" {
		return bot.Event{}, bot.Invalid("topic", "required")
	}
	switch n.Topic {
	case TopicUserCreated, TopicUserReplied, TopicAdminAssigned, TopicAdminReplied, TopicAdminClosed,
		TopicAdminOpened, TopicAdminSnoozed:
	default:
		return bot.Event{}, fmt.Errorf("topic %q: %w", n.Topic, bot.ErrIgnored)
	}
	c := n.Data.Item
	if c == nil {
		return bot.Event{}, bot.Invalid("data.item", "required")
	}
	if c.ID == "" {
		return bot.Event{}, bot.Invalid("data.item.id", "required")
	}
	var parts []part
	if c.Parts != nil {
		parts = c.Parts.Parts
	}
	var msgs []part
	typ := bot.EventMessageCreated
	switch n.Topic {
	case TopicUserCreated:
		typ = bot.EventTicketCreated
		msgs = append(msgs, part{ID: c.Source.ID, Body: c.Source.Body, Author: c.Source.Author})
	case TopicUserReplied:
		if len(parts) == 0 {
			return bot.Event{}, bot.Invalid("data.item.conversation_parts", "required for %s", n.Topic)
		}
	}
	if n.Topic == TopicUserReplied || n.Topic == TopicUserCreated {
		for _, p := range parts {
			if customerTypes[p.Author.Type] && (p.PartType == "" || p.PartType == "comment" || p.PartType == "open") {
				msgs = append(msgs, p)
			}
		}
	}
	var texts []string
	var msg part
	for _, p := range msgs {
		if !customerTypes[p.Author.Type] {
			continue
		}
		if text := triggers.HTMLText(p.Body); text != "" {
			texts = append(texts, text)
			msg = p
		}
	}
	owner := t.owner(n.Topic, c, parts)
	ev := bot.Event{
		Trigger: t.name, Type: typ,
		Conversation: bot.ConversationRef{
			ID:      string(c.ID),
			Subject: triggers.HTMLText(cmpOr(c.Title, c.Source.Subject)),
			Tags:    tagNames(c),
		},
		Owner: owner,
	}
	switch {
	case len(texts) > 0:
		ev.Customer = bot.Customer{ID: string(msg.Author.ID), Name: msg.Author.Name, Email: msg.Author.Email}
		ev.Message = bot.MessageRef{ID: string(msg.ID), Text: strings.Join(texts, "\n")}
	case owner != nil:
		ev.Type = bot.EventOwnerChanged
		if a := c.Source.Author; customerTypes[a.Type] {
			ev.Customer = bot.Customer{ID: string(a.ID), Name: a.Name, Email: a.Email}
		}
		if len(parts) > 0 {
			msg = parts[len(parts)-1]
		}
	case len(msgs) == 0 && len(parts) > 0 && parts[len(parts)-1].PartType == "note":
		return bot.Event{}, fmt.Errorf("part %s is a note: %w", parts[len(parts)-1].ID, bot.ErrIgnored)
	case len(msgs) == 0:
		return bot.Event{}, fmt.Errorf("no customer message and no change of owner in %s: %w", n.Topic, bot.ErrIgnored)
	default:
		return bot.Event{}, fmt.Errorf("message without text: %w", bot.ErrIgnored)
	}
	evID := n.ID
	if evID == "" && msg.ID != "" {
		evID = "conversation:" + string(c.ID) + ":part:" + string(msg.ID)
	}
	if evID == "" {
		evID = triggers.BodyID(body)
	}
	ev.ID = evID
	if ev.Customer.ID == "" {
		ev.Customer.ID = firstContact(c.Contacts)
	}
	if c.Priority == "priority" {
		ev.Conversation.Priority = "priority"
	}
	if n.AppID != "" {
		ev.Conversation.URL = WebURL + url.PathEscape(n.AppID) + "/conversations/" + url.PathEscape(string(c.ID))
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// person reports whether a is a teammate other than the bot's own admin.
func (t *Trigger) person(a *author) bool {
	return a != nil && a.Type == "admin" && a.ID != "" && a.ID != "0" && string(a.ID) != t.admin
}

// actor names an admin as a transition's actor: "intercom:Name".
func actor(a *author) string {
	name := cmpOr(strings.TrimSpace(a.Name), strings.TrimSpace(a.Email))
	if name == "" {
		name = "admin " + string(a.ID)
	}
	return bot.Clip(Kind+":"+name, 200)
}

// owner reads who owns the conversation from the topic, the conversation's
// admin_assignee_id and state, and every part of the notification, later
// parts winning.
func (t *Trigger) owner(topic string, c *conversation, parts []part) *bot.OwnerChange {
	var o *bot.OwnerChange
	set := func(state bot.State, who, reason string, echo string) {
		o = &bot.OwnerChange{State: state, Actor: who, Reason: reason, Echo: echo}
	}
	// The assignee the conversation shows, when the payload says.
	assignee := strings.Trim(string(c.AdminAssigneeID), `" `)
	known := len(c.AdminAssigneeID) > 0
	unassigned := known && (assignee == "null" || assignee == "" || assignee == "0")
	if known && !unassigned && assignee != t.admin && c.State != "closed" {
		set(bot.StateAgent, Kind+":admin "+assignee, bot.ReasonHelpdeskAssigned, "")
	}
	for i := range parts {
		p := &parts[i]
		switch p.PartType {
		case "comment", "":
			if t.person(&p.Author) {
				set(bot.StateAgent, actor(&p.Author), bot.ReasonHelpdeskReplied, triggers.HTMLText(p.Body))
			}
		case "assignment", "default_assignment", "assign_and_reopen", "assign_and_unsnooze":
			// assigned_to is the admin (or team) assigned by the part;
			// Intercom's "nobody" (no id, or 0) unassigns.
			a := p.AssignedTo
			switch {
			case a != nil && a.Type == "admin" && a.ID != "" && a.ID != "0":
				if string(a.ID) == t.admin {
					o = nil // handed to the bot's own seat: no person
					break
				}
				who := Kind + ":admin " + string(a.ID)
				if a.ID == p.Author.ID {
					who = actor(&p.Author)
				}
				set(bot.StateAgent, who, bot.ReasonHelpdeskAssigned, "")
			case unassigned, a != nil && a.Type != "team" && (a.ID == "" || a.ID == "0"):
				set(bot.StateBot, Kind, bot.ReasonHelpdeskUnassigned, "")
			}
		case "close":
			if t.person(&p.Author) {
				set(bot.StateResolved, actor(&p.Author), bot.ReasonHelpdeskResolved, "")
			}
		case "open":
			if t.person(&p.Author) {
				set(bot.StateAgent, actor(&p.Author), bot.ReasonHelpdeskOpened, "")
			}
		case "snoozed":
			if t.person(&p.Author) {
				set(bot.StateAgent, actor(&p.Author), bot.ReasonHelpdeskAssigned, "")
			}
		}
	}
	// The topic says what happened when the parts do not.
	switch topic {
	case TopicAdminClosed:
		if o == nil || o.State != bot.StateResolved {
			set(bot.StateResolved, Kind, bot.ReasonHelpdeskResolved, "")
		}
	case TopicAdminAssigned:
		if o == nil && unassigned {
			set(bot.StateBot, Kind, bot.ReasonHelpdeskUnassigned, "")
		}
	}
	return o
}

func tagNames(c *conversation) []string {
	var out []string
	for _, t := range c.Tags.Tags {
		if t.Name != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

// firstContact returns the id of the conversation's first contact, from
// either shape of the contacts field.
func firstContact(raw json.RawMessage) string {
	type ref struct {
		ID triggers.FlexString `json:"id"`
	}
	var list struct {
		Contacts []ref `json:"contacts"`
	}
	if json.Unmarshal(raw, &list) == nil && len(list.Contacts) > 0 {
		return string(list.Contacts[0].ID)
	}
	var arr []ref
	if json.Unmarshal(raw, &arr) == nil && len(arr) > 0 {
		return string(arr[0].ID)
	}
	return ""
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// Signature returns the X-Hub-Signature value Intercom sends for body
// (tests, and tools that simulate Intercom).
func Signature(secret string, body []byte) string {
	m := cryptohmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}
