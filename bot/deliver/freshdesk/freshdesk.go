// Package freshdesk is the Freshdesk reply channel: answers posted as
// replies on the ticket through Freshdesk's API (the plain text as HTML),
// hand-offs also tagging the ticket (escalation_tag, default
// supportbot-escalated) so that a Freshdesk view can list the tickets
// people must take. The inbound side is triggers/freshdesk.
package freshdesk

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

// Config is the Freshdesk API a trigger's replies go to.
type Config struct {
	BaseURL       string // https://DOMAIN.freshdesk.com
	APIKey        string // an agent's API key
	EscalationTag string // default deliver.DefaultEscalationTag
	Timeout       time.Duration
}

// Deliverer posts replies with POST /api/v2/tickets/{id}/reply,
// authenticated as {api_key}:X.
type Deliverer struct {
	api deliver.API
	tag string
}

var _ bot.Deliverer = (*Deliverer)(nil)

// New validates cfg; errors name the reply key (reply.base_url,
// reply.api_key, reply.escalation_tag). client is the outbound client (nil:
// deliver's default).
func New(cfg Config, client *http.Client) (*Deliverer, error) {
	base, err := deliver.CheckBaseURL("reply.base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("reply.api_key: required")
	}
	if strings.Contains(cfg.APIKey, ":") {
		return nil, errors.New("reply.api_key: must not contain ':'")
	}
	tag := cmp.Or(strings.TrimSpace(cfg.EscalationTag), deliver.DefaultEscalationTag)
	if strings.ContainsAny(tag, ",\r\n") {
		return nil, errors.New("reply.escalation_tag: a Freshdesk tag holds no commas or line breaks")
	}
	return &Deliverer{tag: tag, api: deliver.API{
		HTTPClient: client, BaseURL: base, Timeout: cfg.Timeout,
		Authorize:  deliver.BasicAuth(cfg.APIKey, "X"),
		Redact:     []string{cfg.APIKey, base64.StdEncoding.EncodeToString([]byte(cfg.APIKey + ":X"))},
		RetryAfter: deliver.StandardRetryAfter, // Freshdesk's 429 carries Retry-After in seconds
	}}, nil
}

// Deliver posts r as a reply on ticket r.ConversationID. A hand-off first
// adds the escalation tag: Freshdesk's ticket update replaces the tags, so
// the ticket's tags are read and written back with the tag added (not
// written at all when it is there), and a retry after a failed reply
// repeats only that harmless step. An agent who edits the tags between the
// read and the write loses that edit. Freshdesk takes no idempotency key: a
// retry posts the reply again only if Freshdesk failed after storing it.
func (f *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	id := r.ConversationID
	if !isTicketID(id) {
		return bot.Permanent(errors.New("post freshdesk reply: conversation id is not a ticket id"))
	}
	path := "/api/v2/tickets/" + id
	if r.Kind == bot.ReplyHandoff {
		if err := f.addTag(ctx, path); err != nil {
			return err
		}
	}
	return f.api.Do(ctx, "post freshdesk reply", http.MethodPost, path+"/reply", map[string]any{"body": deliver.HTML(deliver.Text(r))}, nil)
}

func (f *Deliverer) addTag(ctx context.Context, path string) error {
	var ticket struct {
		Tags []string `json:"tags"`
	}
	if err := f.api.Do(ctx, "read freshdesk ticket", http.MethodGet, path, nil, &ticket); err != nil {
		return err
	}
	for _, t := range ticket.Tags {
		if strings.EqualFold(t, f.tag) {
			return nil
		}
	}
	tags := append(ticket.Tags, f.tag)
	return f.api.Do(ctx, "tag freshdesk ticket", http.MethodPut, path, map[string]any{"tags": tags}, nil)
}

// isTicketID reports whether s is a Freshdesk ticket id: a positive integer.
func isTicketID(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
