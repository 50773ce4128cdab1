package kbimport_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/kbimport"
)

// zendeskFake serves Zendesk Guide's incremental article export and user
// segments, in the documented shapes:
//   - GET /api/v2/help_center/incremental/articles?start_time=N: articles
//     whose metadata changed after N, "next_page" carrying the next
//     start_time (the time of the last change on the page, also the
//     page's "end_time"); agents and admins only.
//     https://developer.zendesk.com/documentation/help_center/help-center-api/understanding-incremental-article-exports/
//   - the article object (id, url, html_url, draft, title, body, locale,
//     label_names, updated_at, user_segment_id, ...):
//     https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/
//   - GET /api/v2/help_center/user_segments (user_type "signed_in_users"
//     or "staff"):
//     https://developer.zendesk.com/api-reference/help_center/help-center-api/user_segments/
//   - 429 with Retry-After in seconds:
//     https://developer.zendesk.com/api-reference/introduction/rate-limits/
//   - a refused API token answers 401 {"error":"Couldn't authenticate you"}.
type zendeskFake struct {
	*fake
	mu       sync.Mutex
	articles map[int64]map[string]any
	pageSize int
}

func newZendeskFake(t *testing.T) *zendeskFake {
	z := &zendeskFake{articles: map[int64]map[string]any{}, pageSize: 2}
	z.fake = newFake(t, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "bot@example.com/token" && p == "zd-token"
	}, `{"error":"Couldn't authenticate you"}`, z.serve)
	return z
}

func (z *zendeskFake) put(id int64, title, updated string, fields map[string]any) {
	z.mu.Lock()
	defer z.mu.Unlock()
	a := map[string]any{
		"id": id, "url": z.URL + "/api/v2/help_center/en-us/articles/" + strconv.FormatInt(id, 10) + ".json",
		"html_url":  "https://acme.zendesk.com/hc/en-us/articles/" + strconv.FormatInt(id, 10) + "-" + strings.ReplaceAll(title, " ", "-"),
		"author_id": 28226296456851, "comments_disabled": false, "draft": false, "promoted": false,
		"position": 0, "vote_sum": 0, "vote_count": 0, "section_id": 28523491991699,
		"created_at": "2026-10-01T09:00:00Z", "updated_at": updated, "edited_at": updated,
		"name": title, "title": title, "source_locale": "en-us", "locale": "en-us",
		"outdated": false, "outdated_locales": []string{}, "user_segment_id": nil,
		"permission_group_id": 28523398501139, "content_tag_ids": []string{}, "label_names": []string{},
		"body": "<p>" + title + "</p>",
	}
	for k, v := range fields {
		a[k] = v
	}
	z.articles[id] = a
}

func (z *zendeskFake) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v2/help_center/incremental/articles":
		start, err := strconv.ParseInt(r.URL.Query().Get("start_time"), 10, 64)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"InvalidValue","description":"start_time is required"}`))
			return
		}
		z.mu.Lock()
		var changed []map[string]any
		for _, a := range z.articles {
			if unix(a["updated_at"].(string)) > start {
				changed = append(changed, a)
			}
		}
		z.mu.Unlock()
		sort.Slice(changed, func(i, j int) bool {
			return unix(changed[i]["updated_at"].(string)) < unix(changed[j]["updated_at"].(string))
		})
		page := changed[:min(len(changed), z.pageSize)]
		end := start
		var next any
		if len(page) > 0 {
			end = unix(page[len(page)-1]["updated_at"].(string))
		}
		if len(changed) > len(page) {
			next = z.URL + "/api/v2/help_center/incremental/articles.json?start_time=" + strconv.FormatInt(end, 10)
		}
		writeJSON(w, map[string]any{"articles": page, "next_page": next, "end_time": end, "count": len(page)})
	case "/api/v2/help_center/incremental/articles.json":
		r.URL.Path = "/api/v2/help_center/incremental/articles"
		z.serve(w, r)
	case "/api/v2/help_center/user_segments":
		writeJSON(w, map[string]any{
			"user_segments": []map[string]any{
				{"id": 9001, "user_type": "staff", "name": "Agents and admins", "built_in": true},
				{"id": 9002, "user_type": "signed_in_users", "name": "Signed-in users", "built_in": true},
			},
			"next_page": nil, "previous_page": nil, "count": 2,
		})
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"InvalidEndpoint","description":"Not found"}`))
	}
}

