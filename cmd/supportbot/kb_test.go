package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// kbZendeskFake is Zendesk Guide's incremental article export
// (GET /api/v2/help_center/incremental/articles?start_time=N, documented at
// https://developer.zendesk.com/documentation/help_center/help-center-api/understanding-incremental-article-exports/):
// pages of one article, the next_page link carrying the next start_time.
// It records the start_time of each request.
type kbZendeskFake struct {
	*httptest.Server
	mu       sync.Mutex
	starts   []string
	articles []map[string]any // in updated order
}

func newKBZendeskFake(t *testing.T) *kbZendeskFake {
	t.Helper()
	f := &kbZendeskFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if u, p, ok := r.BasicAuth(); !ok || u != "bot@example.com/token" || p != "zd-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"Couldn't authenticate you"}`))
			return
		}
		if r.URL.Path != "/api/v2/help_center/incremental/articles" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		start, _ := strconv.ParseInt(r.URL.Query().Get("start_time"), 10, 64)
		f.mu.Lock()
		f.starts = append(f.starts, r.URL.Query().Get("start_time"))
		var page []map[string]any
		more := false
		for _, a := range f.articles {
			if a["updated"].(int64) > start {
				if len(page) == 1 {
					more = true
					break
				}
				page = append(page, a)
			}
		}
		f.mu.Unlock()
		end := start
		if len(page) > 0 {
			end = page[0]["updated"].(int64)
		}
		var next any
		if more {
			next = f.URL + "/api/v2/help_center/incremental/articles?start_time=" + strconv.FormatInt(end, 10)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"articles": page, "next_page": next, "end_time": end, "count": len(page)})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *kbZendeskFake) add(id int, title string, updated int64, draft bool, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.articles = append(f.articles, map[string]any{
		"id": id, "title": title, "draft": draft, "body": body, "locale": "en-us", "label_names": []string{"billing"},
		"html_url":   fmt.Sprintf("https://acme.zendesk.com/hc/en-us/articles/%d", id),
		"updated_at": "2026-11-01T10:00:00Z", "updated": updated, "user_segment_id": nil,
	})
}

func (f *kbZendeskFake) takeStarts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.starts
	f.starts = nil
	return s
}

