package deliver

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// ChatwootConfig is the Chatwoot API a trigger's replies go to.
type ChatwootConfig struct {
	BaseURL   string // e.g. https://app.chatwoot.com
	AccountID string
	Token     string // api_access_token of an agent or agent bot
	Timeout   time.Duration
}

// Chatwoot posts replies as outgoing messages on the conversation through
// Chatwoot's API, and on a hand-off opens the conversation (pending → open)
// so that the inbox's agents see it.
type Chatwoot struct {
	HTTPClient *http.Client
	Now        func() time.Time

	base, account, token string
	timeout              time.Duration
}

var _ bot.Deliverer = (*Chatwoot)(nil)

// NewChatwoot validates cfg; errors name the reply key.
func NewChatwoot(cfg ChatwootConfig) (*Chatwoot, error) {
	if err := CheckURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("reply.base_url: %w", err)
	}
	if strings.TrimSpace(cfg.AccountID) == "" || strings.ContainsAny(cfg.AccountID, "/?#") {
		return nil, errors.New("reply.account_id: required, a Chatwoot account id")
	}
	if cfg.Token == "" {
		return nil, errors.New("reply.api_access_token: required")
	}
	return &Chatwoot{
		base: strings.TrimRight(cfg.BaseURL, "/"), account: cfg.AccountID, token: cfg.Token,
		timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
	}, nil
}

// Deliver posts r on its conversation; a hand-off also opens the
// conversation for the inbox's agents. A retried hand-off may post the
// message again only if Chatwoot failed after storing it (Chatwoot has no
// idempotency key).
func (c *Chatwoot) Deliver(ctx context.Context, r bot.Reply) error {
	conv := url.PathEscape(r.ConversationID)
	if conv == "" {
		return bot.Permanent(errors.New("post chatwoot message: empty conversation id"))
	}
	path := "/api/v1/accounts/" + url.PathEscape(c.account) + "/conversations/" + conv
	if err := c.post(ctx, path+"/messages", map[string]any{
		"content": r.Text, "message_type": "outgoing", "private": false, "content_type": "text",
	}); err != nil {
		return fmt.Errorf("post chatwoot message: %w", err)
	}
	if r.Kind == bot.ReplyHandoff {
		if err := c.post(ctx, path+"/toggle_status", map[string]any{"status": "open"}); err != nil {
			return fmt.Errorf("open chatwoot conversation: %w", err)
		}
	}
	return nil
}

func (c *Chatwoot) post(ctx context.Context, path string, v any) error {
	body, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return bot.Permanent(errors.New("bad request URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("api_access_token", c.token)
	client := c.HTTPClient
	if client == nil {
		client = NewHTTPClient(ClientOptions{})
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, ErrBlockedAddress) {
			return bot.Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	serr := &StatusError{StatusCode: resp.StatusCode, Body: sanitize(data, []string{c.token})}
	return classifyStatus(serr, resp.Header.Get("Retry-After"), now)
}
