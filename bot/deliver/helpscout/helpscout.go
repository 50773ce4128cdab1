// Package helpscout is the Help Scout reply channel: answers posted as
// reply threads through the Mailbox API 2.0, hand-offs tagging the
// conversation so that the team's views and workflows pick it up. The
// inbound side is triggers/helpscout.
//
// Authentication is OAuth2 client credentials (reply.app_id and
// reply.app_secret of a Help Scout app): the token from /v2/oauth2/token is
// cached until shortly before it expires, and fetched anew once when the
// API answers 401.
//
// The reply endpoint needs the customer's id, which a bot.Reply does not
// carry: each delivery first reads the conversation (GET
// /v2/conversations/{id}) for its primary customer and its tags. Help
// Scout's tag update replaces the whole list, so a hand-off writes the
// tags read plus the escalation tag (escalation_tag, default
// supportbot-escalated), and does so before the hand-off message is posted,
// so that a failure between the two never posts the message twice on
// retry. Replies are posted as the app's user; Help Scout notifies them as
// convo.agent.reply.created, an event the trigger ignores.
package helpscout

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

// Defaults.
const (
	// DefaultBaseURL is the Mailbox API's address.
	DefaultBaseURL = "https://api.helpscout.net"
	// TokenPath is where OAuth2 tokens are issued, under the base URL.
	TokenPath = "/v2/oauth2/token"
	// RateLimitRetryAfter names the header with the seconds to wait after
	// Help Scout's rate limit was reached.
	RateLimitRetryAfter = "X-RateLimit-Retry-After"
)

// Config is the Help Scout API a trigger's replies go to.
type Config struct {
	BaseURL       string // default DefaultBaseURL
	AppID         string // OAuth2 client id
	AppSecret     string // OAuth2 client secret
	EscalationTag string // default deliver.DefaultEscalationTag
	Timeout       time.Duration
}

// Deliverer posts replies as reply threads through Help Scout's Mailbox
// API and tags escalated conversations.
type Deliverer struct {
	api    deliver.API
	client *http.Client
	oauth  clientcredentials.Config
	tag    string

	// lock guards token; a channel rather than a mutex so that a caller
	// waiting for another's token fetch still honours its ctx.
	lock  chan struct{}
	token *oauth2.Token
}

var _ bot.Deliverer = (*Deliverer)(nil)

// New validates cfg; errors name the reply key (reply.base_url,
// reply.app_id, reply.app_secret). client is the outbound client (nil:
// deliver's default), used for the token requests too.
func New(cfg Config, client *http.Client) (*Deliverer, error) {
	base, err := deliver.CheckBaseURL("reply.base_url", cmp.Or(cfg.BaseURL, DefaultBaseURL))
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.AppID) == "" {
		return nil, errors.New("reply.app_id: required, the Help Scout app's id")
	}
	if cfg.AppSecret == "" {
		return nil, errors.New("reply.app_secret: required")
	}
	if client == nil {
		client = deliver.NewHTTPClient(deliver.ClientOptions{Timeout: cfg.Timeout})
	}
	d := &Deliverer{
		client: client,
		tag:    cmp.Or(strings.TrimSpace(cfg.EscalationTag), deliver.DefaultEscalationTag),
		lock:   make(chan struct{}, 1),
		oauth: clientcredentials.Config{
			ClientID: cfg.AppID, ClientSecret: cfg.AppSecret, TokenURL: base + TokenPath,
			// Help Scout takes the credentials as form parameters.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	d.api = deliver.API{
		HTTPClient: client, BaseURL: base, Timeout: cfg.Timeout,
		Authorize: func(ctx context.Context, req *http.Request) error {
			tok, err := d.accessToken(ctx)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			return nil
		},
		Redact:     []string{cfg.AppSecret},
		RetryAfter: deliver.SecondsRetryAfter(RateLimitRetryAfter),
	}
	return d, nil
}

