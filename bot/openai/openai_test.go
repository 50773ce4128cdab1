package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/openai"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// MustServer starts a fake OpenAI-compatible server that serves POST
// /v1/chat/completions with h, and an Answerer for it.
func MustServer(tb testing.TB, cfg openai.Config, h http.HandlerFunc) *openai.Answerer {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			tb.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
		}
		h(w, r)
	}))
	tb.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/v1/"
	cfg.HTTPClient = srv.Client()
	return openai.NewAnswerer(cfg)
}

func ok(w http.ResponseWriter, content string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":%q}}],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}`, content)
}

var req = bot.LLMRequest{
	System: "You are a bot.", User: "<customer_message>hi</customer_message>",
	Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`), SchemaName: "decision", MaxTokens: 300,
}

func TestCompleteRequest(t *testing.T) {
	t.Parallel()
	var got map[string]any
	var auth string
	a := MustServer(t, openai.Config{Model: "llama3.1:8b", APIKey: "sk-test"}, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		ok(w, `{"a":"b"}`)
	})
	resp, err := a.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != `{"a":"b"}` || resp.PromptTokens != 10 || resp.CompletionTokens != 3 || resp.Latency <= 0 {
		t.Fatalf("Complete = %+v", resp)
	}
	if auth != "Bearer sk-test" {
		t.Fatalf("Authorization = %q", auth)
	}
	want := map[string]any{
		"model": "llama3.1:8b", "max_tokens": 300.0, "temperature": openai.DefaultTemperature,
		"messages": []any{
			map[string]any{"role": "system", "content": req.System},
			map[string]any{"role": "user", "content": req.User},
		},
		"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{
			"name": "decision", "strict": true, "schema": map[string]any{
				"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string"}},
				"required": []any{"a"}, "additionalProperties": false,
			},
		}},
	}
	for k, v := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(v) {
			t.Errorf("request %s = %s, want %s", k, g, mustJSON(v))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCompleteNoKeyNoSchema(t *testing.T) {
	t.Parallel()
	a := MustServer(t, openai.Config{}, func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			t.Errorf("Authorization = %q, want none without a key", h)
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if _, ok := body["response_format"]; ok {
			t.Errorf("response_format sent without a schema")
		}
		if body["model"] != openai.DefaultModel {
			t.Errorf("model = %v, want %s", body["model"], openai.DefaultModel)
		}
		ok(w, "hello")
	})
	if _, err := a.Complete(context.Background(), bot.LLMRequest{System: "s", User: "u"}); err != nil {
		t.Fatal(err)
	}
}

// TestCompleteReasoningModel: o-series and gpt-5 models reject max_tokens
// and temperature; the answerer sends max_completion_tokens instead of
// failing in go-openai's client-side validation.
func TestCompleteReasoningModel(t *testing.T) {
	t.Parallel()
	a := MustServer(t, openai.Config{Model: "o4-mini"}, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["max_completion_tokens"] != 300.0 || body["max_tokens"] != nil || body["temperature"] != nil {
			t.Errorf("request = %v, want max_completion_tokens 300 and no max_tokens or temperature", body)
		}
		ok(w, "{}")
	})
	if _, err := a.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func TestCompleteErrors(t *testing.T) {
	t.Parallel()
	jsonErr := func(status int, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, `{"error":{"message":"nope","type":"invalid_request_error","code":"rate_limit_exceeded"}}`)
		}
	}
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name          string
		h             http.HandlerFunc
		wantPermanent bool
		wantDelay     time.Duration // -1: none
	}{
		{"429 with Retry-After", jsonErr(429, "Retry-After", "7"), false, 7 * time.Second},
		{"429 with retry-after-ms", jsonErr(429, "Retry-After-Ms", "1500", "Retry-After", "2"), false, 1500 * time.Millisecond},
		{"429 without Retry-After", jsonErr(429), false, -1},
		{"503 with an HTTP-date Retry-After", jsonErr(503, "Retry-After", future), false, 90 * time.Second},
		{"429 with a garbage Retry-After", jsonErr(429, "Retry-After", "soon"), false, -1},
		{"500", jsonErr(500), false, -1},
		{"408", jsonErr(408), false, -1},
		{"502 HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>Bad Gateway</html>")
		}, false, -1},
		{"400", jsonErr(400), true, -1},
		{"401", jsonErr(401), true, -1},
		{"404 model not found", jsonErr(404), true, -1},
		{"422 HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(422)
			io.WriteString(w, "<html>no</html>")
		}, true, -1},
		{"no choices", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"id":"x","choices":[]}`)
		}, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := MustServer(t, openai.Config{}, tc.h)
			_, err := a.Complete(context.Background(), req)
			if err == nil {
				t.Fatal("Complete succeeded, want an error")
			}
			if got := bot.IsPermanent(err); got != tc.wantPermanent {
				t.Fatalf("IsPermanent(%v) = %v, want %v", err, got, tc.wantPermanent)
			}
			d, has := bot.RetryDelay(err)
			if tc.wantDelay < 0 && has {
				t.Fatalf("RetryDelay = %v, want none", d)
			}
			if tc.wantDelay >= 0 && (!has || d < tc.wantDelay-2*time.Second || d > tc.wantDelay) {
				t.Fatalf("RetryDelay = %v, %v; want %v", d, has, tc.wantDelay)
			}
			if strings.Contains(err.Error(), "sk-") {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func TestCompleteTimeout(t *testing.T) {
	t.Parallel()
	a := MustServer(t, openai.Config{Timeout: 100 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a disconnect only once the body is read
		<-r.Context().Done()
	})
	start := time.Now()
	_, err := a.Complete(context.Background(), req)
	if !errors.Is(err, context.DeadlineExceeded) || bot.IsPermanent(err) {
		t.Fatalf("Complete error = %v, want a retryable deadline error", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Complete took %v with a 100ms timeout", el)
	}
}

func TestCompleteTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a := openai.NewAnswerer(openai.Config{BaseURL: url + "/v1", Timeout: time.Second})
	_, err := a.Complete(context.Background(), req)
	if err == nil || bot.IsPermanent(err) {
		t.Fatalf("Complete error = %v, want a retryable transport error", err)
	}
}

func TestEmbed(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			t.Errorf("request %s %s, want POST /v1/embeddings", r.Method, r.URL.Path)
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || req.Model != "embed-model" || len(req.Input) != 2 {
			t.Errorf("body %s: %v", body, err)
		}
		if calls == 2 {
			w.Header().Set("Retry-After", "3")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"slow down","type":"rate_limit"}}`)
			return
		}
		// Out of order, with their indexes.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","model":"embed-model","data":[`+
			`{"object":"embedding","index":1,"embedding":[0,1]},{"object":"embedding","index":0,"embedding":[1,0]}]}`)
	}))
	t.Cleanup(srv.Close)
	e := openai.NewEmbedder(openai.Config{BaseURL: srv.URL + "/v1", Model: "embed-model", HTTPClient: srv.Client()})
	vs, err := e.Embed(context.Background(), []string{"first", "second"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0][0] != 1 || vs[1][1] != 1 {
		t.Fatalf("vectors %v, want them in the order of the texts", vs)
	}
	_, err = e.Embed(context.Background(), []string{"first", "second"})
	if d, ok := bot.RetryDelay(err); !ok || d != 3*time.Second {
		t.Fatalf("Embed error %v (delay %v, %v), want a 3s Retry-After", err, d, ok)
	}
}
