package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
	api := newChatwootFake(t)
	m := openWithTrigger(t, `  - name: cw
    kind: chatwoot
    secret: "cw-secret"
    burst: "0s"
    reply: {kind: chatwoot, base_url: "`+api.URL+`", account_id: "1", api_access_token: "cw-token"}
`)
	created := fixture(t, "chatwoot", "message_created.json")
	hook := m.Server.URL() + "/hooks/cw"
	send := func(delivery string, body []byte, secret string) int {
		ts, sig := chatwoot.Signature(secret, body, time.Now())
		h := http.Header{}
		h.Set("X-Chatwoot-Delivery", delivery)
		h.Set("X-Chatwoot-Timestamp", ts)
		h.Set("X-Chatwoot-Signature", sig)
		status, _ := postHook(t, hook, body, h)
		return status
	}
	if s := send("d-1", created, "cw-secret"); s != http.StatusAccepted {
		t.Fatalf("signed webhook = %d", s)
	}
	if call := api.next(t); !strings.HasPrefix(call, "POST /api/v1/accounts/1/conversations/10/messages content=on_the_sign-in_page") {
		t.Fatalf("reply call = %q", call)
	}
	if s := send("d-1", created, "cw-secret"); s != http.StatusOK {
		t.Fatalf("redelivery = %d, want 200 duplicate", s)
	}
	if s := send("d-2", created, "wrong-secret"); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed = %d, want 401", s)
	}
	echo := bytes.Replace(created, []byte(`"message_type":"incoming"`), []byte(`"message_type":"outgoing"`), 1)
	if s := send("d-3", echo, "cw-secret"); s != http.StatusOK {
		t.Fatalf("echo of our reply = %d, want 200 ignored", s)
	}
	human := bytes.Replace(created, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
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
