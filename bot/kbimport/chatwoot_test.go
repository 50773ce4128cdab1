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

// chatwootFake serves a Chatwoot help-center portal's articles in the
// documented shapes (header api_access_token):
//   - GET /api/v1/accounts/{account_id}/portals/{portal_slug}/articles?page=N:
//     {"payload":[article],"meta":{"current_page","articles_count",
//     "published_count","draft_articles_count","archived_articles_count"}},
//     ordered by updated_at, newest first, 25 a page; an article's status
//     "draft", "published" or "archived", its content Markdown, its
//     updated_at in seconds.
//     https://developers.chatwoot.com/api-reference/help-center/add-a-new-article
//     chatwoot/chatwoot app/views/api/v1/accounts/articles/index.json.jbuilder,
//     _article.json.jbuilder and app/controllers/api/v1/accounts/articles_controller.rb;
//     the public article page is hc/:slug/articles/:article_slug (config/routes.rb)
//   - a bad token answers 401 {"errors":["You need to sign in or sign up before continuing."]}.
type chatwootFake struct {
	*fake
	mu       sync.Mutex
	articles map[int]map[string]any
}

func newChatwootFake(t *testing.T) *chatwootFake {
	c := &chatwootFake{articles: map[int]map[string]any{}}
	c.fake = newFake(t, func(r *http.Request) bool {
		return r.Header.Get("api_access_token") == "cw-token"
	}, `{"errors":["You need to sign in or sign up before continuing."]}`, c.serve)
	return c
}

func (c *chatwootFake) put(id int, title, status string, updated int64, content string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.articles[id] = map[string]any{
		"id": id, "slug": strconv.Itoa(1700000000+id) + "-" + strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		"title": title, "content": content, "description": "", "status": status, "position": id, "account_id": 1,
		"updated_at": updated, "locale": "en", "views": 3,
		"meta":     map[string]any{"tags": []string{"help"}, "title": title},
		"category": map[string]any{"id": 4, "name": "Basics", "slug": "basics", "locale": "en"},
		"portal":   map[string]any{"id": 2, "slug": "acme", "name": "Acme Help"},
		"author":   map[string]any{"id": 1, "name": "Agent"}, "associated_articles": []any{},
	}
}

func (c *chatwootFake) remove(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.articles, id)
}

// chatwootFakePageSize keeps the fake's pages small (Chatwoot's are 25).
const chatwootFakePageSize = 2

func (c *chatwootFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/accounts/1/portals/acme/articles" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"Resource could not be found"}`))
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	c.mu.Lock()
	var all []map[string]any
	counts := map[string]int{}
	for _, a := range c.articles {
		all = append(all, a)
		counts[a["status"].(string)]++
	}
	c.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i]["updated_at"].(int64) > all[j]["updated_at"].(int64) })
	lo := min((page-1)*chatwootFakePageSize, len(all))
	hi := min(lo+chatwootFakePageSize, len(all))
	writeJSON(w, map[string]any{"payload": all[lo:hi], "meta": map[string]any{
		"current_page": strconv.Itoa(page), "articles_count": len(all), "all_articles_count": len(all),
		"published_count": counts["published"], "draft_articles_count": counts["draft"],
		"archived_articles_count": counts["archived"], "mine_articles_count": len(all),
	}})
}

func newChatwootSource(t *testing.T, base, token string, sl *sleeps) kbimport.Source {
	t.Helper()
	src, err := kbimport.NewChatwoot(kbimport.ChatwootConfig{BaseURL: base, AccountID: "1", Portal: "acme", Token: token,
		Check: "reply.api_access_token"}, testClient())
	if err != nil {
		t.Fatal(err)
	}
	src.Client().SleepFunc = sl.sleep
	return src
}

func TestChatwoot(t *testing.T) {
	t.Parallel()
	c := newChatwootFake(t)
	c.put(1, "Connect your inbox", "published", 1762000000, "## Email\n\nForward your mail to the inbox address.\n")
	c.put(2, "Work in progress", "draft", 1762000100, "draft")
	c.put(3, "Old pricing", "archived", 1762000200, "archived")
	c.put(4, "Canned responses", "published", 1762000300, "Type `/` in the reply box.")
	c.put(5, "Reports", "published", 1762000400, "Open **Reports**.")
	c.mu.Lock()
	c.articles[5]["portal"] = map[string]any{"id": 2, "slug": "acme", "name": "Acme Help", "custom_domain": "help.acme.example"}
	c.mu.Unlock()
	dir := t.TempDir()
	var sl sleeps

	c.fail("/api/v1/accounts/1/portals/acme/articles", failure{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "2"}})
	res := mustRun(t, dir, newChatwootSource(t, c.URL, "cw-token", &sl))
	if got, want := files(t, dir), []string{"chatwoot-1.md", "chatwoot-4.md", "chatwoot-5.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 3 || res.Skipped != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
		t.Fatalf("waits %v, want Retry-After's 2s", got)
	}
	want := "---\ntitle: Connect your inbox\nurl: " + c.URL + "/hc/acme/articles/1700000001-connect-your-inbox\ntags:\n    - help\n" +
		"locale: en\nupdated_at: \"2025-11-01T12:26:40Z\"\nsource: chatwoot\n---\n\n## Email\n\nForward your mail to the inbox address.\n"
	if got := readFile(t, filepath.Join(dir, "chatwoot-1.md")); got != want {
		t.Fatalf("chatwoot-1.md:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, filepath.Join(dir, "chatwoot-5.md")); !strings.Contains(got, "\nurl: https://help.acme.example/hc/acme/articles/1700000005-reports\n") {
		t.Fatalf("chatwoot-5.md should link to the portal's custom domain:\n%s", got)
	}
	checkState(t, dir, "chatwoot", "1762000400")
	c.take()

	// An edit and an article archived: the second run stops at the first
	// article older than the cursor.
	c.put(4, "Canned responses", "published", 1762050000, "Type `/` in the reply box, then pick one.")
	c.put(5, "Reports", "archived", 1762050100, "Open **Reports**.")
	res = mustRun(t, dir, newChatwootSource(t, c.URL, "cw-token", &sl))
	if reqs := c.take(); !slices.Equal(reqs, []string{"GET /api/v1/accounts/1/portals/acme/articles?page=1", "GET /api/v1/accounts/1/portals/acme/articles?page=2"}) {
		t.Fatalf("second run's requests %v", reqs)
	}
	if got, want := files(t, dir), []string{"chatwoot-1.md", "chatwoot-4.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 1 || res.Removed != 1 {
		t.Fatalf("result %+v", res)
	}
	checkState(t, dir, "chatwoot", "1762050100")

	c.remove(1)
	im := &kbimport.Importer{Dir: dir, Full: true}
	if _, err := im.Run(t.Context(), newChatwootSource(t, c.URL, "cw-token", &sl)); err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"chatwoot-4.md"}; !slices.Equal(got, want) {
		t.Fatalf("files after a full run %v, want %v", got, want)
	}

	checkAuthError(t, dir, newChatwootSource(t, c.URL, "nope", &sl), "chatwoot", "reply.api_access_token")
	c.put(6, "A", "published", 1762060000, "a")
	c.put(7, "B", "published", 1762060001, "b")
	c.put(8, "C", "published", 1762060002, "c")
	c.fail("/api/v1/accounts/1/portals/acme/articles?page=2", failure{status: http.StatusNotFound, body: `{"error":"Resource could not be found"}`})
	checkPartialFailure(t, dir, newChatwootSource(t, c.URL, "cw-token", &sl), "chatwoot")
}
