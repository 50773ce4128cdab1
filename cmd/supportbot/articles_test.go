package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/kbimport"
	"github.com/supportbot/supportbot/faq/articles"
)

// mustArticles writes a small help center: a Markdown article with front
// matter (and the keys kb import adds) and an HTML page.
func mustArticles(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"acme-101.md": `---
title: Pairing the SolarPump with the mobile app
url: https://help.example.com/articles/101-solarpump-pairing
tags: [solarpump, app]
locale: en
updated_at: 2026-11-02T10:00:00Z
source: zendesk
---
# Pairing the SolarPump with the mobile app

## Before you start

Charge the SolarPump for an hour and install the Acme Garden app on your phone.

## Pair the pump

Hold the pump's blue button for five seconds until the light blinks. In the Acme Garden app,
tap Devices, then Add device, and pick SolarPump from the list. The pump pairs within a minute.

## Troubleshooting

If the light does not blink, the battery is empty: charge the pump again.
`,
		"winter.html": `<!doctype html><html lang="en"><head><title>Storing the pump in winter | Acme Help</title>
<link rel="canonical" href="https://help.example.com/articles/102-winter-storage"></head>
<body><nav>Home › Pumps</nav><h1>Storing the SolarPump in winter</h1>
<p>Before the first frost, drain the SolarPump and keep it indoors, away from frost.</p>
<h2>Draining the pump</h2><p>Unscrew the drain cap under the pump and let the water run out for ten minutes.</p>
</body></html>`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// TestEndToEndArticles: a question the FAQ does not cover is answered from
// the article's passage with its link; an unanswerable one (it shares only
// "pump" and "battery" with the articles) is escalated out_of_scope, and
// the dashboard lists the passages considered.
func TestEndToEndArticles(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Knowledge.Articles = mustArticles(t)
	cfg.Server.AdminToken = "dash-admin-t0ken"
	m := mustOpenMain(t, cfg)
	hook := m.Server.URL() + "/hooks/chat"

	ev := say(t, rc, hook, "c-art", "a1", "How do I pair my SolarPump with the app?")
	if ev.State != "bot" || !strings.HasPrefix(ev.Message.Text, "This article answers it: Pairing the SolarPump with the mobile app") ||
		!strings.Contains(ev.Message.Text, "Source: Pairing the SolarPump with the mobile app https://help.example.com/articles/101-solarpump-pairing") ||
		!strings.Contains(ev.Message.Text, "blue button") {
		t.Fatalf("reply = %q (state %s), want the pairing passage with its link", ev.Message.Text, ev.State)
	}

	ev = say(t, rc, hook, "c-dog", "a2", "What is the warranty on the pump battery?")
	if ev.State != "escalated" {
		t.Fatalf("reply = %+v, want a hand-off", ev)
	}
	esc, err := m.Store.ListEscalations(context.Background(), "open", 10)
	if err != nil || len(esc) != 1 || esc[0].Reason != bot.ReasonOutOfScope {
		t.Fatalf("escalations = %+v, %v; want one out_of_scope", esc, err)
	}

	// The dashboard's conversation page lists the passages considered.
	base := m.Server.URL()
	resp, body := dashDo(t, "GET", base+"/admin/login", nil, nil, "")
	cookies := resp.Cookies()
	resp, _ = dashDo(t, "POST", base+"/admin/login", url.Values{"token": {cfg.Server.AdminToken}, "csrf": {formToken(t, body)}}, cookies, "")
	_, page := dashDo(t, "GET", base+"/admin/conversations/"+url.PathEscape(esc[0].ConversationKey), nil, resp.Cookies(), "")
	if !strings.Contains(page, `id="passages"`) || !strings.Contains(page, "https://help.example.com/articles/") {
		t.Fatalf("conversation page lists no passages:\n%s", page)
	}
}

// TestEndToEndArticlesLLM runs llm.mode always against a fake
// OpenAI-compatible server through the real client: an answer that cites
// the passage it was given goes out with the article's link; one that cites
// a passage it was not given, or adds a link the passage does not have, is
// refused (llm_ungrounded).
func TestEndToEndArticlesLLM(t *testing.T) {
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		user := req.Messages[len(req.Messages)-1].Content
		out := map[string]any{"action": "answer", "confidence": 0.9, "reason": "from the article", "summary": "pairing"}
		switch {
		case strings.Contains(user, "forged"):
			out["answer"], out["cited_faq_ids"] = "Hold the blue button for five seconds.", []string{"acme-101#9"}
		case strings.Contains(user, "phishing"):
			out["answer"], out["cited_faq_ids"] = "Hold the pump's blue button for five seconds, then confirm at https://evil.example/claim.", []string{"acme-101#2"}
		default:
			out["answer"], out["cited_faq_ids"] = "Hold the pump's blue button for five seconds until the light blinks, then add the device in the Acme Garden app.", []string{"acme-101#2"}
		}
		content, _ := json.Marshal(out)
		resp, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "fake",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": string(content)}}},
			"usage":   map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
		})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(llm.Close)
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Knowledge.Articles = mustArticles(t)
	cfg.LLM.Mode, cfg.LLM.BaseURL, cfg.LLM.APIKey, cfg.LLM.MaxRetries = "always", llm.URL, "sk-test", 0
	m := mustOpenMain(t, cfg)
	url := m.Server.URL() + "/hooks/chat"

	ev := say(t, rc, url, "c-ok", "l1", "How do I pair my SolarPump with the app?")
	if ev.State != "bot" || !strings.Contains(ev.Message.Text, "Source: Pairing the SolarPump with the mobile app https://help.example.com/articles/101-solarpump-pairing") {
		t.Fatalf("reply = %q (state %s), want the model's answer with its source", ev.Message.Text, ev.State)
	}
	for i, q := range []string{"How do I pair my SolarPump? forged", "How do I pair my SolarPump? phishing"} {
		ev := say(t, rc, url, "c-bad"+string(rune('a'+i)), "l-bad"+string(rune('a'+i)), q)
		if ev.State != "escalated" || strings.Contains(ev.Message.Text, "evil.example") {
			t.Fatalf("%q: reply = %+v, want a hand-off", q, ev)
		}
	}
	esc, err := m.Store.ListEscalations(context.Background(), "open", 10)
	if err != nil || len(esc) != 2 {
		t.Fatalf("escalations = %+v, %v", esc, err)
	}
	for _, e := range esc {
		if e.Reason != bot.ReasonLLMUngrounded {
			t.Errorf("escalation %s: reason %s (%s), want llm_ungrounded", e.ConversationKey, e.Reason, e.Detail)
		}
		var passages int
		for _, c := range e.Candidates {
			if c.Kind == bot.CandidateArticle && c.URL != "" {
				passages++
			}
		}
		if passages == 0 {
			b, _ := json.Marshal(e.Candidates)
			t.Errorf("escalation %s lists no passages: %s", e.ConversationKey, bytes.TrimSpace(b))
		}
	}
}