// Deliver posts r as a reply thread to the conversation's primary
// customer; a hand-off tags the conversation first. Help Scout has no
// idempotency key: a reply is posted twice only if Help Scout failed after
// storing it.
func (d *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	if r.ConversationID == "" {
		return bot.Permanent(errors.New("post help scout reply: empty conversation id"))
	}
	path := "/v2/conversations/" + url.PathEscape(r.ConversationID)
	var conv struct {
		PrimaryCustomer struct {
			ID json.Number `json:"id"`
		} `json:"primaryCustomer"`
		Tags []struct {
			Tag string `json:"tag"`
		} `json:"tags"`
	}
	if err := d.do(ctx, "get help scout conversation", http.MethodGet, path, nil, &conv); err != nil {
		return err
	}
	customer, err := strconv.ParseInt(conv.PrimaryCustomer.ID.String(), 10, 64)
	if err != nil || customer <= 0 {
		return bot.Permanent(fmt.Errorf("get help scout conversation %s: no primary customer", r.ConversationID))
	}
	if r.Kind == bot.ReplyHandoff {
		tags := make([]string, 0, len(conv.Tags)+1)
		has := false
		for _, t := range conv.Tags {
			tags = append(tags, t.Tag)
			has = has || strings.EqualFold(t.Tag, d.tag)
		}
		if !has {
			if err := d.do(ctx, "tag help scout conversation", http.MethodPut, path+"/tags", map[string]any{"tags": append(tags, d.tag)}, nil); err != nil {
				return err
			}
		}
	}
	return d.do(ctx, "post help scout reply", http.MethodPost, path+"/reply", map[string]any{
		"customer": map[string]any{"id": customer},
		"text":     deliver.HTML(deliver.Text(r)),
	}, nil)
}

// do sends one API request; a 401 from the API (not from the token
// endpoint) drops the cached token and sends the request once more with a
// new one.
func (d *Deliverer) do(ctx context.Context, op, method, path string, in, out any) error {
	err := d.api.Do(ctx, op, method, path, in, out)
	var se *deliver.StatusError
	var te *tokenFailure
	if errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized && !errors.As(err, &te) {
		if derr := d.dropToken(ctx); derr != nil {
			return err
		}
		err = d.api.Do(ctx, op, method, path, in, out)
	}
	return err
}

// accessToken returns the cached token, or fetches one when there is none
// or it is about to expire.
func (d *Deliverer) accessToken(ctx context.Context) (string, error) {
	select {
	case d.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-d.lock }()
	if d.token.Valid() {
		return d.token.AccessToken, nil
	}
	tok, err := d.oauth.Token(context.WithValue(ctx, oauth2.HTTPClient, d.client))
	if err != nil {
		return "", &tokenFailure{err: tokenError(err, d.api.Now)}
	}
	d.token = tok
	return tok.AccessToken, nil
}

// dropToken forgets the cached token, so that the next request fetches a
// new one.
func (d *Deliverer) dropToken(ctx context.Context) error {
	select {
	case d.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	d.token = nil
	<-d.lock
	return nil
}

// tokenFailure marks an error of the token request, which a new token
// cannot cure.
type tokenFailure struct{ err error }

func (e *tokenFailure) Error() string { return e.err.Error() }
func (e *tokenFailure) Unwrap() error { return e.err }

// tokenError classes a failed token request like any API response: a
// refusal of the credentials is permanent, a rate limit waits for Help
// Scout's delay, a blocked address is permanent, the rest is retried. The
// response body is not quoted; only the OAuth error code is kept.
func tokenError(err error, now func() time.Time) error {
	const op = "fetch help scout token"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		serr := &deliver.StatusError{StatusCode: re.Response.StatusCode, Body: re.ErrorCode}
		werr := fmt.Errorf("%s: %w", op, serr)
		code := serr.StatusCode
		switch {
		case code == http.StatusBadRequest || code == http.StatusUnauthorized || code == http.StatusForbidden:
			// invalid_client and friends: wrong app id or secret.
			return bot.Permanent(werr)
		case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
			t := time.Now()
			if now != nil {
				t = now()
			}
			if delay, ok := deliver.SecondsRetryAfter(RateLimitRetryAfter)(re.Response.Header, t); ok {
				return bot.RetryAfter(delay, werr)
			}
			return werr
		case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusConflict:
			return bot.Permanent(werr)
		}
		return werr
	}
	if errors.Is(err, deliver.ErrBlockedAddress) {
		return bot.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}
