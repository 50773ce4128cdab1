// Package intercom is the Intercom reply channel: answers posted as admin
// replies on the conversation through Intercom's REST API, hand-offs
// tagging the conversation so that the team's inbox views and workflows
// pick it up. The inbound side is triggers/intercom.
//
// A hand-off tags rather than assigns: the tag (escalation_tag, default
// supportbot-escalated) is looked up, or created, by name once
// (POST /tags returns the existing tag for a known name) and its id cached;
// the conversation is tagged before the hand-off message is posted, so that
// a failure between the two never posts the message twice on retry. The
// replies are posted as the admin admin_id, whose replies Intercom notifies
// as conversation.admin.replied, a topic the trigger ignores.
package intercom

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

// Defaults.
const (
	// DefaultBaseURL is Intercom's US region; the EU and Australian
	// workspaces use https://api.eu.intercom.io and https://api.au.intercom.io.
	DefaultBaseURL = "https://api.intercom.io"
	// Version is the Intercom-Version the requests are written for.
	Version = "2.11"
	// RateLimitReset names the header with the Unix time at which
	// Intercom's rate-limit window resets.
	RateLimitReset = "X-RateLimit-Reset"
)

// Config is the Intercom API a trigger's replies go to.
type Config struct {
	BaseURL       string // default DefaultBaseURL
	AccessToken   string // the app's access token
	AdminID       string // the admin the replies are posted as
	EscalationTag string // default deliver.DefaultEscalationTag
	Timeout       time.Duration
}

// Deliverer posts replies as admin comments through Intercom's API and
// tags escalated conversations.
type Deliverer struct {
	api   deliver.API
	admin string
	tag   string

	mu    sync.Mutex
	tagID string // cached id of tag; "" until looked up
}

var _ bot.Deliverer = (*Deliverer)(nil)

// New validates cfg; errors name the reply key (reply.base_url,
// reply.access_token, reply.admin_id). client is the outbound client (nil:
// deliver's default).
func New(cfg Config, client *http.Client) (*Deliverer, error) {
	base, err := deliver.CheckBaseURL("reply.base_url", cmp.Or(cfg.BaseURL, DefaultBaseURL))
	if err != nil {
		return nil, err
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("reply.access_token: required")
	}
	if strings.TrimSpace(cfg.AdminID) == "" || strings.ContainsAny(cfg.AdminID, "/?#") {
		return nil, errors.New("reply.admin_id: required, the id of the Intercom admin the replies are posted as")
	}
	token := cfg.AccessToken
	return &Deliverer{
		admin: cfg.AdminID,
		tag:   cmp.Or(strings.TrimSpace(cfg.EscalationTag), deliver.DefaultEscalationTag),
		api: deliver.API{
			HTTPClient: client, BaseURL: base, Timeout: cfg.Timeout,
			Authorize: func(_ context.Context, req *http.Request) error {
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Intercom-Version", Version)
				return nil
			},
			Redact:     []string{token},
			RetryAfter: deliver.ResetRetryAfter(RateLimitReset),
		},
	}, nil
}

// Deliver posts r as an admin comment on its conversation; a hand-off
// tags the conversation first. Intercom has no idempotency key: a reply is
// posted twice only if Intercom failed after storing it.
func (d *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	if r.ConversationID == "" {
		return bot.Permanent(errors.New("post intercom reply: empty conversation id"))
	}
	path := "/conversations/" + url.PathEscape(r.ConversationID)
	if r.Kind == bot.ReplyHandoff {
		if err := d.tagConversation(ctx, path); err != nil {
			return err
		}
	}
	return d.api.Do(ctx, "post intercom reply", http.MethodPost, path+"/reply", map[string]any{
		"message_type": "comment", "type": "admin", "admin_id": d.admin, "body": deliver.HTML(deliver.Text(r)),
	}, nil)
}

// tagConversation puts the escalation tag on the conversation at path. A
// cached tag id that Intercom no longer knows (the tag was deleted) is
// looked up again once.
func (d *Deliverer) tagConversation(ctx context.Context, path string) error {
	for attempt := 0; ; attempt++ {
		id, cached, err := d.tagIDFor(ctx)
		if err != nil {
			return err
		}
		err = d.api.Do(ctx, "tag intercom conversation", http.MethodPost, path+"/tags", map[string]any{
			"id": id, "admin_id": d.admin,
		}, nil)
		var se *deliver.StatusError
		if err != nil && cached && attempt == 0 && errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
			d.forgetTag(id)
			continue
		}
		return err
	}
}

// tagIDFor returns the escalation tag's id, creating the tag if Intercom
// has none by that name; cached reports whether it came from the cache.
func (d *Deliverer) tagIDFor(ctx context.Context) (id string, cached bool, err error) {
	d.mu.Lock()
	id = d.tagID
	d.mu.Unlock()
	if id != "" {
		return id, true, nil
	}
	var tag struct {
		// ID is a string in API 2.x; a number is taken too.
		ID any `json:"id"`
	}
	if err := d.api.Do(ctx, "create intercom tag", http.MethodPost, "/tags", map[string]any{"name": d.tag}, &tag); err != nil {
		return "", false, err
	}
	switch v := tag.ID.(type) {
	case string:
		id = v
	case float64:
		id = strconv.FormatFloat(v, 'f', -1, 64)
	}
	if id == "" {
		return "", false, errors.New("create intercom tag: no id in the response")
	}
	d.mu.Lock()
	d.tagID = id
	d.mu.Unlock()
	return id, false, nil
}

func (d *Deliverer) forgetTag(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tagID == id {
		d.tagID = ""
	}
}