// writeKBConfig writes a config with a Zendesk trigger replying through api,
// its API token token, and knowledge.articles set to articles.
func writeKBConfig(t *testing.T, apiURL, token, articles string, allowPrivate bool) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`storage:
  path: %q
outbound:
  allow_private_networks: %t
log:
  level: "warn"
knowledge:
  articles: %q
triggers:
  - name: zd
    kind: zendesk
    secret: "zd-webhook-secret"
    reply: {kind: zendesk, base_url: %q, email: "bot@example.com", api_token: %q}
`, filepath.Join(dir, "data", "supportbot.db"), allowPrivate, articles, apiURL, token)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestKBImport runs `supportbot kb import zendesk --trigger zd` against a
// fake Zendesk: the first run writes the published articles into
// knowledge.articles, the second asks from the first's end_time and
// applies only the changes, a refused token fails with the setting to
// check, and without allow_private_networks the fake on loopback is refused.
func TestKBImport(t *testing.T) {
	api := newKBZendeskFake(t)
	api.add(1, "Pay by card", 1762000000, false, "<h2>Cards</h2><p>Visa and Mastercard.</p>")
	api.add(2, "Unreleased", 1762000100, true, "<p>draft</p>")
	api.add(3, "Invoices", 1762000200, false, "<p>Monthly.</p>")
	articles := filepath.Join(t.TempDir(), "articles")
	cfg := writeKBConfig(t, api.URL, "zd-token", articles, true)

	code, out, errOut := runCLI("kb", "import", "zendesk", "--trigger", "zd", "--config", cfg)
	if code != 0 {
		t.Fatalf("kb import: exit %d: %s", code, errOut)
	}
	if want := "zendesk: 2 written, 0 unchanged, 0 removed, 1 skipped"; !strings.HasPrefix(out, want) {
		t.Fatalf("output %q, want %q…", out, want)
	}
	var names []string
	ents, _ := os.ReadDir(articles)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{".import-zendesk.json", "zendesk-1.md", "zendesk-3.md"}; !slices.Equal(names, want) {
		t.Fatalf("articles directory %v, want %v", names, want)
	}
	b, _ := os.ReadFile(filepath.Join(articles, "zendesk-1.md"))
	if !strings.Contains(string(b), "url: https://acme.zendesk.com/hc/en-us/articles/1\n") || !strings.Contains(string(b), "\n## Cards\n\nVisa and Mastercard.\n") {
		t.Fatalf("zendesk-1.md:\n%s", b)
	}
	if got := api.takeStarts(); !slices.Equal(got, []string{"0", "1762000000", "1762000100"}) {
		t.Fatalf("start_time of the first run's pages %v", got)
	}

	// The draft is published and an article unpublished: a second run
	// asks from the last end_time.
	api.add(2, "Unreleased", 1762000300, false, "<p>Now out.</p>")
	api.add(3, "Invoices", 1762000400, true, "<p>Monthly.</p>")
	code, out, errOut = runCLI("kb", "import", "zendesk", "--trigger", "zd", "--config", cfg)
	if code != 0 {
		t.Fatalf("second kb import: exit %d: %s", code, errOut)
	}
	if got := api.takeStarts(); len(got) == 0 || got[0] != "1762000200" {
		t.Fatalf("second run's start_time %v, want 1762000200 first", got)
	}
	if want := "zendesk: 1 written, 0 unchanged, 1 removed"; !strings.HasPrefix(out, want) {
		t.Fatalf("output %q, want %q…", out, want)
	}
	if _, err := os.Stat(filepath.Join(articles, "zendesk-3.md")); !os.IsNotExist(err) {
		t.Fatalf("the unpublished article's file is still there: %v", err)
	}

	// A refused token: exit 1, the setting named, the token not printed.
	bad := writeKBConfig(t, api.URL, "wrong-zd-token", articles, true)
	code, out, errOut = runCLI("kb", "import", "zendesk", "--trigger", "zd", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "zendesk answered 401") ||
		!strings.Contains(errOut, "triggers.zd.reply.email and triggers.zd.reply.api_token") {
		t.Fatalf("kb import with a wrong token: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(out+errOut, "wrong-zd-token") {
		t.Fatal("the token was printed")
	}

	// $SUPPORTBOT_KB_TOKEN stands in for --token, after a trigger's own
	// credential.
	t.Setenv(kbTokenEnv, "zd-token")
	other := filepath.Join(t.TempDir(), "other")
	code, out, errOut = runCLI("kb", "import", "zendesk", "--base-url", api.URL, "--email", "bot@example.com", "--dir", other, "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "zendesk: 2 written") {
		t.Fatalf("kb import with flags and the token from the environment: exit %d, %q, stderr %q", code, out, errOut)
	}
	t.Setenv(kbTokenEnv, "some-other-vendors-key")
	code, _, errOut = runCLI("kb", "import", "zendesk", "--trigger", "zd", "--full", "--config", cfg)
	if code != 0 {
		t.Fatalf("kb import --trigger with another token in the environment: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI("kb", "import", "zendesk", "--base-url", api.URL, "--email", "bot@example.com", "--dir", other, "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "check --email and --token (or $"+kbTokenEnv+")") {
		t.Fatalf("kb import with a wrong token from the environment: exit %d, stderr %q", code, errOut)
	}

	// The outbound guard refuses the loopback fake unless allowed.
	guarded := writeKBConfig(t, api.URL, "zd-token", articles, false)
	code, _, errOut = runCLI("kb", "import", "zendesk", "--trigger", "zd", "--config", guarded)
	if code != 1 || !strings.Contains(errOut, "allow_private_networks") {
		t.Fatalf("kb import to loopback without allow_private_networks: exit %d, stderr %q", code, errOut)
	}
}

func TestKBImportUsage(t *testing.T) {
	api := newKBZendeskFake(t)
	cfg := writeKBConfig(t, api.URL, "zd-token", "", true)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown vendor", []string{"kb", "import", "jira"}, `unknown help center "jira"`},
		{"no directory", []string{"kb", "import", "zendesk", "--trigger", "zd"}, "set knowledge.articles or pass --dir"},
		{"no such trigger", []string{"kb", "import", "zendesk", "--trigger", "nope", "--dir", t.TempDir()}, `no trigger named "nope"`},
		{"trigger of another vendor", []string{"kb", "import", "intercom", "--trigger", "zd", "--dir", t.TempDir()}, `replies through "zendesk", not intercom`},
		{"flags name the missing flag", []string{"kb", "import", "zendesk", "--base-url", api.URL, "--dir", t.TempDir()}, "--email: required"},
		{"help scout needs the Docs key", []string{"kb", "import", "helpscout", "--dir", t.TempDir()}, "Docs API key is required"},
		{"chatwoot needs the portal", []string{"kb", "import", "chatwoot", "--base-url", api.URL, "--account-id", "1", "--token", "t", "--dir", t.TempDir()}, "--portal: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(append(tc.args, "--config", cfg)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q, want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
