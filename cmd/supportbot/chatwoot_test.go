package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// chatwootFake is Chatwoot's API at the edge of the network: it checks the
// auth header and records the calls.
type chatwootFake struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
	ch    chan string
}

func newChatwootFake(t *testing.T) *chatwootFake {
	t.Helper()
	f := &chatwootFake{ch: make(chan string, 100)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("api_access_token") != "cw-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		call := r.Method + " " + r.URL.Path + " " + fmtBody(b)
		f.mu.Lock()
		f.calls = append(f.calls, call)
		f.mu.Unlock()
		f.ch <- call
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func fmtBody(b map[string]any) string {
	if s, ok := b["status"].(string); ok {
		return "status=" + s
	}
	return "content=" + strings.ReplaceAll(strings.ToLower(b["content"].(string)), " ", "_")
}

func (f *chatwootFake) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-f.ch:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no call to the Chatwoot API")
	}
	return ""
}

// TestChatwootEndToEnd: a signed Chatwoot webhook is answered with exactly
// one outgoing message through Chatwoot's API; the echo of that reply is
// ignored; an escalation opens the conversation for the inbox's agents.
func TestChatwootEndToEnd(t *testing.T) {
	rc := newReceiver(t)
	api := newChatwootFake(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	appendFile(t, cfgPath, `  - name: cw
    kind: chatwoot
    secret: "cw-secret"
    burst: "0s"
    reply: {kind: chatwoot, base_url: "`+api.URL+`", account_id: "1", api_access_token: "cw-token"}
`)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	fixture, err := os.ReadFile(filepath.Join("..", "..", "triggers", "chatwoot", "testdata", "message_created.json"))
	if err != nil {
		t.Fatal(err)
	}
	hook := m.Server.URL() + "/hooks/cw"
	send := func(delivery string, body []byte, secret string) int {
		ts, sig := chatwoot.Signature(secret, body, time.Now())
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Chatwoot-Delivery", delivery)
		req.Header.Set("X-Chatwoot-Timestamp", ts)
		req.Header.Set("X-Chatwoot-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := send("d-1", fixture, "cw-secret"); s != http.StatusAccepted {
		t.Fatalf("signed webhook = %d", s)
	}
	if call := api.next(t); !strings.HasPrefix(call, "POST /api/v1/accounts/1/conversations/10/messages content=on_the_sign-in_page") {
		t.Fatalf("reply call = %q", call)
	}
	if s := send("d-1", fixture, "cw-secret"); s != http.StatusOK {
		t.Fatalf("redelivery = %d, want 200 duplicate", s)
	}
	if s := send("d-2", fixture, "wrong-secret"); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed = %d, want 401", s)
	}
	echo := bytes.Replace(fixture, []byte(`"message_type":"incoming"`), []byte(`"message_type":"outgoing"`), 1)
	if s := send("d-3", echo, "cw-secret"); s != http.StatusOK {
		t.Fatalf("echo of our reply = %d, want 200 ignored", s)
	}
	human := bytes.Replace(fixture, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	human = bytes.Replace(human, []byte(`"id":10,`), []byte(`"id":11,`), 1)
	if s := send("d-4", human, "cw-secret"); s != http.StatusAccepted {
		t.Fatalf("hand-off webhook = %d", s)
	}
	if call := api.next(t); !strings.HasPrefix(call, "POST /api/v1/accounts/1/conversations/11/messages content=thanks") {
		t.Fatalf("hand-off message = %q", call)
	}
	if call := api.next(t); call != "POST /api/v1/accounts/1/conversations/11/toggle_status status=open" {
		t.Fatalf("hand-off = %q", call)
	}
	select {
	case c := <-api.ch:
		t.Fatalf("unexpected call %q (echo answered, or a reply sent twice)", c)
	case <-time.After(500 * time.Millisecond):
	}
}
