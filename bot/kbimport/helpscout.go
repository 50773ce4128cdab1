package kbimport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// DefaultHelpScoutDocsURL is the Help Scout Docs API.
const DefaultHelpScoutDocsURL = "https://docsapi.helpscout.net"

// HelpScoutConfig is a Help Scout Docs site.
type HelpScoutConfig struct {
	BaseURL string // default DefaultHelpScoutDocsURL
	// APIKey is a user's Docs API key (Your Profile → Authentication → API
	// Keys), not the Mailbox API's OAuth app.
	APIKey string
	// Check names the credential in errors (default "the Docs API key").
	Check string
}

// HelpScout reads Help Scout Docs with the Docs API, the API key as the
// Basic user name and "X" as the password: the collections
// (GET /v1/collections), each collection's article list
// (GET /v1/collections/{id}/articles?status=all&sort=updatedAt&order=desc),
// and each changed published article (GET /v1/articles/{id}) for its
// HTML text. The list is sorted by updatedAt, newest first, and takes no
// updated-since filter: an incremental run reads each collection's pages
// until an article not changed since the cursor (the newest updatedAt
// seen). Articles with status "notpublished" and every article of a
// private collection (visibility "private", an internal one) are skipped
// and their files removed. A first or --full run reads every list, and
// removes the files of deleted articles.
type HelpScout struct {
	client *Client
}

var _ Source = (*HelpScout)(nil)

// NewHelpScout validates cfg. client is the outbound client (nil: deliver's default).
func NewHelpScout(cfg HelpScoutConfig, client *http.Client) (*HelpScout, error) {
	base, err := deliver.CheckBaseURL("base_url", cmp.Or(cfg.BaseURL, DefaultHelpScoutDocsURL))
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("api_key: required, a Help Scout Docs API key")
	}
	return &HelpScout{client: &Client{
		HTTPClient: client, BaseURL: base, Vendor: "helpscout",
		Check:     orDefault(cfg.Check, "the Docs API key"),
		Authorize: func(r *http.Request) { r.SetBasicAuth(cfg.APIKey, "X") },
		Redact:    []string{cfg.APIKey},
		// A 429 carries Retry-After; Help Scout's Mailbox API names it
		// X-RateLimit-Retry-After, read as a fallback.
		RetryAfter: deliver.SecondsRetryAfter("X-RateLimit-Retry-After"),
	}}, nil
}

// Client returns the HTTP client, for tests to set its seams.
func (h *HelpScout) Client() *Client { return h.client }

// Vendor returns "helpscout".
func (h *HelpScout) Vendor() string { return "helpscout" }

type helpScoutPage[T any] struct {
	Page  int `json:"page"`
	Pages int `json:"pages"`
	Count int `json:"count"`
	Items []T `json:"items"`
}

type helpScoutCollection struct {
	ID         string `json:"id"`
	Visibility string `json:"visibility"`
	Name       string `json:"name"`
}

type helpScoutRef struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	UpdatedAt string `json:"updatedAt"`
}

type helpScoutArticle struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Text      string   `json:"text"`
	Status    string   `json:"status"`
	PublicURL string   `json:"publicUrl"`
	Keywords  []string `json:"keywords"`
	UpdatedAt string   `json:"updatedAt"`
}

// helpScoutPageSize is pageSize: the Docs API allows up to 100.
const helpScoutPageSize = 100

// Fetch lists the articles changed since cursor (an RFC 3339 time; "" for all).
func (h *HelpScout) Fetch(ctx context.Context, cursor string) (Batch, error) {
	var since time.Time
	if cursor != "" {
		t, err := time.Parse(time.RFC3339, cursor)
		if err != nil {
			return Batch{}, fmt.Errorf("bad helpscout cursor %q", cursor)
		}
		since = t
	}
	b := Batch{Complete: since.IsZero(), Cursor: cursor}
	newest := since
	var collections []helpScoutCollection
	for page := 1; ; page++ {
		if page > maxPages {
			return Batch{}, fmt.Errorf("list helpscout collections: more than %d pages", maxPages)
		}
		var resp struct {
			Collections helpScoutPage[helpScoutCollection] `json:"collections"`
		}
		if _, err := h.client.Get(ctx, "list helpscout collections", "/v1/collections?page="+strconv.Itoa(page), &resp); err != nil {
			return Batch{}, err
		}
		collections = append(collections, resp.Collections.Items...)
		if len(resp.Collections.Items) == 0 || page >= resp.Collections.Pages {
			break
		}
	}
	for _, c := range collections {
		refs, err := h.changed(ctx, c.ID, since)
		if err != nil {
			return Batch{}, err
		}
		for _, r := range refs {
			if t := parseTime(r.UpdatedAt); t.After(newest) {
				newest = t
			}
			if r.Status != "published" || c.Visibility == "private" {
				b.Removed = append(b.Removed, r.ID)
				continue
			}
			var resp struct {
				Article helpScoutArticle `json:"article"`
			}
			if _, err := h.client.Get(ctx, "get helpscout article", "/v1/articles/"+url.PathEscape(r.ID), &resp); err != nil {
				return Batch{}, err
			}
			a := resp.Article
			if a.Status != "" && a.Status != "published" {
				b.Removed = append(b.Removed, r.ID)
				continue
			}
			b.Articles = append(b.Articles, Article{
				ID: r.ID, Title: a.Name, URL: a.PublicURL, Tags: a.Keywords,
				UpdatedAt: parseTime(cmp.Or(a.UpdatedAt, r.UpdatedAt)), Body: a.Text,
			})
		}
	}
	if !newest.IsZero() {
		b.Cursor = newest.UTC().Format(time.RFC3339)
	}
	return b, nil
}

// changed returns the article refs of a collection updated at or after
// since (all of them when since is zero).
func (h *HelpScout) changed(ctx context.Context, collection string, since time.Time) ([]helpScoutRef, error) {
	var out []helpScoutRef
	for page := 1; page <= maxPages; page++ {
		var resp struct {
			Articles helpScoutPage[helpScoutRef] `json:"articles"`
		}
		path := "/v1/collections/" + url.PathEscape(collection) + "/articles?status=all&sort=updatedAt&order=desc&pageSize=" +
			strconv.Itoa(helpScoutPageSize) + "&page=" + strconv.Itoa(page)
		if _, err := h.client.Get(ctx, "list helpscout articles", path, &resp); err != nil {
			return nil, err
		}
		for _, r := range resp.Articles.Items {
			if !since.IsZero() && parseTime(r.UpdatedAt).Before(since) {
				return out, nil // newest first: the rest is unchanged
			}
			out = append(out, r)
		}
		if len(resp.Articles.Items) == 0 || page >= resp.Articles.Pages {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list helpscout articles: more than %d pages", maxPages)
}
