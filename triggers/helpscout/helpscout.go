// Package helpscout is the trigger for Help Scout webhooks: the signature
// Help Scout puts on every delivery (X-HelpScout-Signature: base64
// HMAC-SHA1 of the raw body, keyed with the secret chosen when the webhook
// was created, at most 40 characters; there is no timestamp), and
// customers' messages normalised into a bot.Event. The body is the v2
// Conversation object with its threads; the legacy shape (customer,
// threads at the top level, tags as strings) is read too.
//
// Loop rule: only the events convo.created and convo.customer.reply.created
// (named by the X-HelpScout-Event header) are answered, and only when the
// conversation's newest thread, line items aside, is a customer thread (or
// a chat message written by the customer). Everything else,
// convo.agent.reply.created (our own replies, posted through the API as a
// reply thread, and the agents' replies), notes, assignments, status and
// tag changes, and conversations started by an agent, is acknowledged and
// ignored, so the bot never answers itself or a teammate. Notification
// webhooks (which carry only a resource URI) are refused with 400: turn
// that option off.
//
// Ownership: convo.assigned (an assignee → agent, none → bot, returning
// only what a person held), convo.status (closed or spam → resolved; an
// assignee → agent) and convo.agent.reply.created (a published reply a
// user wrote anywhere but through the API → agent) are read for who owns
// the conversation, and a customer's message in an active or pending
// conversation with an assignee is recorded as that person's. The bot's
// own replies are threads from the API; the user who wrote them is the
// bot's seat, and a conversation assigned to that user is still the bot's
// (Help Scout may assign a conversation to whoever replies).
package helpscout

import (
	"bytes"
	cryptohmac "crypto/hmac"
	"crypto/sha1" //nolint:gosec // Help Scout signs with HMAC-SHA1, which does not rely on SHA-1's collision resistance.
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/hmac"
)

// Kind is the trigger kind name.
const Kind = "helpscout"

// EventHeader names the header that carries the event name.
const EventHeader = "X-HelpScout-Event"

// Events that carry a customer's message.
const (
	EventConvoCreated  = "convo.created"
	EventCustomerReply = "convo.customer.reply.created"
)

// Events read for the conversation's owner.
const (
	EventAssigned   = "convo.assigned"
	EventStatus     = "convo.status"
	EventAgentReply = "convo.agent.reply.created"
)

// WebURL is the prefix of a conversation's address in Help Scout; the
// conversation id and number complete it.
const WebURL = "https://secure.helpscout.net/conversation/"

// Trigger verifies and parses Help Scout webhooks.
type Trigger struct {
	name   string
	verify triggers.Trigger
}

var _ triggers.Trigger = (*Trigger)(nil)

// MaxSecretLen is the longest secret Help Scout accepts for a webhook.
const MaxSecretLen = 40

// New builds a Help Scout trigger. The secret (and any in secrets, for
// rotation) is required: Help Scout signs every webhook.
func New(cfg triggers.Config) (triggers.Trigger, error) {
	for _, sec := range cfg.AllSecrets() {
		if len(sec) > MaxSecretLen {
			// Help Scout refuses longer secrets, so this one can never match.
			return nil, fmt.Errorf("secret: Help Scout takes at most %d characters, this one has %d", MaxSecretLen, len(sec))
		}
	}
	hc := cfg
	hc.HMAC = triggers.HMACConfig{Header: "X-HelpScout-Signature", Algorithm: "sha1", Encoding: "base64"}
	v, err := hmac.New(hc)
	if err != nil {
		return nil, err
	}
	return &Trigger{name: cfg.Name, verify: v}, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "helpscout".
func (t *Trigger) Kind() string { return Kind }

// Verify checks X-HelpScout-Signature against every configured secret in
// constant time.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	return t.verify.Verify(r, body)
}

type person struct {
	ID    triggers.FlexString `json:"id"`
	Type  string              `json:"type"`
	First string              `json:"first"`
	Last  string              `json:"last"`
	// FirstName and LastName are the legacy names of First and Last.
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
}

func (p *person) name() string {
	return strings.TrimSpace(strings.TrimSpace(cmpOr(p.First, p.FirstName)) + " " + strings.TrimSpace(cmpOr(p.Last, p.LastName)))
}

type thread struct {
	// Source says where a thread came from: "api" for the bot's own
	// replies (posted through the Mailbox API), "web", "email", "mobile"
	// for a person's.
	Source struct {
		Type string `json:"type"`
	} `json:"source"`
	ID        triggers.FlexString `json:"id"`
	Type      string              `json:"type"`
	State     string              `json:"state"`
	Body      string              `json:"body"`
	Customer  *person             `json:"customer"`
	CreatedBy *person             `json:"createdBy"`
	CreatedAt string              `json:"createdAt"`
}