// TestArticlesConfigErrors: a bad knowledge.* value, or an article that
// does not load, stops serve with the key and the file named.
func TestArticlesConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "broken.md"), []byte("---\ntitle: [x\n---\ntext\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"missing dir", "storage:\n  path: \"" + filepath.Join(dir, "db", "s.db") + "\"\nknowledge:\n  articles: \"" + filepath.Join(dir, "nope") + "\"\n", []string{"knowledge.articles"}},
		{"threshold", "knowledge:\n  threshold: 2\n", []string{"knowledge.threshold"}},
		{"passages", "knowledge:\n  passages: 0\n", []string{"knowledge.passages"}},
		{"bad article", "storage:\n  path: \"" + filepath.Join(dir, "db", "s.db") + "\"\nknowledge:\n  articles: \"" + bad + "\"\n",
			[]string{"knowledge.articles", "broken.md: front matter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"serve", "--config", path}, nil, io.Discard, &stderr)
			if code != 2 {
				t.Fatalf("exit = %d, want 2; stderr: %s", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Fatalf("stderr %q does not name %q", stderr.String(), w)
				}
			}
		})
	}
}

// TestEvalArticles runs supportbot eval --articles --json on a small help center.
func TestEvalArticles(t *testing.T) {
	dir := mustArticles(t)
	cases := filepath.Join(t.TempDir(), "cases.jsonl")
	lines := `{"q": "How do I pair my SolarPump with the app?", "articles": ["acme-101"]}
{"q": "How do I drain the pump for winter?", "articles": ["winter"], "type": "answerable"}
{"q": "Can I bring my dog to the Paris office?", "articles": []}
`
	if err := os.WriteFile(cases, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"eval", "--articles", dir, "--cases", cases, "--json"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit = %d: %s", code, stderr.String())
	}
	var got map[string]float64
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", stdout.String(), err)
	}
	keys := []string{"cases", "recall_at_1", "recall_at_5", "recall_at_10", "answered_correct", "escalated_unanswerable", "p50_us", "p99_us"}
	if len(got) != len(keys) {
		t.Fatalf("keys = %v, want exactly %v", got, keys)
	}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Fatalf("no key %q in %v", k, got)
		}
	}
	if got["cases"] != 3 || got["recall_at_1"] != 1 || got["answered_correct"] < 0.5 || got["escalated_unanswerable"] != 1 {
		t.Fatalf("figures = %v", got)
	}
	code := run(context.Background(), []string{"eval", "--articles", dir, "--cases", filepath.Join(dir, "acme-101.md")}, nil, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("eval with a bad cases file = %d, want 2", code)
	}
}

