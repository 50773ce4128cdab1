package faq

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
)

func TestCleanExamples(t *testing.T) {
	t.Parallel()
	e := Entry{ID: "reset", Question: "How do I reset my password?", Examples: []string{"forgot my password"}}
	for _, tc := range []struct {
		name string
		got  []string
		max  int
		want []string
	}{
		{"kept, spaces collapsed", []string{"  lost   my\npassword "}, 0, []string{"lost my password"}},
		{"empty dropped", []string{"", "   "}, 0, nil},
		{"the question dropped", []string{"how do i reset my PASSWORD?"}, 0, nil},
		{"an existing example dropped", []string{"Forgot  my password"}, 0, nil},
		{"repeats dropped", []string{"new password", "New Password"}, 0, []string{"new password"}},
		{"too long dropped", []string{strings.Repeat("a", MaxExampleLen+1), "ok"}, 0, []string{"ok"}},
		{"at most max", []string{"a", "b", "c"}, 2, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, CleanExamples(e, tc.got, tc.max)); diff != "" {
				t.Fatalf("CleanExamples (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseParaphrases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"object", `{"paraphrases": ["a", "b"]}`, []string{"a", "b"}, false},
		{"fenced", "```json\n{\"paraphrases\": [\"a\"]}\n```", []string{"a"}, false},
		{"list", `["a", "b"]`, []string{"a", "b"}, false},
		{"lines", "1. first one\n- \"second\"\n\n* third", []string{"first one", "second", "third"}, false},
		{"other object", `{"answer": "x"}`, nil, true},
		{"empty", "", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParaphrases(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("ParseParaphrases(%q) error = %v, want error %v", tc.in, err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("ParseParaphrases (-want +got):\n%s", diff)
			}
		})
	}
}

// memAugmentStore is an AugmentStore in memory.
type memAugmentStore struct {
	mu    sync.Mutex
	done  map[string]bool
	saved []bot.FAQSuggestion
}

func (m *memAugmentStore) AugmentDone(_ context.Context, hash string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done[hash], nil
}

func (m *memAugmentStore) SaveAugment(_ context.Context, rec bot.AugmentRecord, list []bot.FAQSuggestion) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[rec.Hash] = true
	m.saved = append(m.saved, list...)
	return len(list), nil
}

// TestAugmentRetries: a 429 with Retry-After is waited out and retried, a
// permanent error is not, tokens of every answered call count, and an
// entry asked about before is skipped.
func TestAugmentRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	llm := bot.AnswererFunc(func(_ context.Context, req bot.LLMRequest) (bot.LLMResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		id := strings.TrimSpace(req.User)
		calls[id]++
		switch {
		case id == "busy" && calls[id] == 1:
			return bot.LLMResponse{}, bot.RetryAfter(7*time.Second, errors.New("429 Too Many Requests"))
		case id == "broken":
			return bot.LLMResponse{}, bot.Permanent(errors.New("404 model not found"))
		}
		return bot.LLMResponse{Content: `{"paraphrases": ["one ` + id + `", "two ` + id + `"]}`, PromptTokens: 50, CompletionTokens: 10}, nil
	})
	var slept []time.Duration
	store := &memAugmentStore{done: map[string]bool{}}
	a := &Augmenter{
		LLM: llm, Store: store, Model: "m", N: 2, Concurrency: 2,
		Prompt: func(e Entry, n int) (string, string, error) { return "system", e.ID, nil },
		SleepFunc: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return nil
		},
	}
	entries := []Entry{
		{ID: "busy", Question: "q1", Answer: "a"},
		{ID: "broken", Question: "q2", Answer: "a"},
		{ID: "fine", Question: "q3", Answer: "a"},
	}
	res, err := a.Augment(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0]; got.Err != nil || got.Calls != 2 || got.Suggested != 2 || got.PromptTokens != 50 {
		t.Fatalf("busy entry = %+v", got)
	}
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, slept); diff != "" {
		t.Fatalf("waits (-want +got):\n%s", diff)
	}
	if got := res[1]; got.Err == nil || !bot.IsPermanent(got.Err) || got.Calls != 1 {
		t.Fatalf("broken entry = %+v, want one call and a permanent error", got)
	}
	if got := res[2]; got.Err != nil || got.Suggested != 2 {
		t.Fatalf("fine entry = %+v", got)
	}
	// A rerun asks only about the entry that failed.
	res, err = a.Augment(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Cached || !res[2].Cached || res[1].Cached || calls["busy"] != 2 || calls["fine"] != 1 {
		t.Fatalf("rerun = %+v, calls %v", res, calls)
	}
	// Another number of paraphrases is another request.
	if a.Hash(entries[0]) == (&Augmenter{Model: "m", N: 3}).Hash(entries[0]) {
		t.Fatal("the hash ignores N")
	}
}

func TestAddExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const kb = `# our FAQ
entries:
  - id: reset
    question: How do I reset my password?
    answer: Use the reset link.
  - id: invoice
    question: Where are my invoices?
    examples: [download invoice]
    answer: Under Billing.
`
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(kb), 0o600); err != nil {
		t.Fatal(err)
	}
	other := "entries:\n  - id: cancel\n    question: How do I cancel?\n    answer: Settings.\n"
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := AddExamples(dir, "reset", []string{"forgot my password", "HOW do I reset my password?", "Forgot my  password"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"forgot my password"}, res.Added); diff != "" || res.File != filepath.Join(dir, "a.yaml") {
		t.Fatalf("AddExamples = %+v (-want +got added):\n%s", res, diff)
	}
	if _, err := AddExamples(dir, "invoice", []string{"my receipts"}); err != nil {
		t.Fatal(err)
	}
	if _, err := AddExamples(dir, "cancel", []string{"stop my plan"}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]string{
		"reset": {"forgot my password"}, "invoice": {"download invoice", "my receipts"}, "cancel": {"stop my plan"},
	} {
		e, _ := got.Entry(id)
		if diff := cmp.Diff(want, e.Examples); diff != "" {
			t.Fatalf("%s examples (-want +got):\n%s", id, diff)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); !strings.Contains(string(b), "# our FAQ") {
		t.Fatalf("the file's comment was lost:\n%s", b)
	}
	if _, err := AddExamples(dir, "nope", []string{"x"}); !errors.Is(err, ErrUnknownEntry) {
		t.Fatalf("unknown entry: err = %v, want ErrUnknownEntry", err)
	}
	// Nothing new: nothing written.
	if res, err := AddExamples(dir, "reset", []string{"forgot my password"}); err != nil || len(res.Added) != 0 {
		t.Fatalf("AddExamples again = %+v, %v", res, err)
	}
}
