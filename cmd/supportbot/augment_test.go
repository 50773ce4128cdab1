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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/faq"
)

// fakeLLM is an OpenAI-compatible chat completions server: each request
// gets the next status of statuses (200 once they run out), and a 200
// answers with paraphrases of the entry named in the prompt.
type fakeLLM struct {
	mu       sync.Mutex
	statuses []int
	calls    int
	at       []time.Time
}

func (f *fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role, Content string
		} `json:"messages"`
		ResponseFormat *struct {
			Type string `json:"type"`
		} `json:"response_format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 || req.ResponseFormat == nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls++
	f.at = append(f.at, time.Now())
	status := http.StatusOK
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	f.mu.Unlock()
	if status == http.StatusTooManyRequests {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`))
		return
	}
	user := req.Messages[1].Content
	var list []string
	switch {
	case strings.Contains(user, `id="reset-password"`):
		list = []string{"I forgot my password", "how can i change my password", "HOW do I reset my password?", "", strings.Repeat("very long ", 40), "I forgot   my password"}
	default:
		list = []string{"Where can I get a refund", "money back please"}
	}
	content, _ := json.Marshal(map[string][]string{"paraphrases": list})
	resp := map[string]any{
		"id": "cmpl-1", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
			"message": map[string]string{"role": "assistant", "content": string(content)}}},
		"usage": map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeLLM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

const augmentKB = `entries:
  - id: reset-password
    question: How do I reset my password?
    examples:
      - how can i change my password
    answer: Use "Forgot password" on the sign-in page.
  - id: refunds
    question: How do I get a refund?
    answer: Refunds go back to the card you paid with within 5 days.
`

// TestFAQAugment runs `supportbot faq augment` against a fake model server
// through the real client: a 429 is retried after its Retry-After, the
// paraphrases become pending example suggestions (validated: no empty, too
// long, existing or repeated ones), token costs are printed, a rerun makes
// no call, and approving them all adds them to their entries' examples.
func TestFAQAugment(t *testing.T) {
	fake := &fakeLLM{statuses: []int{http.StatusTooManyRequests}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	kbPath := filepath.Join(dir, "kb.yaml")
	if err := os.WriteFile(kbPath, []byte(augmentKB), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("storage:\n  path: %q\nfaq:\n  path: %q\nllm:\n  base_url: %q\n  model: fake-model\nlog:\n  level: warn\n",
		filepath.Join(dir, "data", "supportbot.db"), kbPath, srv.URL+"/v1")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The service made the database; augment writes its suggestions there.
	dbPath := filepath.Join(dir, "data", "supportbot.db")
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		t.Fatal(err)
	}
	st := sqlite.NewStore(dbPath)
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runOK := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(ctx, append(args, "--config", cfgPath), nil, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s\n%s", args, code, errOut.String(), out.String())
		}
		return out.String()
	}

	out := runOK("faq", "augment", "--n", "5", "--concurrency", "1")
	if got, want := fake.count(), 3; got != want { // the 429, its retry, the second entry
		t.Fatalf("calls = %d, want %d\n%s", got, want, out)
	}
	if d := fake.at[1].Sub(fake.at[0]); d < time.Second {
		t.Fatalf("retried after %v, before the server's Retry-After of 1s", d)
	}
	for _, want := range []string{
		"2 entries: 3 new suggestions, 0 cached, 0 failed; 3 calls",
		"tokens: 200 prompt + 40 completion = 240",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	list := runOK("faq", "suggestions", "list")
	for _, want := range []string{"I forgot my password", "Where can I get a refund", "money back please", "example"} {
		if !strings.Contains(list, want) {
			t.Fatalf("suggestions list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "HOW do I reset") || strings.Contains(list, "very long") {
		t.Fatalf("an invalid paraphrase was suggested:\n%s", list)
	}
	// The knowledge base is untouched until approval.
	if b, _ := os.ReadFile(kbPath); string(b) != augmentKB {
		t.Fatalf("augment wrote the knowledge base:\n%s", b)
	}

	// A rerun with the entries unchanged asks nothing.
	out = runOK("faq", "augment")
	if got, want := fake.count(), 3; got != want {
		t.Fatalf("calls after the rerun = %d, want %d", got, want)
	}
	if !strings.Contains(out, "2 cached") || !strings.Contains(out, "tokens: 0 prompt + 0 completion = 0") {
		t.Fatalf("rerun output:\n%s", out)
	}

	out = runOK("faq", "suggestions", "approve", "--all", "--entry", "refunds")
	if !strings.Contains(out, "approved 2 example suggestion(s) of 2 pending") {
		t.Fatalf("approve --all --entry output:\n%s", out)
	}
	out = runOK("faq", "suggestions", "approve", "--all")
	if !strings.Contains(out, "approved 1 example suggestion(s) of 1 pending") {
		t.Fatalf("approve --all output:\n%s", out)
	}
	kb, err := faq.Load(kbPath)
	if err != nil {
		t.Fatal(err)
	}
	reset, _ := kb.Entry("reset-password")
	refunds, _ := kb.Entry("refunds")
	if got, want := strings.Join(reset.Examples, "|"), "how can i change my password|I forgot my password"; got != want {
		t.Fatalf("reset-password examples = %q, want %q", got, want)
	}
	if got, want := strings.Join(refunds.Examples, "|"), "Where can I get a refund|money back please"; got != want {
		t.Fatalf("refunds examples = %q, want %q", got, want)
	}
	pending := runOK("faq", "suggestions", "list")
	if strings.Contains(pending, "pending") {
		t.Fatalf("suggestions left pending:\n%s", pending)
	}
}

// TestApproveLongExample: a phrasing longer than an example may be is not
// approved silently: one by one it is refused, in bulk it stays pending.
func TestApproveLongExample(t *testing.T) {
	dir := t.TempDir()
	kbPath := filepath.Join(dir, "kb.yaml")
	if err := os.WriteFile(kbPath, []byte(augmentKB), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "data", "supportbot.db")
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		t.Fatal(err)
	}
	st := sqlite.NewStore(dbPath)
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	ids, _, err := st.SuggestExamples(context.Background(), []bot.FAQSuggestion{
		{EntryID: "refunds", Question: strings.Repeat("where is my money ", 20), SuggestedBy: "Grace"},
		{EntryID: "refunds", Question: "where is my money", SuggestedBy: "Grace"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("storage:\n  path: %q\nfaq:\n  path: %q\nlog:\n  level: warn\n", dbPath, kbPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"faq", "suggestions", "approve", strconv.FormatInt(ids[0], 10), "--config", cfgPath}, nil, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "longer than 300 bytes") {
		t.Fatalf("approve long = exit %d: %s", code, errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"faq", "suggestions", "approve", "--all", "--config", cfgPath}, nil, &out, &errOut); code != 0 {
		t.Fatalf("approve --all: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "approved 1 example suggestion(s) of 2 pending (1 longer than 300 bytes left for review)") {
		t.Fatalf("approve --all output: %s", out.String())
	}
}