type conversation struct {
	ID              triggers.FlexString `json:"id"`
	Number          triggers.FlexString `json:"number"`
	Subject         string              `json:"subject"`
	Status          string              `json:"status"`
	Assignee        *person             `json:"assignee"`
	Owner           *person             `json:"owner"` // legacy name of assignee
	PrimaryCustomer *person             `json:"primaryCustomer"`
	Customer        *person             `json:"customer"` // legacy
	Tags            json.RawMessage     `json:"tags"`
	Threads         json.RawMessage     `json:"threads"` // legacy: the list; v2: a count
	Embedded        struct {
		Threads []thread `json:"threads"`
	} `json:"_embedded"`
	Links struct {
		Web struct {
			Href string `json:"href"`
		} `json:"web"`
	} `json:"_links"`
}

// Parse turns a customer's message into an event: convo.created becomes
// ticket.created, convo.customer.reply.created message.created, with the
// text of the newest customer thread. Other events and agent-written
// threads return an error wrapping bot.ErrIgnored, as does a thread with no
// text (an attachment alone). Help Scout sends no delivery id, so the event
// id is the conversation and thread ids, stable across its retries.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	event := strings.TrimSpace(r.Header.Get(EventHeader))
	if event == "" {
		return bot.Event{}, bot.Invalid(EventHeader, "required")
	}
	switch event {
	case EventConvoCreated, EventCustomerReply, EventAssigned, EventStatus, EventAgentReply:
	default:
		return bot.Event{}, fmt.Errorf("event %q: %w", event, bot.ErrIgnored)
	}
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var c conversation
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return bot.Event{}, bot.Invalid("body", "not a Help Scout conversation: %v", err)
	}
	if c.ID == "" {
		return bot.Event{}, bot.Invalid("id", "required (a notification webhook carries no conversation; turn notification off)")
	}
	threads := c.Embedded.Threads
	if len(threads) == 0 && len(c.Threads) > 0 && c.Threads[0] == '[' {
		if err := json.Unmarshal(c.Threads, &threads); err != nil {
			return bot.Event{}, bot.Invalid("threads", "%v", err)
		}
	}
	if len(threads) == 0 {
		return bot.Event{}, bot.Invalid("_embedded.threads", "required")
	}
	th, ok := newest(threads)
	if event == EventAssigned || event == EventStatus || event == EventAgentReply {
		return t.ownerEvent(event, body, &c, threads, th, ok)
	}
	if !ok {
		return bot.Event{}, fmt.Errorf("no message thread: %w", bot.ErrIgnored)
	}
	if !fromCustomer(th) {
		return bot.Event{}, fmt.Errorf("newest thread %s is a %s thread: %w", th.ID, th.Type, bot.ErrIgnored)
	}
	if th.State != "" && th.State != "published" {
		return bot.Event{}, fmt.Errorf("thread %s is %s: %w", th.ID, th.State, bot.ErrIgnored)
	}
	text := triggers.HTMLText(th.Body)
	if text == "" {
		return bot.Event{}, fmt.Errorf("thread without text: %w", bot.ErrIgnored)
	}
	evID := triggers.BodyID(body)
	if th.ID != "" {
		evID = "conversation:" + string(c.ID) + ":thread:" + string(th.ID)
	}
	typ := bot.EventMessageCreated
	if event == EventConvoCreated {
		typ = bot.EventTicketCreated
	}
	ev := bot.Event{
		Trigger: t.name, ID: evID, Type: typ,
		Conversation: bot.ConversationRef{
			ID: string(c.ID), Subject: strings.TrimSpace(c.Subject), URL: c.Links.Web.Href, Tags: tagNames(c.Tags),
		},
		Customer: customer(th, &c),
		Message:  bot.MessageRef{ID: string(th.ID), Text: text},
	}
	if a := c.assignee(); a != nil && !c.botAssigned(threads) && (c.Status == "active" || c.Status == "pending") {
		ev.Owner = &bot.OwnerChange{State: bot.StateAgent, Actor: actor(a), Reason: bot.ReasonHelpdeskAssigned}
	}
	if ev.Conversation.URL == "" {
		ev.Conversation.URL = WebURL + url.PathEscape(string(c.ID)) + "/"
		if c.Number != "" {
			ev.Conversation.URL += url.PathEscape(string(c.Number)) + "/"
		}
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// ownerEvent reads the owner from convo.assigned, convo.status and
// convo.agent.reply.created: an assignee → agent, none → bot (which
// returns only what a person held); closed or spam → resolved; a published
// reply thread a user wrote anywhere but through the API (the bot's own
// replies come from the API) → agent.
func (t *Trigger) ownerEvent(event string, body []byte, c *conversation, threads []thread, th thread, ok bool) (bot.Event, error) {
	var o *bot.OwnerChange
	a := c.assignee()
	own := c.botAssigned(threads)
	switch event {
	case EventAssigned:
		if own {
			break // assigned to the bot's own seat: still the bot's
		}
		if a != nil {
			o = &bot.OwnerChange{State: bot.StateAgent, Actor: actor(a), Reason: bot.ReasonHelpdeskAssigned}
		} else {
			o = &bot.OwnerChange{State: bot.StateBot, Actor: Kind, Reason: bot.ReasonHelpdeskUnassigned}
		}
	case EventStatus:
		switch {
		case c.Status == "closed" || c.Status == "spam":
			o = &bot.OwnerChange{State: bot.StateResolved, Actor: Kind, Reason: bot.ReasonHelpdeskResolved}
			if a != nil && !own {
				o.Actor = actor(a)
			}
		case a != nil && !own:
			o = &bot.OwnerChange{State: bot.StateAgent, Actor: actor(a), Reason: bot.ReasonHelpdeskAssigned}
		}
	case EventAgentReply:
		if ok && th.Type == "reply" && th.Source.Type != "api" && (th.State == "" || th.State == "published") &&
			th.CreatedBy != nil && th.CreatedBy.Type == "user" {
			o = &bot.OwnerChange{State: bot.StateAgent, Actor: actor(th.CreatedBy), Reason: bot.ReasonHelpdeskReplied,
				Echo: triggers.HTMLText(th.Body)}
		}
	}
	if o == nil {
		return bot.Event{}, fmt.Errorf("%s: no change of owner: %w", event, bot.ErrIgnored)
	}
	// Help Scout sends no delivery id: the event, the conversation and a
	// hash of the body (which changes with every update) name it.
	ev := bot.Event{
		Trigger: t.name, ID: event + ":conversation:" + string(c.ID) + ":" + triggers.BodyID(body),
		Type: bot.EventOwnerChanged, Owner: o,
		Conversation: bot.ConversationRef{ID: string(c.ID), Subject: strings.TrimSpace(c.Subject), URL: c.Links.Web.Href},
	}
	if p := cmpPerson(c.PrimaryCustomer, c.Customer); p != nil {
		ev.Customer = bot.Customer{ID: string(p.ID), Name: p.name(), Email: p.Email}
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// assignee returns the conversation's assigned user, if any: v2's assignee
// or the legacy owner; an id of 0 or none is nobody.
func (c *conversation) assignee() *person {
	for _, p := range []*person{c.Assignee, c.Owner} {
		if p != nil && p.ID != "" && p.ID != "0" {
			return p
		}
	}
	return nil
}

// botAssigned reports whether the conversation is assigned to the user the
// bot replies as: the author of a thread posted through the API. Help
// Scout may assign a conversation to the user who replies, and the bot's
// own seat is no person.
func (c *conversation) botAssigned(threads []thread) bool {
	a := c.assignee()
	if a == nil {
		return false
	}
	for _, th := range threads {
		if th.Source.Type == "api" && th.CreatedBy != nil && th.CreatedBy.Type == "user" && th.CreatedBy.ID == a.ID {
			return true
		}
	}
	return false
}

// actor names a Help Scout user as a transition's actor: "helpscout:Name".
func actor(p *person) string {
	name := cmpOr(p.name(), strings.TrimSpace(p.Email))
	if name == "" {
		name = "user " + string(p.ID)
	}
	return bot.Clip(Kind+":"+name, 200)
}

func cmpPerson(ps ...*person) *person {
	for _, p := range ps {
		if p != nil && p.ID != "" {
			return p
		}
	}
	return nil
}

// newest returns the most recent thread that carries a message: line items
// (assignments, status changes, workflow runs) are skipped. Threads are
// ordered by createdAt; equal or unreadable times keep Help Scout's order,
// newest first.
func newest(threads []thread) (thread, bool) {
	var best thread
	var bestAt time.Time
	found := false
	for _, th := range threads {
		if th.Type == "lineitem" {
			continue
		}
		at, _ := time.Parse(time.RFC3339, th.CreatedAt)
		if !found || at.After(bestAt) {
			best, bestAt, found = th, at, true
		}
	}
	return best, found
}

// fromCustomer reports whether th was written by the customer: a customer
// thread, or a chat message created by a customer.
func fromCustomer(th thread) bool {
	switch th.Type {
	case "customer":
		return th.CreatedBy == nil || th.CreatedBy.Type == "" || th.CreatedBy.Type == "customer"
	case "chat", "beaconchat":
		return th.CreatedBy != nil && th.CreatedBy.Type == "customer"
	}
	return false
}

// customer is the thread's author: the first customer with an id among
// the thread's and the conversation's people, its name and email completed
// from the others that carry the same id.
func customer(th thread, c *conversation) bot.Customer {
	var out bot.Customer
	for _, p := range []*person{th.Customer, th.CreatedBy, c.PrimaryCustomer, c.Customer} {
		if p == nil || p.ID == "" || (p.Type != "" && p.Type != "customer") {
			continue
		}
		if out.ID == "" {
			out.ID = string(p.ID)
		}
		if string(p.ID) == out.ID {
			out.Name = cmpOr(out.Name, p.name())
			out.Email = cmpOr(out.Email, p.Email)
		}
	}
	return out
}

// tagNames reads v2 tags ({"id", "tag", "color"}) and legacy ones (strings).
func tagNames(raw json.RawMessage) []string {
	var out []string
	var v2 []struct {
		Tag  string `json:"tag"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &v2) == nil {
		for _, t := range v2 {
			if s := cmpOr(t.Tag, t.Name); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var legacy []string
	if json.Unmarshal(raw, &legacy) == nil {
		for _, s := range legacy {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Signature returns the X-HelpScout-Signature value Help Scout sends for
// body (tests, and tools that simulate Help Scout).
func Signature(secret string, body []byte) string {
	m := cryptohmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
