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

// freshdeskFake serves Freshdesk's Solutions API in the documented shapes
// (API key as the Basic user name, X as the password):
//   - GET /api/v2/solutions/categories, /api/v2/solutions/categories/{id}/folders
//     and /api/v2/solutions/folders/{id}/articles: JSON arrays; a folder's
//     visibility 1 all users, 2 logged-in users, 3 agents, 4 selected
//     companies; an article's status 1 draft, 2 published, its
//     description the HTML body.
//     https://developers.freshdesk.com/api/#solution_article_attributes
//     (folder visibility values also in Freshdesk's help article
//     https://support.freshdesk.com/support/solutions/articles/50000000978)
//   - from the same reference page's Pagination, Rate Limit and
//     Authentication sections (https://developers.freshdesk.com/api/):
//     pages of per_page (at most 100) with a Link header to the next one,
//     absent on the last; 429 with Retry-After in seconds; a bad key
//     answers 401 {"code":"invalid_credentials",...}.
type freshdeskFake struct {
	*fake
	mu       sync.Mutex
	folders  map[int64][]map[string]any // category → folders
	articles map[int64]map[string]any   // id → article
}

func newFreshdeskFake(t *testing.T) *freshdeskFake {
	f := &freshdeskFake{folders: map[int64][]map[string]any{}, articles: map[int64]map[string]any{}}
	f.folders[1] = []map[string]any{
		{"id": 10, "name": "Getting started", "description": "", "visibility": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
		{"id": 11, "name": "Agent playbooks", "description": "", "visibility": 3, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
	}
	f.fake = newFake(t, func(r *http.Request) bool {
		u, _, ok := r.BasicAuth()
		return ok && u == "fd-key"
	}, `{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`, f.serve)
	return f
}

func (f *freshdeskFake) put(id, folder int64, title string, status int, updated, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.articles[id] = map[string]any{
		"id": id, "type": 1, "category_id": 1, "folder_id": folder, "title": title,
		"description": body, "description_text": body, "status": status, "agent_id": 5000,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": updated,
		"seo_data": map[string]any{"meta_title": title}, "tags": []string{"kb"}, "thumbs_up": 0, "thumbs_down": 0, "hits": 3,
	}
}

func (f *freshdeskFake) remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.articles, id)
}

// freshdeskFakePageSize keeps the fake's pages small.
const freshdeskFakePageSize = 2

