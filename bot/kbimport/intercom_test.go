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

// intercomFake serves Intercom's Articles API in the documented shapes:
//   - GET /articles?page=N&per_page=M: {"type":"list","pages":{"type":
//     "pages","page":N,"next":...,"per_page":M,"total_pages":T},
//     "total_count":C,"data":[article...]}, newest updated_at first;
//     Bearer token and an Intercom-Version header.
//     https://developers.intercom.com/docs/references/2.14/rest-api/api.intercom.io/articles/listarticles
//   - the article list item (id, title, body HTML, state "published" or
//     "draft", updated_at in seconds, url, default_locale, parent_id):
//     https://developers.intercom.com/docs/references/2.16/rest-api/api.intercom.io/articles/article_list_item
//   - internal articles are another endpoint, /internal_articles:
//     https://developers.intercom.com/docs/references/2.17/rest-api/api.intercom.io/internal-articles
//   - a 429 carries X-RateLimit-Reset (unix seconds):
//     https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting
//   - a bad token answers 401 {"type":"error.list","errors":[{"code":"unauthorized",...}]}.
type intercomFake struct {
	*fake
	mu       sync.Mutex
	articles map[string]map[string]any
}

func newIntercomFake(t *testing.T) *intercomFake {
	ic := &intercomFake{articles: map[string]map[string]any{}}
	ic.fake = newFake(t, func(r *http.Request) bool {
		if r.Header.Get("Intercom-Version") == "" {
			t.Errorf("%s without Intercom-Version", r.URL)
		}
		return r.Header.Get("Authorization") == "Bearer ic-token"
	}, `{"type":"error.list","request_id":"000on04ggm3p6lbfrbk0","errors":[{"code":"unauthorized","message":"Access Token Invalid"}]}`, ic.serve)
	return ic
}

func (ic *intercomFake) put(id, title, state string, updated int64, body string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.articles[id] = map[string]any{
		"id": id, "type": "article", "workspace_id": "hfi1bx4l", "title": title,
		"description": "", "body": body, "author_id": 5017691, "state": state,
		"created_at": 1672928359, "updated_at": updated,
		"url":       "https://help.acme.example/en/articles/" + id + "-" + strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		"parent_id": 125685, "parent_type": "collection", "parent_ids": []int{125685},
		"default_locale": "en",
	}
	if state == "draft" {
		ic.articles[id]["url"] = nil
	}
}

func (ic *intercomFake) remove(id string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	delete(ic.articles, id)
}

// intercomFakePageSize keeps the fake's pages small, so that a handful of
// articles spans several pages whatever per_page asks for.
const intercomFakePageSize = 2

func (ic *intercomFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/articles" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"type":"error.list","errors":[{"code":"not_found","message":"Resource Not Found"}]}`))
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	ic.mu.Lock()
	var all []map[string]any
	for _, a := range ic.articles {
		all = append(all, a)
	}
	ic.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i]["updated_at"].(int64) > all[j]["updated_at"].(int64) })
	total := (len(all) + intercomFakePageSize - 1) / intercomFakePageSize
	lo := min((page-1)*intercomFakePageSize, len(all))
	hi := min(lo+intercomFakePageSize, len(all))
	pages := map[string]any{"type": "pages", "page": page, "per_page": intercomFakePageSize, "total_pages": total}
	if page < total {
		pages["next"] = ic.URL + "/articles?page=" + strconv.Itoa(page+1)
	}
	writeJSON(w, map[string]any{"type": "list", "pages": pages, "total_count": len(all), "data": all[lo:hi]})
}

func newIntercomSource(t *testing.T, base, token string, sl *sleeps, now time.Time) kbimport.Source {
	t.Helper()
	src, err := kbimport.NewIntercom(kbimport.IntercomConfig{BaseURL: base, AccessToken: token,
		Check: "reply.access_token"}, testClient())
	if err != nil {
		t.Fatal(err)
	}
	src.Client().SleepFunc = sl.sleep
	src.Client().Now = func() time.Time { return now }
	return src
}