func unix(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func newZendeskSource(t *testing.T, base, token string, sl *sleeps) kbimport.Source {
	t.Helper()
	src, err := kbimport.NewZendesk(kbimport.ZendeskConfig{BaseURL: base, Email: "bot@example.com", APIToken: token,
		Check: "reply.email and reply.api_token"}, testClient())
	if err != nil {
		t.Fatal(err)
	}
	src.Client().SleepFunc = sl.sleep
	return src
}

func TestZendesk(t *testing.T) {
	t.Parallel()
	z := newZendeskFake(t)
	z.put(101, "Reset your password", "2026-11-01T10:00:00Z", map[string]any{
		"label_names": []string{"account", "password"},
		"body": `<h2>Steps</h2><ol><li>Open <a href="https://acme.example/settings">Settings</a></li><li>Click <strong>Reset</strong></li></ol>` +
			`<script>track()</script><p>Still stuck? Write to us.</p>`,
	})
	z.put(102, "Shipping times", "2026-11-02T10:00:00Z", nil)
	z.put(103, "Unfinished draft", "2026-11-03T10:00:00Z", map[string]any{"draft": true})
	z.put(104, "Agent macro guide", "2026-11-04T10:00:00Z", map[string]any{"user_segment_id": 9001})
	z.put(105, "Returns", "2026-11-05T10:00:00Z", map[string]any{"user_segment_id": 9002})
	dir := t.TempDir()
	var sl sleeps

	// The first request is rate limited, the second page fails once.
	z.fail("/api/v2/help_center/incremental/articles",
		failure{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "3"}, body: `{"error":"TooManyRequests"}`})
	z.fail("/api/v2/help_center/incremental/articles.json?start_time="+strconv.FormatInt(unix("2026-11-02T10:00:00Z"), 10),
		failure{status: http.StatusBadGateway, body: "<html>502</html>"})
	res := mustRun(t, dir, newZendeskSource(t, z.URL, "zd-token", &sl))
	if got, want := files(t, dir), []string{"zendesk-101.md", "zendesk-102.md", "zendesk-105.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 3 || res.Skipped != 2 || !res.Full {
		t.Fatalf("result %+v", res)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 3*time.Second || got[1] < time.Second || got[1] > 2*time.Second {
		t.Fatalf("waits %v, want Retry-After's 3s then a backoff of about 1s", got)
	}
	want := "---\ntitle: Reset your password\nurl: https://acme.zendesk.com/hc/en-us/articles/101-Reset-your-password\n" +
		"tags:\n    - account\n    - password\nlocale: en-us\nupdated_at: \"2026-11-01T10:00:00Z\"\nsource: zendesk\n---\n\n" +
		"## Steps\n\n1. Open Settings (https://acme.example/settings)\n2. Click Reset\n\nStill stuck? Write to us.\n"
	if got := readFile(t, filepath.Join(dir, "zendesk-101.md")); got != want {
		t.Fatalf("zendesk-101.md:\n%s\nwant:\n%s", got, want)
	}
	cursor1 := strconv.FormatInt(unix("2026-11-05T10:00:00Z"), 10)
	checkState(t, dir, "zendesk", cursor1)
	z.take()

	// One article edited, one unpublished: the second run asks from the
	// cursor and sees only those.
	z.put(102, "Shipping times", "2026-11-10T10:00:00Z", map[string]any{"body": "<p>Now two days.</p>"})
	z.put(105, "Returns", "2026-11-11T10:00:00Z", map[string]any{"draft": true, "user_segment_id": 9002})
	res = mustRun(t, dir, newZendeskSource(t, z.URL, "zd-token", &sl))
	reqs := z.take()
	if len(reqs) == 0 || reqs[0] != "GET /api/v2/help_center/incremental/articles?start_time="+cursor1 {
		t.Fatalf("second run's requests %v, want start_time=%s first", reqs, cursor1)
	}
	if got, want := files(t, dir), []string{"zendesk-101.md", "zendesk-102.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 1 || res.Removed != 1 || res.Full {
		t.Fatalf("result %+v", res)
	}
	if got := readFile(t, filepath.Join(dir, "zendesk-102.md")); !strings.HasSuffix(got, "\nNow two days.\n") {
		t.Fatalf("zendesk-102.md not updated:\n%s", got)
	}
	checkState(t, dir, "zendesk", strconv.FormatInt(unix("2026-11-11T10:00:00Z"), 10))

	// A third run with nothing changed writes nothing and keeps the cursor.
	res = mustRun(t, dir, newZendeskSource(t, z.URL, "zd-token", &sl))
	if res.Written != 0 || res.Removed != 0 {
		t.Fatalf("result of a run with no change %+v", res)
	}
	checkState(t, dir, "zendesk", strconv.FormatInt(unix("2026-11-11T10:00:00Z"), 10))

	checkAuthError(t, dir, newZendeskSource(t, z.URL, "wrong-token", &sl), "zendesk", "reply.email and reply.api_token")
}

func TestZendeskPartialFailure(t *testing.T) {
	t.Parallel()
	z := newZendeskFake(t)
	z.put(1, "One", "2026-11-01T10:00:00Z", nil)
	z.put(2, "Two", "2026-11-02T10:00:00Z", nil)
	z.put(3, "Three", "2026-11-03T10:00:00Z", nil)
	dir := t.TempDir()
	var sl sleeps
	z.fail("/api/v2/help_center/incremental/articles.json?start_time="+strconv.FormatInt(unix("2026-11-02T10:00:00Z"), 10),
		failure{status: http.StatusBadRequest, body: `{"error":"InvalidValue"}`})
	checkPartialFailure(t, dir, newZendeskSource(t, z.URL, "zd-token", &sl), "zendesk")
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files after a failed first import: %v", got)
	}
	// The next run starts over and gets everything.
	mustRun(t, dir, newZendeskSource(t, z.URL, "zd-token", &sl))
	if got := files(t, dir); len(got) != 3 {
		t.Fatalf("files after the retry: %v", got)
	}
}
