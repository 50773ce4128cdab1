package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/openai"
	"github.com/supportbot/supportbot/bot/policy"
)

// fakeAPI is an OpenAI-compatible server that serves chat completions
// (always content) and embeddings: a text that mentions a parcel or a
// package points one way, every other text the other.
type fakeAPI struct {
	*httptest.Server
	content string

	mu         sync.Mutex
	prompts    []string // user messages of chat requests
	embedded   []string // texts sent to the embeddings endpoint
	embedCalls int
}

func newFakeAPI(t *testing.T, content string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{content: content}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/v1/chat/completions":
			var req chatRequest
			if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) != 2 {
				t.Errorf("chat request %s: %v", body, err)
				return
			}
			f.mu.Lock()
			f.prompts = append(f.prompts, req.Messages[1].Content)
			f.mu.Unlock()
			writeCompletion(w, f.content)
		case "/v1/embeddings":
			var req struct {
				Input []string `json:"input"`
				Model string   `json:"model"`
			}
			if err := json.Unmarshal(body, &req); err != nil || req.Model != "test-embed" {
				t.Errorf("embeddings request %s: %v", body, err)
				return
			}
			f.mu.Lock()
			f.embedded = append(f.embedded, req.Input...)
			f.embedCalls++
			f.mu.Unlock()
			var data []any
			for i, in := range req.Input {
				v := []float32{0.1, 1}
				if low := strings.ToLower(in); strings.Contains(low, "parcel") || strings.Contains(low, "package") {
					v = []float32{1, 0.1}
				}
				data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
				"usage": map[string]any{"prompt_tokens": 1, "total_tokens": 1}})
		default:
			t.Errorf("request %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) config(model string) openai.Config {
	return openai.Config{BaseURL: f.URL + "/v1", Model: model, Timeout: 5 * time.Second, HTTPClient: f.Client()}
}

// kb returns n entries ranked by the matcher in order, best first; the
// entry at index target is about parcels, which the question asks about in
// other words, so only the embeddings rank it first.
func kb(n, target int, answerWords int) []policy.Hit {
	hits := make([]policy.Hit, n)
	for i := range hits {
		hits[i] = policy.Hit{ID: fmt.Sprintf("e%02d", i), Question: fmt.Sprintf("How do I change setting %d?", i),
			Answer: strings.Repeat(fmt.Sprintf("Open settings and change option %d. ", i), answerWords), Score: 0.45 - float64(i)*0.01}
	}
	hits[target].Question, hits[target].Answer = "Where is my parcel?", "Track your parcel from the Orders page."
	return hits
}

var entryID = regexp.MustCompile(`<faq_entry id="([^"]+)">`)

