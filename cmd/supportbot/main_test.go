package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
)

const (
	testSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testOutSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// receiver is the customer's side: it verifies and records reply webhooks.
type receiver struct {
	*httptest.Server
	t        *testing.T
	verifier triggers.Trigger
	mu       sync.Mutex
	byID     map[string]replyEvent
	order    []replyEvent
	ch       chan replyEvent
	status   func() int // nil: 204
}

type replyEvent struct {
	ID           string
	Type         string `json:"type"`
	Conversation struct {
		ID string `json:"id"`
	} `json:"conversation"`
	Message struct {
		ID     string `json:"id"`
		Text   string `json:"text"`
		Author string `json:"author"`
		Agent  *struct {
			Name string `json:"name"`
		} `json:"agent"`
		Options []string `json:"options"`
	} `json:"message"`
	State string `json:"state"`
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	return newReceiverSecret(t, testOutSecret)
}

// newReceiverSecret is newReceiver verifying with secret.
func newReceiverSecret(t *testing.T, secret string) *receiver {
	t.Helper()
	v, err := standard.New(triggers.Config{Name: "replies", Kind: "standard", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, verifier: v, byID: map[string]replyEvent{}, ch: make(chan replyEvent, 10000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	v := rc.verifier
	rc.mu.Unlock()
	if err := v.Verify(r, body); err != nil {
		rc.t.Errorf("reply signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.status != nil {
		if s := rc.status(); s >= 300 {
			w.WriteHeader(s)
			return
		}
	}
	var ev replyEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("reply body %s: %v", body, err)
	}
	ev.ID = r.Header.Get("webhook-id")
	rc.mu.Lock()
	_, dup := rc.byID[ev.ID]
	rc.byID[ev.ID] = ev
	if !dup {
		rc.order = append(rc.order, ev)
	}
	rc.mu.Unlock()
	if !dup {
		rc.ch <- ev
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) next(t *testing.T) replyEvent {
	t.Helper()
	select {
	case ev := <-rc.ch:
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no reply within 15s")
	}
	return replyEvent{}
}

func testConfig(t *testing.T, replyURL string) Config {
	t.Helper()
	cfg, err := LoadConfig("", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(t.TempDir(), "data", "supportbot.db")
	cfg.FAQ.Path = filepath.Join("..", "..", "faq", "kb")
	cfg.Outbound.AllowPrivateNetworks = true
	cfg.Workers.BackoffBase = 10 * time.Millisecond
	cfg.Workers.BackoffMax = 50 * time.Millisecond
	zero := time.Duration(0)
	cfg.Triggers = []triggers.Config{{
		Name: "chat", Kind: "standard", Secret: testSecret, Burst: &zero,
		Reply: triggers.ReplyConfig{Kind: "webhook", URL: replyURL, Secret: testOutSecret},
	}}
	return cfg
}

func mustOpenMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	m := NewMain(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.FAQ.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func nativeEvent(conv, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":         "message.created",
		"conversation": map[string]string{"id": conv, "subject": "Help"},
		"customer":     map[string]string{"id": "u-7", "name": "Ada", "email": "ada@example.com"},
		"message":      map[string]string{"id": "m-" + conv, "text": text},
	})
	return b
}

// post signs body as a Standard Webhooks sender and posts it.
func post(t *testing.T, url, id string, body []byte, mutate func(*http.Request)) (int, map[string]any) {
	t.Helper()
	now := time.Now()
	sig, err := standard.Sign(testSecret, id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestEndToEndAnswerAndEscalate(t *testing.T) {
	rc := newReceiver(t)
	m := mustOpenMain(t, testConfig(t, rc.URL))
	url := m.Server.URL() + "/hooks/chat"

	status, body := post(t, url, "msg_1", nativeEvent("c-42", "How do I reset my password?"), nil)
	if status != http.StatusAccepted || body["duplicate"] != false || body["id"] == "" {
		t.Fatalf("post = %d %v, want 202 with an id", status, body)
	}
	ev := rc.next(t)
	if ev.Type != "reply.created" || ev.Conversation.ID != "c-42" || ev.Message.Author != "bot" || ev.State != "bot" {
		t.Fatalf("reply = %+v", ev)
	}
	if !strings.Contains(strings.ToLower(ev.Message.Text), "password") {
		t.Fatalf("answer %q does not look like the password entry", ev.Message.Text)
	}
	if ev.ID == "" || ev.ID != ev.Message.ID {
		t.Fatalf("webhook-id %q, message id %q: want the same stable id", ev.ID, ev.Message.ID)
	}

	// A redelivery is acknowledged as a duplicate and not answered again.
	status, body = post(t, url, "msg_1", nativeEvent("c-42", "How do I reset my password?"), nil)
	if status != http.StatusOK || body["duplicate"] != true {
		t.Fatalf("redelivery = %d %v, want 200 duplicate", status, body)
	}

	status, _ = post(t, url, "msg_2", nativeEvent("c-43", "I want to talk to a human please"), nil)
	if status != http.StatusAccepted {
		t.Fatalf("post = %d", status)
	}
	ev = rc.next(t)
	if ev.Conversation.ID != "c-43" || ev.State != "escalated" || ev.Message.Author != "bot" {
		t.Fatalf("hand-off reply = %+v", ev)
	}
	esc, err := m.Store.ListEscalations(context.Background(), "open", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(esc) != 1 || esc[0].Reason != "human_requested" || esc[0].Customer.Email != "ada@example.com" {
		t.Fatalf("escalations = %+v", esc)
	}
	// The customer writes again: mirrored to people, never answered by the bot.
	post(t, url, "msg_3", nativeEvent("c-43", "How do I reset my password?"), nil)
	select {
	case ev := <-rc.ch:
		t.Fatalf("bot answered an escalated conversation: %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}

	// The counters moved with what happened above.
	count := scrapeMetrics(t, m.Server.URL())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"supportbot_webhooks_total", map[string]string{"trigger": "chat", "status": "202"}, 3},
		{"supportbot_webhooks_total", map[string]string{"trigger": "chat", "status": "200"}, 1},
		{"supportbot_decisions_total", map[string]string{"action": "answer"}, 1},
		{"supportbot_decisions_total", map[string]string{"action": "escalate", "reason": "human_requested"}, 1},
	} {
		if got := count(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestIntakeStatuses(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Triggers[0].MaxBodyBytes = 4096
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()
	good := nativeEvent("c-1", "hello")
	tests := []struct {
		name   string
		url    string
		id     string
		body   []byte
		mutate func(*http.Request)
		want   int
	}{
		{"unknown trigger", base + "/hooks/nope", "a1", good, nil, http.StatusNotFound},
		{"method", base + "/hooks/chat", "a2", good, func(r *http.Request) { r.Method = http.MethodPut }, http.StatusMethodNotAllowed},
		{"bad signature", base + "/hooks/chat", "a3", good, func(r *http.Request) {
			r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		}, http.StatusUnauthorized},
		{"missing signature", base + "/hooks/chat", "a4", good, func(r *http.Request) { r.Header.Del("webhook-signature") }, http.StatusUnauthorized},
		{"stale timestamp", base + "/hooks/chat", "a5", good, func(r *http.Request) {
			old := time.Now().Add(-10 * time.Minute)
			sig, _ := standard.Sign(testSecret, "a5", old, good)
			r.Header.Set("webhook-timestamp", strconv.FormatInt(old.Unix(), 10))
			r.Header.Set("webhook-signature", sig)
		}, http.StatusUnauthorized},
		{"too large", base + "/hooks/chat", "a6", nativeEvent("c-1", strings.Repeat("x", 5000)), nil, http.StatusRequestEntityTooLarge},
		{"not json", base + "/hooks/chat", "a7", []byte("hello"), nil, http.StatusBadRequest},
		{"missing text", base + "/hooks/chat", "a8", []byte(`{"type":"message.created","conversation":{"id":"c"},"message":{}}`), nil, http.StatusBadRequest},
		{"content type", base + "/hooks/chat", "a9", good, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, http.StatusUnsupportedMediaType},
		{"accepted", base + "/hooks/chat", "a10", good, nil, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := post(t, tt.url, tt.id, tt.body, tt.mutate)
			if got != tt.want {
				t.Fatalf("status = %d (%v), want %d", got, body, tt.want)
			}
			if got >= 400 && (body["error"] == nil || body["error"] == "") {
				t.Fatalf("error body = %v, want an error message", body)
			}
		})
	}
	// Nothing on a 4xx path was stored: only the accepted event is in the queue.
	st, err := m.Store.QueueStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Discarded != 0 {
		t.Fatalf("queue = %+v, want no dead letters", st)
	}
	convs, err := m.Store.ListConversations(context.Background(), bot.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) > 1 {
		t.Fatalf("%d conversations stored, want at most the accepted one", len(convs))
	}
	audit := waitAudit(t, m, bot.AuditFilter{}, len(tests))
	if len(audit) != len(tests) {
		t.Fatalf("audit has %d entries, want %d (every request)", len(audit), len(tests))
	}
	for _, a := range audit {
		if strings.Contains(a.Error, testSecret) {
			t.Fatalf("audit entry leaks the secret: %+v", a)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, env, wantKey string
	}{
		{"unknown key", "server:\n  adr: \":1\"\n", "", "server"},
		{"bad duration", "workers:\n  lease: \"soon\"\n", "", "workers.lease"},
		{"bad url", "triggers:\n  - name: x\n    kind: standard\n    reply: {kind: webhook, url: \"ftp://x\"}\n", "", "reply.url"},
		{"bad mode", "llm:\n  mode: \"sometimes\"\n", "", "llm.mode"},
		{"bad min support", "llm:\n  min_support: 1.5\n", "", "llm.min_support"},
		{"bad allowed link", "llm:\n  allowed_links: [\"example.com\", \"\"]\n", "", "llm.allowed_links[1]"},
		{"env override checked", "", "SUPPORTBOT_WORKERS_COUNT=0", "workers.count"},
		{"vendor reply key", "triggers:\n  - name: x\n    kind: chatwoot\n    reply: {kind: chatwoot, base_url: \"https://c.example\", account_id: \"1\"}\n", "", "triggers[0] (x).reply.api_access_token"},
		{"unknown reply kind", "triggers:\n  - name: x\n    kind: standard\n    reply: {kind: fax}\n", "", "reply.kind: \"fax\" is not one of webhook, chatwoot, freshdesk, helpscout, intercom, "},
		{"short retention", "storage:\n  retention: \"1h\"\n", "", "storage.retention"},
		{"slack channel", "slack:\n  bot_token: xoxb-1\n  signing_secret: s\n", "", "slack.channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.env != "" {
				k, v, _ := strings.Cut(tt.env, "=")
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"serve", "--config", path}, nil, io.Discard, &stderr)
			if code != 2 {
				t.Fatalf("exit = %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantKey) {
				t.Fatalf("stderr %q does not name %q", stderr.String(), tt.wantKey)
			}
		})
	}
}

func TestEnvOverride(t *testing.T) {
	t.Setenv("SUPPORTBOT_SERVER_ADDR", "127.0.0.1:9999")
	t.Setenv("SUPPORTBOT_LLM_API_KEY", "sk-env")
	cfg, err := LoadConfig(filepath.Join("..", "..", "config.yaml"), true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9999" || cfg.LLM.APIKey != "sk-env" {
		t.Fatalf("env overrides not applied: addr %q, api key set %v", cfg.Server.Addr, cfg.LLM.APIKey != "")
	}
}

// TestTriggerEnv: a trigger's credentials come from the environment by the
// trigger's name, since viper cannot reach into the triggers list.
func TestTriggerEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "triggers:\n  - name: help-desk\n    kind: zendesk\n    secret: \"\"\n" +
		"    reply: {kind: zendesk, base_url: \"https://acme.zendesk.com\", email: \"bot@acme.test\"}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path, true); err == nil || !strings.Contains(err.Error(), "reply.api_token") {
		t.Fatalf("without the environment: %v, want the missing API token named", err)
	}
	t.Setenv("SUPPORTBOT_TRIGGERS_HELP_DESK_SECRET", "zd-signing-secret")
	t.Setenv("SUPPORTBOT_TRIGGERS_HELP_DESK_REPLY_API_TOKEN", "zd-api-token")
	cfg, err := LoadConfig(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if tc := cfg.Triggers[0]; tc.Secret != "zd-signing-secret" || tc.Reply.APIToken != "zd-api-token" {
		t.Fatalf("trigger = secret %q, api token %q", tc.Secret, tc.Reply.APIToken)
	}
}

func TestRepoConfigLoads(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "..", "config.yaml"), true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LLM.Mode != "off" || cfg.Slack.BotToken != "" || len(cfg.Triggers) == 0 {
		t.Fatalf("repo config = %+v", cfg)
	}
	for _, tr := range cfg.Triggers {
		if tr.Secret != "" || tr.Token != "" || len(tr.Secrets) > 0 {
			t.Fatalf("trigger %s ships a secret", tr.Name)
		}
	}
}

// scrapeMetrics reads /metrics with the Prometheus text parser and returns
// a lookup: the sum of a metric's counters or gauges whose labels include
// the given ones.
func scrapeMetrics(t *testing.T, base string) func(name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return func(name string, labels map[string]string) float64 {
		var sum float64
	metrics:
		for _, mt := range fams[name].GetMetric() {
			for _, l := range mt.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			sum += mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
		}
		return sum
	}
}

func signedRequest(url, id string, body []byte) (*http.Request, error) {
	return signedRequestWith(testSecret, url, id, body)
}

// signedRequestWith is signedRequest with another trigger's secret.
func signedRequestWith(secret, url, id string, body []byte) (*http.Request, error) {
	now := time.Now()
	sig, err := standard.Sign(secret, id, now, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syncWriter serialises writes to a buffer shared by goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// waitAudit waits until n audit entries match f (rejections are audited
// without holding up the response) and returns them.
func waitAudit(t *testing.T, m *Main, f bot.AuditFilter, n int) []bot.AuditEntry {
	t.Helper()
	f.Limit = 1000
	for deadline := time.Now().Add(5 * time.Second); ; {
		audit, err := m.Store.ListAudit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) >= n || time.Now().After(deadline) {
			return audit
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verifyWith makes the receiver verify replies with secret from now on.
func (rc *receiver) verifyWith(t *testing.T, secret string) {
	t.Helper()
	v, err := standard.New(triggers.Config{Name: "replies", Kind: "standard", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.verifier = v
	rc.mu.Unlock()
}

// postSigned posts body signed with secret under id and returns the status.
func postSigned(t *testing.T, url, secret, id string, body []byte) int {
	t.Helper()
	req, err := signedRequestWith(secret, url, id, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