// TestImportedArticlesLoad: the files `supportbot kb import` writes load as
// articles, with their title, link, tags and sections.
func TestImportedArticlesLoad(t *testing.T) {
	dir := t.TempDir()
	b, err := kbimport.Render("zendesk", kbimport.Article{
		ID: "360001", Title: "Refunds: how long they take", URL: "https://acme.zendesk.com/hc/en-us/articles/360001",
		Tags: []string{"billing"}, Locale: "en-us", UpdatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Body: "<p>We refund every order returned within 30 days.</p><h2>Card payments</h2><p>A refund reaches your card within 5 working days.</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, kbimport.FileName("zendesk", "360001")), b, 0o600); err != nil {
		t.Fatal(err)
	}
	as, err := articles.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Title != "Refunds: how long they take" || as[0].URL != "https://acme.zendesk.com/hc/en-us/articles/360001" ||
		len(as[0].Tags) != 1 || as[0].Locale != "en-us" || len(as[0].Sections) != 2 || as[0].Sections[1].Headings[0] != "Card payments" {
		t.Fatalf("loaded %+v from:\n%s", as, b)
	}
	hits := articles.Build(as, articles.Options{}).Search("How long does a refund to my card take?", 1)
	if len(hits) != 1 || hits[0].Passage.Heading() != "Card payments" {
		t.Fatalf("Search = %+v", hits)
	}
}

// TestArticlesReload: a reload (SIGHUP) swaps in the changed help center;
// a broken file leaves the index in use and names the file.
func TestArticlesReload(t *testing.T) {
	dir := mustArticles(t)
	s, err := openArticles(KnowledgeConfig{Articles: dir}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	q := "Which fertiliser suits tomatoes?"
	if ps, _, _ := s.RetrievePassages(context.Background(), q, 1); len(ps) > 0 && ps[0].ArticleID == "tomatoes" {
		t.Fatal("found an article not written yet")
	}
	mustWrite := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("tomatoes.md", "# Feeding tomatoes\n\nTomatoes like a fertiliser rich in potassium.\n")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if ps, _, _ := s.RetrievePassages(context.Background(), q, 1); len(ps) == 0 || ps[0].ArticleID != "tomatoes" {
		t.Fatalf("after reload: %+v", ps)
	}
	mustWrite("broken.md", "no title here\n")
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "broken.md") {
		t.Fatalf("Reload = %v, want an error naming broken.md", err)
	}
	if ps, _, _ := s.RetrievePassages(context.Background(), q, 1); len(ps) == 0 || ps[0].ArticleID != "tomatoes" {
		t.Fatalf("after a failed reload: %+v, want the index in use", ps)
	}
}

// TestArticlesIndexCache: the service keeps the article index in
// articles-cache beside the database; a restart with the same articles
// reads it, a corrupt file is rebuilt with a warning, and the answers are
// the same.
func TestArticlesIndexCache(t *testing.T) {
	tmp := t.TempDir()
	path := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(path, []byte("storage:\n  path: "+filepath.Join(tmp, "data", "bot.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tmp, "data", "articles-cache"); cfg.Knowledge.cacheDir != want {
		t.Fatalf("cache dir %q, want %q", cfg.Knowledge.cacheDir, want)
	}
	cfg.Knowledge.Articles = mustArticles(t)
	open := func() (*articleService, string) {
		t.Helper()
		var logs bytes.Buffer // Reload logs before it returns
		s, err := openArticles(cfg.Knowledge, nil, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, logs.String()
	}
	q := "How do I pair my SolarPump with the app?"
	first, logs := open()
	if !strings.Contains(logs, "cached=false") || strings.Contains(logs, "WARN") {
		t.Fatalf("first start logged:\n%s", logs)
	}
	want, _, _ := first.RetrievePassages(context.Background(), q, 2)
	files, _ := filepath.Glob(filepath.Join(cfg.Knowledge.cacheDir, "articles-index-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %q, want one", files)
	}
	second, logs := open()
	if !strings.Contains(logs, "cached=true") {
		t.Fatalf("restart logged:\n%s", logs)
	}
	if got, _, _ := second.RetrievePassages(context.Background(), q, 2); !reflect.DeepEqual(got, want) {
		t.Fatalf("from the cache %+v, want %+v", got, want)
	}
	if err := os.WriteFile(files[0], []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	third, logs := open()
	if !strings.Contains(logs, "cached=false") || !strings.Contains(logs, "article index cache not used") {
		t.Fatalf("start with a corrupt cache logged:\n%s", logs)
	}
	if got, _, _ := third.RetrievePassages(context.Background(), q, 2); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a rebuild %+v, want %+v", got, want)
	}
}