func shownIDs(prompt string) []string {
	var ids []string
	for _, m := range entryID.FindAllStringSubmatch(prompt, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestLLMCandidates(t *testing.T) {
	t.Parallel()
	answer := decision("answer", "Track your parcel from the Orders page.", []string{"e11"}, 0.9)
	q := bot.Query{Text: "My package has not arrived, where is it?"}

	t.Run("a small knowledge base goes whole", func(t *testing.T) {
		t.Parallel()
		api := newFakeAPI(t, answer)
		p := &policy.Policy{Retriever: &fakeRetriever{hits: kb(14, 11, 1), threshold: threshold}, Mode: policy.ModeAlways,
			Answerer: openai.NewAnswerer(api.config("test-model")), Logger: slog.New(slog.DiscardHandler)}
		d, err := p.Decide(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := shownIDs(api.prompts[0]); len(got) != 14 {
			t.Fatalf("the model was shown %v, want all 14 entries", got)
		}
		if d.Action != bot.ActionAnswer || len(d.Candidates) != policy.DefaultTopK {
			t.Fatalf("Decide = %s/%s with %d candidates, want the answer and %d entries for agents", d.Action, d.Reason, len(d.Candidates), policy.DefaultTopK)
		}
	})

	t.Run("an entry beyond the agents' top k is checked like any other", func(t *testing.T) {
		t.Parallel()
		api := newFakeAPI(t, decision("answer", "Track your parcel at https://parcel-tracker.example/login.", []string{"e11"}, 0.9))
		p := &policy.Policy{Retriever: &fakeRetriever{hits: kb(14, 11, 1), threshold: threshold}, Mode: policy.ModeAlways,
			Answerer: openai.NewAnswerer(api.config("test-model")), Logger: slog.New(slog.DiscardHandler)}
		d, err := p.Decide(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if d.Action != bot.ActionEscalate || d.Reason != bot.ReasonLLMUngrounded || d.Answer != "" {
			t.Fatalf("Decide = %s/%s (%s), want llm_ungrounded", d.Action, d.Reason, d.Detail)
		}
	})

	t.Run("a large one: candidates fused with the embeddings", func(t *testing.T) {
		t.Parallel()
		api := newFakeAPI(t, answer)
		cache := t.TempDir()
		hits := kb(40, 11, 30) // ~40 x 200 tokens: over the budget
		newPolicy := func(embed bool) *policy.Policy {
			p := &policy.Policy{Retriever: &fakeRetriever{hits: hits, threshold: threshold}, Mode: policy.ModeAlways,
				Answerer: openai.NewAnswerer(api.config("test-model")), Logger: slog.New(slog.DiscardHandler)}
			if embed {
				p.Embedder, p.EmbeddingModel, p.EmbeddingCacheDir = openai.NewEmbedder(api.config("test-embed")), "test-embed", cache
			}
			return p
		}
		// The matcher alone: its first 10, without the parcel entry.
		if _, err := newPolicy(false).Decide(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		lexical := shownIDs(api.prompts[0])
		if len(lexical) != policy.DefaultCandidates || lexical[0] != "e00" || strings.Contains(strings.Join(lexical, " "), "e11") {
			t.Fatalf("lexical candidates %v, want e00..e09", lexical)
		}
		// Fused: the parcel entry is among the candidates, near the top.
		d, err := newPolicy(true).Decide(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		fused := shownIDs(api.prompts[1])
		if len(fused) != policy.DefaultCandidates || fused[0] != "e00" || !slicesContains(fused[:6], "e11") {
			t.Fatalf("fused candidates %v, want e11 in the first 6", fused)
		}
		if d.Action != bot.ActionAnswer || d.FAQIDs[0] != "e11" {
			t.Fatalf("Decide = %+v, want the parcel answer", d)
		}
		if got, want := len(api.embedded), 41; got != want {
			t.Fatalf("%d texts embedded, want the 40 entries and the question", got)
		}
		files, _ := filepath.Glob(filepath.Join(cache, "embeddings-*.bin"))
		if len(files) != 1 {
			t.Fatalf("cache files %v, want one", files)
		}
		// A new policy (a restart) reads the entry vectors from the cache
		// and embeds only the question.
		if _, err := newPolicy(true).Decide(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		if got := len(api.embedded); got != 42 {
			t.Fatalf("%d texts embedded after a restart, want one more (the question)", got)
		}
		if fused2 := shownIDs(api.prompts[2]); strings.Join(fused2, " ") != strings.Join(fused, " ") {
			t.Fatalf("after a restart the model was shown %v, want %v", fused2, fused)
		}
		// A corrupt cache file is ignored and rewritten.
		if err := os.WriteFile(files[0], []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := newPolicy(true).Decide(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		if got := len(api.embedded); got != 83 {
			t.Fatalf("%d texts embedded after a corrupt cache, want 83", got)
		}
	})
}

// TestLLMCandidatesWarmUp: a large knowledge base is embedded over its first
// decisions, which rank by the matcher alone meanwhile.
func TestLLMCandidatesWarmUp(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, decision("escalate", "", nil, 0.5))
	p := &policy.Policy{Retriever: &fakeRetriever{hits: kb(300, 11, 30), threshold: threshold}, Mode: policy.ModeAlways,
		Answerer: openai.NewAnswerer(api.config("test-model")), Logger: slog.New(slog.DiscardHandler),
		Embedder: openai.NewEmbedder(api.config("test-embed")), EmbeddingModel: "test-embed"}
	q := bot.Query{Text: "Where is my package?"}
	for i, want := range []struct {
		embedded int
		fused    bool
	}{{128, false}, {256, false}, {301, true}, {302, true}} {
		if _, err := p.Decide(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		api.mu.Lock()
		got, shown := len(api.embedded), shownIDs(api.prompts[i])
		api.mu.Unlock()
		if got != want.embedded || slicesContains(shown, "e11") != want.fused {
			t.Fatalf("decision %d: %d texts embedded, shown %v; want %d embedded, fused %v", i+1, got, shown, want.embedded, want.fused)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
