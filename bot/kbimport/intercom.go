package kbimport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
	icreply "github.com/supportbot/supportbot/bot/deliver/intercom"
)

// IntercomConfig is an Intercom workspace's help center.
type IntercomConfig struct {
	BaseURL     string // default https://api.intercom.io (or the EU or AU region)
	AccessToken string
	// Check names the credential in errors (default "the access token").
	Check string
}

// Intercom reads the public help-center articles with
// GET /articles?page=N&per_page=50 (Bearer token, Intercom-Version
// header). The list is sorted by updated_at, newest first, and takes no
// updated-since filter: an incremental run reads pages until it reaches an
// article not changed since the cursor (the newest updated_at seen), so it
// usually reads one page. Drafts (state "draft") are skipped and their
// files removed. Internal articles are a separate API
// (/internal_articles) that is never called. Only a first or --full run
// walks the whole list, and removes the files of deleted articles.
type Intercom struct {
	client *Client
}

var _ Source = (*Intercom)(nil)

// intercomPageSize is per_page: Intercom allows up to 250.
const intercomPageSize = 50

// NewIntercom validates cfg. client is the outbound client (nil: deliver's default).
func NewIntercom(cfg IntercomConfig, client *http.Client) (*Intercom, error) {
	base, err := deliver.CheckBaseURL("base_url", cmp.Or(cfg.BaseURL, icreply.DefaultBaseURL))
	if err != nil {
		return nil, err
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("access_token: required")
	}
	token := cfg.AccessToken
	return &Intercom{client: &Client{
		HTTPClient: client, BaseURL: base, Vendor: "intercom",
		Check: orDefault(cfg.Check, "the access token (and its read_articles scope)"),
		Authorize: func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+token)
			r.Header.Set("Intercom-Version", icreply.Version)
		},
		Redact:     []string{token},
		RetryAfter: deliver.ResetRetryAfter(icreply.RateLimitReset),
	}}, nil
}

// Client returns the HTTP client, for tests to set its seams.
func (ic *Intercom) Client() *Client { return ic.client }

// Vendor returns "intercom".
func (ic *Intercom) Vendor() string { return "intercom" }

type intercomArticle struct {
	ID            json.Number `json:"id"`
	Title         string      `json:"title"`
	Body          string      `json:"body"`
	State         string      `json:"state"`
	UpdatedAt     int64       `json:"updated_at"`
	URL           string      `json:"url"`
	DefaultLocale string      `json:"default_locale"`
}

type intercomList struct {
	Data  []intercomArticle `json:"data"`
	Pages struct {
		Page       flexInt `json:"page"`
		TotalPages flexInt `json:"total_pages"`
	} `json:"pages"`
}

// Fetch lists the articles changed since cursor (unix seconds; "" for all).
func (ic *Intercom) Fetch(ctx context.Context, cursor string) (Batch, error) {
	since := int64(-1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil {
			return Batch{}, fmt.Errorf("bad intercom cursor %q", cursor)
		}
		since = n
	}
	b := Batch{Complete: since < 0, Cursor: cursor}
	newest := since
	seen := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		var l intercomList
		path := "/articles?page=" + strconv.Itoa(page) + "&per_page=" + strconv.Itoa(intercomPageSize)
		if _, err := ic.client.Get(ctx, "list intercom articles", path, &l); err != nil {
			return Batch{}, err
		}
		older := false
		for _, a := range l.Data {
			if a.UpdatedAt < since {
				// Sorted newest first: the rest is unchanged.
				older = true
				break
			}
			id := a.ID.String()
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			newest = max(newest, a.UpdatedAt)
			if a.State != "published" {
				b.Removed = append(b.Removed, id)
				continue
			}
			b.Articles = append(b.Articles, Article{
				ID: id, Title: a.Title, URL: a.URL, Locale: a.DefaultLocale,
				UpdatedAt: time.Unix(a.UpdatedAt, 0).UTC(), Body: a.Body,
			})
		}
		if older || len(l.Data) == 0 || page >= int(l.Pages.TotalPages) {
			if newest >= 0 {
				b.Cursor = strconv.FormatInt(newest, 10)
			}
			b.Complete = b.Complete && !older
			return b, nil
		}
	}
	return Batch{}, fmt.Errorf("list intercom articles: more than %d pages", maxPages)
}

// flexInt decodes a number given as a JSON number or string: Intercom
// documents pages.page and pages.per_page as strings when the request
// names them.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = flexInt(v)
	return nil
}
