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
	if event != EventConvoCreated && event != EventCustomerReply {
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
