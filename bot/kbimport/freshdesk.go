package kbimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// FreshdeskConfig is a Freshdesk account's knowledge base (Solutions).
type FreshdeskConfig struct {
	BaseURL string // https://DOMAIN.freshdesk.com
	APIKey  string // an agent's API key
	// Check names the credential in errors (default "the API key").
	Check string
}

// Freshdesk reads the Solutions knowledge base: the categories
// (GET /api/v2/solutions/categories), each category's folders
// (GET /api/v2/solutions/categories/{id}/folders) and each folder's
// articles (GET /api/v2/solutions/folders/{id}/articles), authenticated
// with the API key as the Basic user name and "X" as the password, 100 a
// page, following the Link header's next page. The Solutions API has no
// updated-since filter: every run lists every article (a complete
// listing, so the files of deleted articles are removed) and rewrites
// only the files whose article changed. Drafts (status 1) and the
// articles of folders visible to agents only (visibility 3) are skipped
// and their files removed. Freshdesk gives no article URL: it is the
// portal's /support/solutions/articles/{id}.
type Freshdesk struct {
	client *Client
	base   string
}

var _ Source = (*Freshdesk)(nil)

// Freshdesk's article status and folder visibility values.
const (
	freshdeskPublished  = 2
	freshdeskAgentsOnly = 3
)

// NewFreshdesk validates cfg. client is the outbound client (nil: deliver's default).
func NewFreshdesk(cfg FreshdeskConfig, client *http.Client) (*Freshdesk, error) {
	base, err := deliver.CheckBaseURL("base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("api_key: required")
	}
	return &Freshdesk{base: base, client: &Client{
		HTTPClient: client, BaseURL: base, Vendor: "freshdesk",
		Check:     orDefault(cfg.Check, "the API key"),
		Authorize: func(r *http.Request) { r.SetBasicAuth(cfg.APIKey, "X") },
		Redact:    []string{cfg.APIKey},
		// Freshdesk's 429 carries Retry-After in seconds.
		RetryAfter: deliver.StandardRetryAfter,
	}}, nil
}

// Client returns the HTTP client, for tests to set its seams.
func (f *Freshdesk) Client() *Client { return f.client }

// Vendor returns "freshdesk".
func (f *Freshdesk) Vendor() string { return "freshdesk" }

type freshdeskFolder struct {
	ID         int64 `json:"id"`
	Visibility int   `json:"visibility"`
}

type freshdeskArticle struct {
	ID          int64    `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Status      int      `json:"status"`
	Tags        []string `json:"tags"`
	UpdatedAt   string   `json:"updated_at"`
}

// Fetch lists every article; cursor is only reported back (the newest
// updated_at).
func (f *Freshdesk) Fetch(ctx context.Context, cursor string) (Batch, error) {
	b := Batch{Complete: true, Cursor: cursor}
	var newest time.Time
	var categories []struct {
		ID int64 `json:"id"`
	}
	if err := f.list(ctx, "list freshdesk categories", "/api/v2/solutions/categories", &categories); err != nil {
		return Batch{}, err
	}
	for _, c := range categories {
		var folders []freshdeskFolder
		if err := f.list(ctx, "list freshdesk folders", "/api/v2/solutions/categories/"+strconv.FormatInt(c.ID, 10)+"/folders", &folders); err != nil {
			return Batch{}, err
		}
		for _, folder := range folders {
			var articles []freshdeskArticle
			if err := f.list(ctx, "list freshdesk articles", "/api/v2/solutions/folders/"+strconv.FormatInt(folder.ID, 10)+"/articles", &articles); err != nil {
				return Batch{}, err
			}
			for _, a := range articles {
				id := strconv.FormatInt(a.ID, 10)
				t := parseTime(a.UpdatedAt)
				if t.After(newest) {
					newest = t
				}
				if a.Status != freshdeskPublished || folder.Visibility == freshdeskAgentsOnly {
					b.Removed = append(b.Removed, id)
					continue
				}
				b.Articles = append(b.Articles, Article{
					ID: id, Title: a.Title, URL: f.base + "/support/solutions/articles/" + id,
					Tags: a.Tags, UpdatedAt: t, Body: a.Description,
				})
			}
		}
	}
	if !newest.IsZero() {
		b.Cursor = newest.UTC().Format(time.RFC3339)
	}
	return b, nil
}

// list reads every page of a list endpoint into out (a pointer to a slice),
// 100 a page, following the Link header's rel="next".
func (f *Freshdesk) list(ctx context.Context, op, path string, out any) error {
	next := path + "?per_page=100"
	var all []jsonRaw
	for range maxPages {
		var page []jsonRaw
		h, err := f.client.Get(ctx, op, next, &page)
		if err != nil {
			return err
		}
		all = append(all, page...)
		next = nextLink(h.Get("Link"))
		if next == "" || len(page) == 0 {
			return decodeAll(all, out)
		}
	}
	return fmt.Errorf("%s: more than %d pages", op, maxPages)
}

// nextLink returns the rel="next" target of a Link header, or "".
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(part, ";")
		if !ok {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
				return strings.Trim(strings.TrimSpace(target), "<>")
			}
		}
	}
	return ""
}

type jsonRaw = json.RawMessage

// decodeAll decodes the items of several pages into out, a pointer to a
// slice.
func decodeAll(items []jsonRaw, out any) error {
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
