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

// helpScoutFake serves the Help Scout Docs API in the documented shapes
// (API key as the Basic user name, any password such as X):
//   - GET /v1/collections: {"collections":{"page","pages","count","items":
//     [collection]}}, a collection's visibility "public" or "private".
//     (the list shape of https://developer.helpscout.com/docs-api/categories/list)
//     https://developer.helpscout.com/docs-api/objects/collection
//   - GET /v1/collections/{id}/articles?status=&sort=&order=&pageSize=&page=:
//     {"articles":{"page","pages","count","items":[ArticleRef]}}, status
//     "published" or "notpublished".
//     https://developer.helpscout.com/docs-api/articles/list
//     https://developer.helpscout.com/docs-api/objects/article-ref
//   - GET /v1/articles/{id}: {"article":{...,"text":HTML,"publicUrl",...}}.
//     https://developer.helpscout.com/docs-api/articles/get
//     https://developer.helpscout.com/docs-api/objects/article
//   - authentication and the API's endpoints:
//     https://developer.helpscout.com/docs-api
type helpScoutFake struct {
	*fake
	mu          sync.Mutex
	collections []map[string]any
	articles    map[string]map[string]any // id → article (with collectionId)
}

func newHelpScoutFake(t *testing.T) *helpScoutFake {
	h := &helpScoutFake{articles: map[string]map[string]any{}}
	h.collections = []map[string]any{
		{"id": "c-public", "siteId": "s1", "number": 1, "slug": "help", "visibility": "public", "order": 1, "name": "Help",
			"publicUrl": "https://acme.helpscoutdocs.com/collection/1-help", "articleCount": 3, "publishedArticleCount": 2,
			"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"},
		{"id": "c-private", "siteId": "s1", "number": 2, "slug": "internal", "visibility": "private", "order": 2, "name": "Internal",
			"publicUrl": "https://acme.helpscoutdocs.com/collection/2-internal", "articleCount": 1, "publishedArticleCount": 1,
			"createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"},
	}
	h.fake = newFake(t, func(r *http.Request) bool {
		u, _, ok := r.BasicAuth()
		return ok && u == "hs-docs-key"
	}, `{"code":401,"error":"Invalid API key"}`, h.serve)
	return h
}

func (h *helpScoutFake) put(id, collection, name, status, updated, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.articles[id] = map[string]any{
		"id": id, "number": len(h.articles) + 100, "collectionId": collection, "slug": strings.ToLower(strings.ReplaceAll(name, " ", "-")),
		"status": status, "hasDraft": false, "name": name, "text": text, "categories": []string{}, "related": []string{},
		"publicUrl": "https://acme.helpscoutdocs.com/article/" + id, "popularity": 4.3, "viewCount": 10,
		"keywords": []string{"faq"}, "createdBy": 73423, "updatedBy": 73423,
		"createdAt": "2026-01-01T00:00:00Z", "updatedAt": updated, "lastPublishedAt": updated,
	}
}

// helpScoutFakePageSize keeps the fake's article pages small.
const helpScoutFakePageSize = 2

func (h *helpScoutFake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/collections":
		h.mu.Lock()
		items := slices.Clone(h.collections)
		h.mu.Unlock()
		writeJSON(w, map[string]any{"collections": map[string]any{"page": 1, "pages": 1, "count": len(items), "items": items}})
	case strings.HasPrefix(p, "/v1/collections/") && strings.HasSuffix(p, "/articles"):
		c := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/collections/"), "/articles")
		q := r.URL.Query()
		if q.Get("sort") != "updatedAt" || q.Get("order") != "desc" || q.Get("status") != "all" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		h.mu.Lock()
		var refs []map[string]any
		for _, a := range h.articles {
			if a["collectionId"] == c {
				ref := map[string]any{}
				for _, k := range []string{"id", "number", "collectionId", "slug", "status", "hasDraft", "name", "publicUrl",
					"popularity", "viewCount", "createdBy", "updatedBy", "createdAt", "updatedAt", "lastPublishedAt"} {
					ref[k] = a[k]
				}
				refs = append(refs, ref)
			}
		}
		h.mu.Unlock()
		sort.Slice(refs, func(i, j int) bool { return refs[i]["updatedAt"].(string) > refs[j]["updatedAt"].(string) })
		pages := max((len(refs)+helpScoutFakePageSize-1)/helpScoutFakePageSize, 1)
		lo := min((page-1)*helpScoutFakePageSize, len(refs))
		hi := min(lo+helpScoutFakePageSize, len(refs))
		writeJSON(w, map[string]any{"articles": map[string]any{"page": page, "pages": pages, "count": len(refs), "items": refs[lo:hi]}})
	case strings.HasPrefix(p, "/v1/articles/"):
		h.mu.Lock()
		a, ok := h.articles[strings.TrimPrefix(p, "/v1/articles/")]
		h.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		writeJSON(w, map[string]any{"article": a})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (h *helpScoutFake) remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.articles, id)
}

