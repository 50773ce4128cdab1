// Package zendesk is the Zendesk reply channel: answers posted as public
// comments on the ticket through Zendesk's Tickets API, as the API user;
// hand-offs also tag the ticket (escalation_tag, default
// supportbot-escalated) so that a Zendesk view can list the tickets people
// must take. The inbound side is triggers/zendesk, which ignores the
// webhooks that these comments cause.
package zendesk

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

// Config is the Zendesk API a trigger's replies go to.
type Config struct {
	BaseURL       string // https://SUBDOMAIN.zendesk.com
	Email         string // the API user, an agent
	APIToken      string
	EscalationTag string // default deliver.DefaultEscalationTag
	Timeout       time.Duration
}

// Deliverer posts replies as public comments with
// PUT /api/v2/tickets/{id}.json, authenticated as {email}/token:{api_token}.
type Deliverer struct {
	api deliver.API
	tag string
}

var _ bot.Deliverer = (*Deliverer)(nil)

// New validates cfg; errors name the reply key (reply.base_url,
// reply.email, reply.api_token, reply.escalation_tag). client is the
// outbound client (nil: deliver's default).
func New(cfg Config, client *http.Client) (*Deliverer, error) {
	base, err := deliver.CheckBaseURL("reply.base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(cfg.Email)
	if email == "" || strings.Contains(email, ":") {
		return nil, errors.New("reply.email: required, the e-mail address of the API user")
	}
	if cfg.APIToken == "" {
		return nil, errors.New("reply.api_token: required")
	}
	tag := cmp.Or(strings.TrimSpace(cfg.EscalationTag), deliver.DefaultEscalationTag)
	if strings.ContainsAny(tag, " \t\r\n,") {
		return nil, errors.New("reply.escalation_tag: a Zendesk tag holds no spaces or commas")
	}
	user := email + "/token"
	return &Deliverer{tag: tag, api: deliver.API{
		HTTPClient: client, BaseURL: base, Timeout: cfg.Timeout,
		Authorize:  deliver.BasicAuth(user, cfg.APIToken),
		Redact:     []string{cfg.APIToken, base64.StdEncoding.EncodeToString([]byte(user + ":" + cfg.APIToken))},
		RetryAfter: deliver.StandardRetryAfter, // Zendesk's 429 carries Retry-After in seconds
	}}, nil
}

// Deliver posts r as a public comment on ticket r.ConversationID. A
// hand-off first adds the escalation tag with the Add Tags endpoint
// (PUT /api/v2/tickets/{id}/tags, which keeps the ticket's other tags and
// does nothing for a tag it has), so that a retry after a failed comment
// repeats only that harmless call. Zendesk takes no idempotency key on
// ticket updates: a retry posts the comment again only if Zendesk failed
// after storing it.
func (z *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	id := r.ConversationID
	if !isTicketID(id) {
		return bot.Permanent(errors.New("post zendesk comment: conversation id is not a ticket id"))
	}
	if r.Kind == bot.ReplyHandoff {
		if err := z.api.Do(ctx, "tag zendesk ticket", http.MethodPut, "/api/v2/tickets/"+id+"/tags",
			map[string]any{"tags": []string{z.tag}}, nil); err != nil {
			return err
		}
	}
	return z.api.Do(ctx, "post zendesk comment", http.MethodPut, "/api/v2/tickets/"+id+".json", map[string]any{
		"ticket": map[string]any{"comment": map[string]any{"body": deliver.Text(r), "public": true}},
	}, nil)
}

// isTicketID reports whether s is a Zendesk ticket id: a positive integer.
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
