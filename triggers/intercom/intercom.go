// Package intercom is the trigger for Intercom webhook notifications: the
// signature Intercom puts on every notification (X-Hub-Signature: sha1=hex
// HMAC-SHA1 of the raw body, keyed with the app's client secret; there is
// no timestamp, so the notification id is what dedupes), and customer
// messages normalised into a bot.Event.
//
// Loop rule: only the topics conversation.user.created (a user or lead
// starts a conversation) and conversation.user.replied (a customer writes
// in an existing one) are answered, and only when the message's author is a
// user, lead or contact. Everything else, conversation.admin.replied (our
// own replies, which the reply channel posts as an admin, and the replies
// of the agents in Intercom), notes, assignments, bot and Fin messages and
// the ping Intercom sends when the endpoint is saved, is acknowledged and
// ignored, so the bot never answers itself or a teammate.
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
	return &Trigger{name: cfg.Name, verify: v}, nil
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
}

// customerTypes are the authors whose messages the bot answers.
var customerTypes = map[string]bool{"user": true, "lead": true, "contact": true}

// Parse turns a customer's message into an event: conversation.user.created
// becomes ticket.created with the conversation's first message,
// conversation.user.replied becomes message.created with the newest
// conversation part. Other topics, and parts not written by a customer,
// return an error wrapping bot.ErrIgnored, as does a message with no text
// (an attachment alone). The event id is the notification id, which
// Intercom keeps across its retries; without one, the conversation and part
// ids.
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
	if n.Topic != TopicUserCreated && n.Topic != TopicUserReplied {
		return bot.Event{}, fmt.Errorf("topic %q: %w", n.Topic, bot.ErrIgnored)
	}
	c := n.Data.Item
	if c == nil {
		return bot.Event{}, bot.Invalid("data.item", "required")
	}
	if c.ID == "" {
		return bot.Event{}, bot.Invalid("data.item.id", "required")
	}
	var msg part
	typ := bot.EventTicketCreated
	if n.Topic == TopicUserCreated {
		msg = part{ID: c.Source.ID, Body: c.Source.Body, Author: c.Source.Author}
	} else {
		typ = bot.EventMessageCreated
		if c.Parts == nil || len(c.Parts.Parts) == 0 {
			return bot.Event{}, bot.Invalid("data.item.conversation_parts", "required for %s", n.Topic)
		}
		// The notification carries the part that triggered it last.
		msg = c.Parts.Parts[len(c.Parts.Parts)-1]
		if msg.PartType == "note" {
			return bot.Event{}, fmt.Errorf("part %s is a note: %w", msg.ID, bot.ErrIgnored)
		}
	}
	if !customerTypes[msg.Author.Type] {
		return bot.Event{}, fmt.Errorf("author type %q is not a customer: %w", msg.Author.Type, bot.ErrIgnored)
	}
	text := triggers.HTMLText(msg.Body)
	if text == "" {
		return bot.Event{}, fmt.Errorf("message without text: %w", bot.ErrIgnored)
	}
	evID := n.ID
	if evID == "" && msg.ID != "" {
		evID = "conversation:" + string(c.ID) + ":part:" + string(msg.ID)
	}
	if evID == "" {
		evID = triggers.BodyID(body)
	}
	cust := bot.Customer{ID: string(msg.Author.ID), Name: msg.Author.Name, Email: msg.Author.Email}
	if cust.ID == "" {
		cust.ID = firstContact(c.Contacts)
	}
	ev := bot.Event{
		Trigger: t.name, ID: evID, Type: typ,
		Conversation: bot.ConversationRef{
			ID:      string(c.ID),
			Subject: triggers.HTMLText(cmpOr(c.Title, c.Source.Subject)),
			Tags:    tagNames(c),
		},
		Customer: cust,
		Message:  bot.MessageRef{ID: string(msg.ID), Text: text},
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