func newHelpScoutSource(t *testing.T, base, key string, sl *sleeps) kbimport.Source {
	t.Helper()
	src, err := kbimport.NewHelpScout(kbimport.HelpScoutConfig{BaseURL: base, APIKey: key, Check: "--token (the Docs API key)"}, testClient())
	if err != nil {
		t.Fatal(err)
	}
	src.Client().SleepFunc = sl.sleep
	return src
}

// articleGets returns the article ids read one by one.
func articleGets(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if id, ok := strings.CutPrefix(r, "GET /v1/articles/"); ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func TestHelpScout(t *testing.T) {
	t.Parallel()
	h := newHelpScoutFake(t)
	h.put("a1", "c-public", "Change your plan", "published", "2026-11-01T10:00:00Z", `<h2>Upgrade</h2><p>Open <em>Billing</em>.</p>`)
	h.put("a2", "c-public", "Export data", "published", "2026-11-02T10:00:00Z", `<p>Use CSV.</p>`)
	h.put("a3", "c-public", "Coming soon", "notpublished", "2026-11-03T10:00:00Z", `<p>Draft.</p>`)
	h.put("a4", "c-public", "Close your account", "published", "2026-11-04T10:00:00Z", `<p>Write to us.</p>`)
	h.put("a5", "c-private", "Refund override", "published", "2026-11-05T10:00:00Z", `<p>Agents only.</p>`)
	dir := t.TempDir()
	var sl sleeps

	h.fail("/v1/collections", failure{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "4"}})
	h.fail("/v1/articles/a2", failure{status: http.StatusServiceUnavailable, body: "unavailable"})
	res := mustRun(t, dir, newHelpScoutSource(t, h.URL, "hs-docs-key", &sl))
	if got, want := files(t, dir), []string{"helpscout-a1.md", "helpscout-a2.md", "helpscout-a4.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 3 || res.Skipped != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 4*time.Second {
		t.Fatalf("waits %v, want Retry-After's 4s then a backoff", got)
	}
	if got := articleGets(h.take()); !slices.Equal(got, []string{"a1", "a2", "a2", "a4"}) {
		t.Fatalf("articles read %v, want the published public ones (a2 twice: a 503 then a retry)", got)
	}
	want := "---\ntitle: Change your plan\nurl: https://acme.helpscoutdocs.com/article/a1\ntags:\n    - faq\n" +
		"updated_at: \"2026-11-01T10:00:00Z\"\nsource: helpscout\n---\n\n## Upgrade\n\nOpen Billing.\n"
	if got := readFile(t, filepath.Join(dir, "helpscout-a1.md")); got != want {
		t.Fatalf("helpscout-a1.md:\n%s\nwant:\n%s", got, want)
	}
	checkState(t, dir, "helpscout", "2026-11-05T10:00:00Z")

	// One article edited, one unpublished: only the edited one is read.
	h.put("a2", "c-public", "Export data", "published", "2026-11-10T10:00:00Z", `<p>Use CSV or JSON.</p>`)
	h.put("a4", "c-public", "Close your account", "notpublished", "2026-11-11T10:00:00Z", `<p>Write to us.</p>`)
	res = mustRun(t, dir, newHelpScoutSource(t, h.URL, "hs-docs-key", &sl))
	reqs := h.take()
	if got := articleGets(reqs); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("second run read %v, want only the edited a2 (requests %v)", got, reqs)
	}
	for _, r := range reqs {
		if strings.Contains(r, "/articles?") && !strings.Contains(r, "sort=updatedAt&order=desc") {
			t.Fatalf("list without the updatedAt order: %s", r)
		}
	}
	if got, want := files(t, dir), []string{"helpscout-a1.md", "helpscout-a2.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 1 || res.Removed != 1 {
		t.Fatalf("result %+v", res)
	}
	checkState(t, dir, "helpscout", "2026-11-11T10:00:00Z")

	// A deleted article is seen by a full run.
	h.remove("a1")
	im := &kbimport.Importer{Dir: dir, Full: true}
	if _, err := im.Run(t.Context(), newHelpScoutSource(t, h.URL, "hs-docs-key", &sl)); err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"helpscout-a2.md"}; !slices.Equal(got, want) {
		t.Fatalf("files after a full run %v, want %v", got, want)
	}

	checkAuthError(t, dir, newHelpScoutSource(t, h.URL, "wrong", &sl), "helpscout", "--token (the Docs API key)")
	h.put("a6", "c-public", "New", "published", "2026-11-20T10:00:00Z", `<p>New.</p>`)
	h.fail("/v1/articles/a6", failure{status: http.StatusNotFound, body: `{"code":404}`})
	checkPartialFailure(t, dir, newHelpScoutSource(t, h.URL, "hs-docs-key", &sl), "helpscout")
}
