// Package chatwoot is the Chatwoot reply channel: answers posted as
// outgoing messages through Chatwoot's API, hand-offs opening the
// conversation for the inbox's agents. The inbound side is
// triggers/chatwoot.
package chatwoot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

// Config is the Chatwoot API a trigger's replies go to.
type Config struct {
	BaseURL   string // e.g. https://app.chatwoot.com
	AccountID string
	Token     string // api_access_token of an agent or agent bot
	Timeout   time.Duration
}

// Deliverer posts replies as outgoing messages on the conversation through
// Chatwoot's API (api_access_token of an agent or agent bot), and on a
// hand-off opens the conversation (pending → open) so that the inbox's
// agents see it.
type Deliverer struct {
	api     deliver.API
	account string
}

var _ bot.Deliverer = (*Deliverer)(nil)

// New validates cfg; errors name the reply key (reply.base_url,
// reply.account_id, reply.api_access_token). client is the outbound
// client (nil: deliver's default).
func New(cfg Config, client *http.Client) (*Deliverer, error) {
	base, err := deliver.CheckBaseURL("reply.base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.AccountID) == "" || strings.ContainsAny(cfg.AccountID, "/?#") {
		return nil, errors.New("reply.account_id: required, a Chatwoot account id")
	}
	if cfg.Token == "" {
		return nil, errors.New("reply.api_access_token: required")
	}
	return &Deliverer{account: cfg.AccountID, api: deliver.API{
		HTTPClient: client, BaseURL: base, Timeout: cfg.Timeout,
		Authorize: deliver.HeaderAuth("api_access_token", cfg.Token),
		Redact:    []string{cfg.Token},
	}}, nil
}

// Deliver posts r on its conversation; a hand-off also opens the
// conversation for the inbox's agents. A retried hand-off may post the
// message again only if Chatwoot failed after storing it (Chatwoot has no
// idempotency key).
func (c *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	if r.ConversationID == "" {
		return bot.Permanent(errors.New("post chatwoot message: empty conversation id"))
	}
	path := "/api/v1/accounts/" + url.PathEscape(c.account) + "/conversations/" + url.PathEscape(r.ConversationID)
	if err := c.api.Do(ctx, "post chatwoot message", http.MethodPost, path+"/messages", map[string]any{
		"content": deliver.Text(r), "message_type": "outgoing", "private": false, "content_type": "text",
	}, nil); err != nil {
		return err
	}
	if r.Kind == bot.ReplyHandoff {
		return c.api.Do(ctx, "open chatwoot conversation", http.MethodPost, path+"/toggle_status", map[string]any{"status": "open"}, nil)
	}
	return nil
}
