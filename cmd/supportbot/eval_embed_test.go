package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeEmbeddings is an OpenAI-compatible embeddings server: a text's
// vector counts its words of five letters or more in 64 hashed dimensions,
// "hibernate" counted as "winter" (a synonym only the embeddings know).
// It records the inputs it was sent.
type fakeEmbeddings struct {
	mu     sync.Mutex
	inputs []string
	models []string
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, req.Input...)
	f.models = append(f.models, req.Model)
	f.mu.Unlock()
	type datum struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []datum
	for i, text := range req.Input {
		v := make([]float32, 64)
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
			if w == "hibernate" {
				w = "winter"
			}
			if len(w) >= 5 {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%64]++
			}
		}
		v[63] += 0.01 // never the zero vector
		data = append(data, datum{Object: "embedding", Index: i, Embedding: v})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
}

// TestEvalArticlesEmbeddings: with llm.embedding_model set, eval --articles
// embeds the passages and each question through the OpenAI-compatible
// API and reports the fused ranking's recall: a question in words only
// the embeddings relate to the article ("hibernate" for winter storage)
// is retrieved, which the lexical ranking misses.
func TestEvalArticlesEmbeddings(t *testing.T) {
	dir := mustArticles(t)
	tmp := t.TempDir()
	cases := filepath.Join(tmp, "cases.jsonl")
	lines := `{"q": "How do I pair my SolarPump with the app?", "articles": ["acme-101"]}
{"q": "How should I hibernate it?", "articles": ["winter"]}
{"q": "Can I bring my dog to the Paris office?", "articles": []}
`
	if err := os.WriteFile(cases, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := &fakeEmbeddings{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	config := filepath.Join(tmp, "config.yaml")
	yaml := fmt.Sprintf(`storage:
  path: %s
llm:
  mode: fallback
  base_url: %s/v1
  model: fake-chat
  embedding_model: fake-embed
`, filepath.Join(tmp, "data", "bot.db"), srv.URL)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	eval := func(args ...string) map[string]any {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"eval", "--articles", dir, "--cases", cases, "--json"}, args...)
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("eval %q = %d: %s", args, code, stderr.String())
		}
		var got map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("output %q: %v", stdout.String(), err)
		}
		return got
	}
	lexical := eval()
	if _, ok := lexical["ranking"]; ok || lexical["recall_at_10"] != 0.5 {
		t.Fatalf("without embeddings: %v, want the lexical ranking missing the hibernate question", lexical)
	}
	if len(fake.inputs) != 0 {
		t.Fatalf("the embeddings server was called without llm.embedding_model: %q", fake.inputs)
	}

	fused := eval("--config", config)
	if fused["ranking"] != "fused" || fused["embedding_model"] != "fake-embed" || fused["recall_at_10"] != 1.0 || fused["cases"] != 3.0 {
		t.Fatalf("with embeddings: %v, want the fused ranking retrieving both articles", fused)
	}
	passages, _ := fused["embedded_passages"].(float64)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	questions := 0
	for _, in := range fake.inputs {
		if strings.HasPrefix(in, "How ") || strings.HasPrefix(in, "Can I") {
			questions++
		}
	}
	if passages < 4 || questions != 3 || len(fake.inputs) != int(passages)+3 {
		t.Fatalf("embedded %v passages; the server got %d texts, %d of them questions: want every passage and the 3 questions", passages, len(fake.inputs), questions)
	}
	for _, m := range fake.models {
		if m != "fake-embed" {
			t.Fatalf("model %q sent, want fake-embed", m)
		}
	}
	// The local mode's figures are the lexical ones in both runs.
	if fused["answered_correct"] != lexical["answered_correct"] || fused["escalated_unanswerable"] != lexical["escalated_unanswerable"] {
		t.Fatalf("local mode changed with embeddings: %v vs %v", fused, lexical)
	}
}