func TestIntercom(t *testing.T) {
	t.Parallel()
	ic := newIntercomFake(t)
	ic.put("11", "Getting started", "published", 1762000000, `<h1>Welcome</h1><p>Install the app.</p><ul><li>iOS</li><li>Android</li></ul>`)
	ic.put("12", "Billing", "published", 1762000100, `<p>Invoices are monthly.</p>`)
	ic.put("13", "Half written", "draft", 1762000200, `<p>TODO</p>`)
	ic.put("14", "Refunds", "published", 1762000300, `<p>Within 30 days.</p><style>p{}</style>`)
	ic.put("15", "Teams", "published", 1762000400, `<p>Invite your team.</p>`)
	dir := t.TempDir()
	var sl sleeps
	now := time.Unix(1762100000, 0)

	ic.fail("/articles", failure{status: http.StatusTooManyRequests,
		header: map[string]string{"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Unix()+5, 10)},
		body:   `{"type":"error.list","errors":[{"code":"rate_limit_exceeded","message":"Exceeded rate limit"}]}`})
	res := mustRun(t, dir, newIntercomSource(t, ic.URL, "ic-token", &sl, now))
	if got, want := files(t, dir), []string{"intercom-11.md", "intercom-12.md", "intercom-14.md", "intercom-15.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 4 || res.Skipped != 1 {
		t.Fatalf("result %+v", res)
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{5 * time.Second}) {
		t.Fatalf("waits %v, want the 5s to X-RateLimit-Reset", got)
	}
	reqs := ic.take()
	if len(reqs) != 4 { // the 429, then pages 1 to 3
		t.Fatalf("first run's requests %v", reqs)
	}
	for _, r := range reqs {
		if strings.Contains(r, "internal_articles") {
			t.Fatalf("internal articles requested: %s", r)
		}
	}
	want := "---\ntitle: Getting started\nurl: https://help.acme.example/en/articles/11-getting-started\nlocale: en\n" +
		"updated_at: \"2025-11-01T12:26:40Z\"\nsource: intercom\n---\n\n# Welcome\n\nInstall the app.\n\n- iOS\n- Android\n"
	if got := readFile(t, filepath.Join(dir, "intercom-11.md")); got != want {
		t.Fatalf("intercom-11.md:\n%s\nwant:\n%s", got, want)
	}
	checkState(t, dir, "intercom", "1762000400")

	// An edit and an article back to draft: the second run reads only the
	// first page, which reaches an article older than the cursor.
	ic.put("12", "Billing", "published", 1762050000, `<p>Invoices are weekly.</p>`)
	ic.put("15", "Teams", "draft", 1762050100, `<p>Invite your team.</p>`)
	res = mustRun(t, dir, newIntercomSource(t, ic.URL, "ic-token", &sl, now))
	if reqs := ic.take(); !slices.Equal(reqs, []string{"GET /articles?page=1&per_page=50", "GET /articles?page=2&per_page=50"}) {
		t.Fatalf("second run's requests %v, want pages until one older than the cursor", reqs)
	}
	if got, want := files(t, dir), []string{"intercom-11.md", "intercom-12.md", "intercom-14.md"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if res.Written != 1 || res.Removed != 1 || res.Full {
		t.Fatalf("result %+v", res)
	}
	checkState(t, dir, "intercom", "1762050100")

	// Deleted articles are seen only by a full run, which walks the list.
	ic.remove("14")
	im := &kbimport.Importer{Dir: dir, Full: true}
	res, err := im.Run(t.Context(), newIntercomSource(t, ic.URL, "ic-token", &sl, now))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"intercom-11.md", "intercom-12.md"}; !slices.Equal(got, want) {
		t.Fatalf("files after a full run %v, want %v", got, want)
	}
	if res.Written != 0 || res.Removed != 1 || !res.Full {
		t.Fatalf("result %+v", res)
	}

	checkAuthError(t, dir, newIntercomSource(t, ic.URL, "bad", &sl, now), "intercom", "reply.access_token")
	ic.take()
	ic.fail("/articles?page=2&per_page=50", failure{status: http.StatusNotFound, body: `{"type":"error.list"}`})
	ic.put("16", "New one", "published", 1762060000, `<p>x</p>`)
	ic.put("17", "Newer one", "published", 1762060001, `<p>y</p>`)
	ic.put("18", "Newest one", "published", 1762060002, `<p>z</p>`)
	checkPartialFailure(t, dir, newIntercomSource(t, ic.URL, "ic-token", &sl, now), "intercom")
}