func (f *freshdeskFake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var items []map[string]any
	f.mu.Lock()
	switch {
	case p == "/api/v2/solutions/categories":
		items = []map[string]any{{"id": 1, "name": "General", "description": "", "visible_in_portals": []int{5},
			"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}
	case strings.HasPrefix(p, "/api/v2/solutions/categories/") && strings.HasSuffix(p, "/folders"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(p, "/api/v2/solutions/categories/"), "/folders"), 10, 64)
		items = f.folders[id]
	case strings.HasPrefix(p, "/api/v2/solutions/folders/") && strings.HasSuffix(p, "/articles"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(p, "/api/v2/solutions/folders/"), "/articles"), 10, 64)
		for _, a := range f.articles {
			if a["folder_id"] == id {
				items = append(items, a)
			}
		}
		sort.Slice(items, func(i, j int) bool { return items[i]["id"].(int64) < items[j]["id"].(int64) })
	default:
		f.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		return
	}
	f.mu.Unlock()
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per < 1 || per > 100 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"description":"Validation failed","errors":[{"field":"per_page","message":"It should be a Positive Number less than or equal to 100","code":"invalid_value"}]}`))
		return
	}
	per = min(per, freshdeskFakePageSize)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	lo := min((page-1)*per, len(items))
	hi := min(lo+per, len(items))
	if hi < len(items) {
		w.Header().Set("Link", `<`+f.URL+p+`?per_page=100&page=`+strconv.Itoa(page+1)+`>; rel="next"`)
	}
	if items == nil {
		items = []map[string]any{}
	}
	writeJSON(w, items[lo:hi])
}

func newFreshdeskSource(t *testing.T, base, key string, sl *sleeps) kbimport.Source {
	t.Helper()
	src, err := kbimport.NewFreshdesk(kbimport.FreshdeskConfig{BaseURL: base, APIKey: key, Check: "reply.api_key"}, testClient())
	if err != nil {
		t.Fatal(err)
	}
	src.Client().SleepFunc = sl.sleep
	return src
}

func TestFreshdesk(t *testing.T) {
	t.Parallel()
	f := newFreshdeskFake(t)
	f.put(201, 10, "Create an account", 2, "2026-11-01T10:00:00Z", `<div><h3>Sign up</h3><p>Use your work e-mail.</p></div>`)
	f.put(202, 10, "Draft article", 1, "2026-11-02T10:00:00Z", `<p>draft</p>`)
	f.put(203, 10, "Invite teammates", 2, "2026-11-03T10:00:00Z", `<p>Admins can invite.</p>`)
	f.put(204, 10, "Delete your data", 2, "2026-11-04T10:00:00Z", `<p>From the privacy page.</p>`)
	f.put(301, 11, "Escalation matrix", 2, "2026-11-05T10:00:00Z", `<p>Agents only.</p>`)
	dir := t.TempDir()
	var sl sleeps

	f.fail("/api/v2/solutions/categories", failure{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "7"}})
	f.fail("/api/v2/solutions/folders/10/articles?per_page=100&page=2", failure{status: http.StatusInternalServerError, body: `{"code":"internal_error"}`})
	res := mustRun(t, dir, newFreshdeskSource(t, f.URL, "fd-key", &sl))
	if got, want := files(t, dir), []string{"freshdesk-201.md", "freshdesk-203.md", "freshdesk-204.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 3 || res.Skipped != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 7*time.Second {
		t.Fatalf("waits %v, want Retry-After's 7s then a backoff", got)
	}
	reqs := f.take()
	if !slices.Contains(reqs, "GET /api/v2/solutions/folders/10/articles?per_page=100&page=2") {
		t.Fatalf("the Link header's next page was not followed: %v", reqs)
	}
	want := "---\ntitle: Create an account\nurl: " + f.URL + "/support/solutions/articles/201\ntags:\n    - kb\n" +
		"updated_at: \"2026-11-01T10:00:00Z\"\nsource: freshdesk\n---\n\n### Sign up\n\nUse your work e-mail.\n"
	if got := readFile(t, filepath.Join(dir, "freshdesk-201.md")); got != want {
		t.Fatalf("freshdesk-201.md:\n%s\nwant:\n%s", got, want)
	}
	checkState(t, dir, "freshdesk", "2026-11-05T10:00:00Z")

	// An edit and a deletion: the listing is complete, so the deleted
	// article's file goes; only the edited file is rewritten.
	f.put(203, 10, "Invite teammates", 2, "2026-11-10T10:00:00Z", `<p>Admins and owners can invite.</p>`)
	f.remove(204)
	res = mustRun(t, dir, newFreshdeskSource(t, f.URL, "fd-key", &sl))
	if got, want := files(t, dir), []string{"freshdesk-201.md", "freshdesk-203.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 1 || res.Unchanged != 1 || res.Removed != 1 {
		t.Fatalf("result %+v", res)
	}
	checkState(t, dir, "freshdesk", "2026-11-10T10:00:00Z")

	checkAuthError(t, dir, newFreshdeskSource(t, f.URL, "bad-key", &sl), "freshdesk", "reply.api_key")
	f.put(205, 10, "New", 2, "2026-11-20T10:00:00Z", `<p>New.</p>`)
	f.fail("/api/v2/solutions/folders/10/articles?per_page=100&page=2", failure{status: http.StatusBadRequest, body: `{"code":"invalid_value"}`})
	checkPartialFailure(t, dir, newFreshdeskSource(t, f.URL, "fd-key", &sl), "freshdesk")
}
