// Package chatwoot is the trigger for Chatwoot agent-bot and account
// webhooks: the signature of Chatwoot's PR 13573 (X-Chatwoot-Signature:
// sha256=hex HMAC-SHA256 of "{X-Chatwoot-Timestamp}.{body}", checked within
// the replay window), and message_created events of incoming, public
// messages normalised into a bot.Event. Everything else, our own outgoing
// replies included, is acknowledged and ignored, so the bot never answers
// itself. A trigger without a secret accepts unsigned webhooks (Chatwoot
// sends no signature then) and so must restrict its callers with allow_ips:
// New refuses it otherwise, as the generic kind refuses auth: none.
package chatwoot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

type payload struct {
	Event       string `json:"event"`
	ID          json.Number
	Content     string `json:"content"`
	MessageType any    `json:"message_type"`
	Private     bool   `json:"private"`
	Sender      struct {
		ID    json.Number `json:"id"`
		Name  string      `json:"name"`
		Email string      `json:"email"`
		Type  string      `json:"type"`
	} `json:"sender"`
	Conversation struct {
		ID json.Number `json:"id"`
	} `json:"conversation"`
}

// Parse turns an incoming public message into an event; any other event or
// message returns an error wrapping bot.ErrIgnored. The event id is
// X-Chatwoot-Delivery (stable across Chatwoot's retries), else the message id.
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
	if p.Event != "message_created" {
		return bot.Event{}, fmt.Errorf("event %q: %w", p.Event, bot.ErrIgnored)
	}
	// message_type is "incoming" in webhooks (0 in the API's integer form).
	incoming := p.MessageType == "incoming" || p.MessageType == json.Number("0")
	if !incoming || p.Private || (p.Sender.Type != "" && p.Sender.Type != "contact") {
		return bot.Event{}, fmt.Errorf("not an incoming public message from a contact: %w", bot.ErrIgnored)
	}
	id := r.Header.Get("X-Chatwoot-Delivery")
	if id == "" && p.ID != "" {
		id = "message:" + p.ID.String()
	}
	if id == "" {
		id = triggers.BodyID(body)
	}
	ev := bot.Event{
		Trigger: t.name, ID: id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: p.Conversation.ID.String()},
		Customer:     bot.Customer{ID: p.Sender.ID.String(), Name: p.Sender.Name, Email: p.Sender.Email},
		Message:      bot.MessageRef{ID: p.ID.String(), Text: p.Content},
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// Signature returns the headers Chatwoot would send for body (tests, and
// `supportbot send`).
func Signature(secret string, body []byte, now time.Time) (ts, sig string) {
	ts = strconv.FormatInt(now.Unix(), 10)
	return ts, "sha256=" + hmacHex(secret, ts+"."+string(body))
}
