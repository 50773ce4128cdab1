package kbimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// ChatwootConfig is a Chatwoot help-center portal.
type ChatwootConfig struct {
	BaseURL   string // e.g. https://app.chatwoot.com
	AccountID string
	Portal    string // the portal's slug
	Token     string // api_access_token of an agent or admin
	// Check names the credential in errors (default "the api_access_token").
	Check string
}

// Chatwoot reads a help-center portal's articles with
// GET /api/v1/accounts/{account_id}/portals/{portal}/articles?page=N
// (header api_access_token): {"payload": [article], "meta":
// {"articles_count": ..., "current_page": ...}}, ordered by updated_at,
// newest first. The endpoint has no updated-since filter: an incremental
// run reads pages until an article not changed since the cursor (the
// newest updated_at seen), and reads everything if the order is not
// newest first. Articles whose status is not "published" (draft,
// archived) are skipped and their files removed; Chatwoot has no internal
// articles. The content is Markdown already. The URL is the portal's
// public /hc/{portal}/articles/{slug} (Chatwoot's config/routes.rb), on
// the portal's custom domain when it has one. Only a first or --full run walks
// the whole list, and removes the files of deleted articles.
type Chatwoot struct {
	client  *Client
	base    string
	account string
	portal  string
}

var _ Source = (*Chatwoot)(nil)

// NewChatwoot validates cfg. client is the outbound client (nil: deliver's default).
func NewChatwoot(cfg ChatwootConfig, client *http.Client) (*Chatwoot, error) {
	base, err := deliver.CheckBaseURL("base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.ParseUint(cfg.AccountID, 10, 64); err != nil {
		return nil, errors.New("account_id: required, the numeric Chatwoot account id")
	}
	if cfg.Portal == "" || strings.ContainsAny(cfg.Portal, "/?#% ") {
		return nil, errors.New("portal: required, the help-center portal's slug")
	}
	if cfg.Token == "" {
		return nil, errors.New("api_access_token: required")
	}
	return &Chatwoot{base: base, account: cfg.AccountID, portal: cfg.Portal, client: &Client{
		HTTPClient: client, BaseURL: base, Vendor: "chatwoot",
		Check:      orDefault(cfg.Check, "the api_access_token"),
		Authorize:  func(r *http.Request) { r.Header.Set("api_access_token", cfg.Token) },
		Redact:     []string{cfg.Token},
		RetryAfter: deliver.StandardRetryAfter,
	}}, nil
}

// Client returns the HTTP client, for tests to set its seams.
func (c *Chatwoot) Client() *Client { return c.client }

// Vendor returns "chatwoot".
func (c *Chatwoot) Vendor() string { return "chatwoot" }

type chatwootArticle struct {
	ID        json.Number `json:"id"`
	Slug      string      `json:"slug"`
	Title     string      `json:"title"`
	Content   string      `json:"content"`
	Status    string      `json:"status"`
	Locale    string      `json:"locale"`
	UpdatedAt int64       `json:"updated_at"`
	Meta      struct {
		Tags []string `json:"tags"`
	} `json:"meta"`
	Category struct {
		Locale string `json:"locale"`
	} `json:"category"`
	Portal struct {
		CustomDomain string `json:"custom_domain"`
	} `json:"portal"`
}

// Fetch lists the articles changed since cursor (unix seconds; "" for all).
func (c *Chatwoot) Fetch(ctx context.Context, cursor string) (Batch, error) {
	since := int64(-1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil {
			return Batch{}, fmt.Errorf("bad chatwoot cursor %q", cursor)
		}
		since = n
	}
	b := Batch{Complete: since < 0, Cursor: cursor}
	newest := since
	seen := map[string]bool{}
	descending := true
	prev := int64(-1)
	read := 0
	for page := 1; page <= maxPages; page++ {
		var resp struct {
			Payload []chatwootArticle `json:"payload"`
			Meta    struct {
				ArticlesCount int `json:"articles_count"`
			} `json:"meta"`
		}
		path := "/api/v1/accounts/" + c.account + "/portals/" + url.PathEscape(c.portal) + "/articles?page=" + strconv.Itoa(page)
		if _, err := c.client.Get(ctx, "list chatwoot articles", path, &resp); err != nil {
			return Batch{}, err
		}
		older := false
		for _, a := range resp.Payload {
			read++
			if prev >= 0 && a.UpdatedAt > prev {
				descending = false // not newest first: read every page
			}
			prev = a.UpdatedAt
			if descending && a.UpdatedAt < since {
				older = true
				break
			}
			id := a.ID.String()
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			if a.UpdatedAt < since {
				continue
			}
			newest = max(newest, a.UpdatedAt)
			if a.Status != "published" {
				b.Removed = append(b.Removed, id)
				continue
			}
			b.Articles = append(b.Articles, Article{
				ID: id, Title: a.Title, URL: c.articleURL(a), Tags: a.Meta.Tags,
				Locale: firstNonEmpty(a.Locale, a.Category.Locale), UpdatedAt: time.Unix(a.UpdatedAt, 0).UTC(),
				Body: a.Content, Markdown: true,
			})
		}
		if older || len(resp.Payload) == 0 || (resp.Meta.ArticlesCount > 0 && read >= resp.Meta.ArticlesCount) {
			if newest >= 0 {
				b.Cursor = strconv.FormatInt(newest, 10)
			}
			b.Complete = b.Complete && !older
			return b, nil
		}
	}
	return Batch{}, fmt.Errorf("list chatwoot articles: more than %d pages", maxPages)
}

func (c *Chatwoot) articleURL(a chatwootArticle) string {
	slug := a.Slug
	if slug == "" {
		slug = a.ID.String()
	}
	host := c.base
	if d := strings.TrimSpace(a.Portal.CustomDomain); d != "" && !strings.ContainsAny(d, "/?#@ ") {
		// A portal on its own domain is served there.
		host = "https://" + d
	}
	return host + "/hc/" + url.PathEscape(c.portal) + "/articles/" + url.PathEscape(slug)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
