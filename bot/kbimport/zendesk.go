package kbimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// ZendeskConfig is a Zendesk Guide help center.
type ZendeskConfig struct {
	BaseURL  string // https://SUBDOMAIN.zendesk.com
	Email    string // an agent's or admin's e-mail address
	APIToken string
	// Check names the credentials in errors (default "the e-mail and API token").
	Check string
}

// Zendesk reads articles with Zendesk Guide's incremental article export,
// GET /api/v2/help_center/incremental/articles?start_time=<unix seconds>
// (agents and admins only), authenticated as {email}/token:{api_token}.
// Each page holds up to 1,000 articles that changed after start_time, and
// its next_page link carries the next start_time (the page's end_time); the
// last end_time is the cursor. Drafts (draft: true) and articles whose
// user segment is for staff only (user_type "staff", from
// GET /api/v2/help_center/user_segments) are skipped, and their files
// removed. The export does not list archived (deleted) articles: a first
// or --full import is a complete listing and removes the files of those.
type Zendesk struct {
	client *Client
}

var _ Source = (*Zendesk)(nil)

// NewZendesk validates cfg. client is the outbound client (nil: deliver's default).
func NewZendesk(cfg ZendeskConfig, client *http.Client) (*Zendesk, error) {
	base, err := deliver.CheckBaseURL("base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(cfg.Email)
	if email == "" {
		return nil, errors.New("email: required, the e-mail address of an agent or admin")
	}
	if cfg.APIToken == "" {
		return nil, errors.New("api_token: required")
	}
	user := email + "/token"
	return &Zendesk{client: &Client{
		HTTPClient: client, BaseURL: base, Vendor: "zendesk",
		Check:     orDefault(cfg.Check, "the e-mail and API token"),
		Authorize: func(r *http.Request) { r.SetBasicAuth(user, cfg.APIToken) },
		Redact:    []string{cfg.APIToken},
		// Zendesk's 429 carries Retry-After in seconds.
		RetryAfter: deliver.StandardRetryAfter,
	}}, nil
}

// Client returns the HTTP client, for tests to set its seams.
func (z *Zendesk) Client() *Client { return z.client }

// Vendor returns "zendesk".
func (z *Zendesk) Vendor() string { return "zendesk" }

type zendeskArticle struct {
	ID             int64    `json:"id"`
	HTMLURL        string   `json:"html_url"`
	Title          string   `json:"title"`
	Body           string   `json:"body"`
	Draft          bool     `json:"draft"`
	Locale         string   `json:"locale"`
	LabelNames     []string `json:"label_names"`
	UpdatedAt      string   `json:"updated_at"`
	UserSegmentID  *int64   `json:"user_segment_id"`
	UserSegmentIDs []int64  `json:"user_segment_ids"`
}

type zendeskPage struct {
	Articles    []zendeskArticle `json:"articles"`
	NextPage    string           `json:"next_page"`
	EndTime     int64            `json:"end_time"`
	Count       int              `json:"count"`
	EndOfStream bool             `json:"end_of_stream"`
}

// maxPages bounds the pages of one listing, against a vendor that never
// ends one.
const maxPages = 10000

// Fetch lists the articles changed since cursor (unix seconds; "" for all).
func (z *Zendesk) Fetch(ctx context.Context, cursor string) (Batch, error) {
	start := int64(0)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return Batch{}, fmt.Errorf("bad zendesk cursor %q", cursor)
		}
		start = n
	}
	b := Batch{Complete: start == 0, Cursor: strconv.FormatInt(start, 10)}
	now := time.Now()
	if z.client.Now != nil {
		now = z.client.Now()
	}
	// Zendesk's incremental exports leave out what changed in the minute
	// before a request ("Using the Incremental Export API"): never ask
	// from later than a minute ago, which at worst reads a few articles
	// again.
	start = min(start, max(now.Unix()-60, 0))
	var found []zendeskArticle
	next := "/api/v2/help_center/incremental/articles?start_time=" + strconv.FormatInt(start, 10)
	for range maxPages {
		var p zendeskPage
		if _, err := z.client.Get(ctx, "list zendesk articles", next, &p); err != nil {
			return Batch{}, err
		}
		found = append(found, p.Articles...)
		if p.EndTime > start {
			b.Cursor = strconv.FormatInt(p.EndTime, 10)
		}
		if p.NextPage == "" || len(p.Articles) == 0 || p.EndOfStream || !advances(p.NextPage, start) {
			next = ""
			break
		}
		start = p.EndTime
		next = p.NextPage
	}
	if next != "" {
		return Batch{}, fmt.Errorf("list zendesk articles: more than %d pages", maxPages)
	}
	staff, err := z.staffSegments(ctx, found)
	if err != nil {
		return Batch{}, err
	}
	// An article changed twice appears twice: its last version counts.
	last := map[int64]int{}
	for i, a := range found {
		last[a.ID] = i
	}
	for i, a := range found {
		if last[a.ID] != i {
			continue
		}
		id := strconv.FormatInt(a.ID, 10)
		if a.Draft || z.internal(a, staff) {
			b.Removed = append(b.Removed, id)
			continue
		}
		b.Articles = append(b.Articles, Article{
			ID: id, Title: a.Title, URL: a.HTMLURL, Tags: a.LabelNames, Locale: a.Locale,
			UpdatedAt: parseTime(a.UpdatedAt), Body: a.Body,
		})
	}
	return b, nil
}

// advances reports whether a next-page link's start_time is past start:
// a page of 1,000 articles changed in the same second would otherwise be
// asked for again and again.
func advances(next string, start int64) bool {
	u, err := url.Parse(next)
	if err != nil {
		return false
	}
	v := u.Query().Get("start_time")
	if v == "" {
		return true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n > start
}

func (z *Zendesk) internal(a zendeskArticle, staff map[int64]bool) bool {
	if a.UserSegmentID != nil && staff[*a.UserSegmentID] {
		return true
	}
	if len(a.UserSegmentIDs) == 0 {
		return false
	}
	for _, id := range a.UserSegmentIDs {
		if !staff[id] {
			return false
		}
	}
	return true
}

// staffSegments returns the ids of the user segments for staff only, read
// only when an article has a user segment.
func (z *Zendesk) staffSegments(ctx context.Context, found []zendeskArticle) (map[int64]bool, error) {
	need := false
	for _, a := range found {
		if a.UserSegmentID != nil || len(a.UserSegmentIDs) > 0 {
			need = true
			break
		}
	}
	staff := map[int64]bool{}
	if !need {
		return staff, nil
	}
	next := "/api/v2/help_center/user_segments?per_page=100"
	for range maxPages {
		var p struct {
			UserSegments []struct {
				ID       int64  `json:"id"`
				UserType string `json:"user_type"`
			} `json:"user_segments"`
			NextPage string `json:"next_page"`
		}
		if _, err := z.client.Get(ctx, "list zendesk user segments", next, &p); err != nil {
			return nil, err
		}
		for _, s := range p.UserSegments {
			if s.UserType == "staff" {
				staff[s.ID] = true
			}
		}
		if p.NextPage == "" || len(p.UserSegments) == 0 {
			return staff, nil
		}
		next = p.NextPage
	}
	return nil, fmt.Errorf("list zendesk user segments: more than %d pages", maxPages)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
