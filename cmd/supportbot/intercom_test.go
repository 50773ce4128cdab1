package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/intercom"
)

// intercomCall is one request the fake Intercom API received.
type intercomCall struct {
	Method, Path string
	Body         map[string]any
}

func (c intercomCall) String() string { return fmt.Sprintf("%s %s %v", c.Method, c.Path, c.Body) }

// newIntercomFake is Intercom's REST API at the edge of the network: it
// refuses requests without the access token and API version, answers the
// tag lookup, and records every call.
func newIntercomFake(t *testing.T) (*httptest.Server, chan intercomCall) {
	t.Helper()
	ch := make(chan intercomCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ic-token" || r.Header.Get("Intercom-Version") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- intercomCall{Method: r.Method, Path: r.URL.Path, Body: b}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/tags" {
			_, _ = w.Write([]byte(`{"type":"tag","id":"17513","name":"supportbot-escalated"}`))
			return
		}
		_, _ = w.Write([]byte(`{"type":"conversation","id":"1"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func nextIntercomCall(t *testing.T, ch chan intercomCall) intercomCall {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no call to the Intercom API")
	}
	return intercomCall{}
}

// TestIntercomEndToEnd: a signed Intercom notification is answered with
// exactly one admin reply through Intercom's API; the notification of that
// reply (the echo) is ignored; an escalation tags the conversation.
func TestIntercomEndToEnd(t *testing.T) {
	rc := newReceiver(t)
	api, calls := newIntercomFake(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	appendFile(t, cfgPath, `  - name: ic
    kind: intercom
    secret: "ic-secret"
    burst: "0s"
    reply: {kind: intercom, base_url: "`+api.URL+`", access_token: "ic-token", admin_id: "25"}
`)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "triggers", "intercom", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hook := m.Server.URL() + "/hooks/ic"
	send := func(body []byte, secret string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature", intercom.Signature(secret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	created := read("conversation_user_created.json")
	if s, out := send(created, "ic-secret"); s != http.StatusAccepted {
		t.Fatalf("signed notification = %d %v", s, out)
	}
	c := nextIntercomCall(t, calls)
	body, _ := c.Body["body"].(string)
	if c.Method != http.MethodPost || c.Path != "/conversations/1911149811/reply" ||
		c.Body["type"] != "admin" || c.Body["admin_id"] != "25" || c.Body["message_type"] != "comment" ||
		!strings.Contains(strings.ToLower(body), "sign-in page") {
		t.Fatalf("reply call = %s", c)
	}
	if s, out := send(created, "ic-secret"); s != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("redelivery = %d %v, want 200 duplicate", s, out)
	}
	if s, _ := send(created, "wrong-secret"); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed = %d, want 401", s)
	}
	if s, out := send(read("conversation_admin_replied.json"), "ic-secret"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("echo of our reply = %d %v, want 200 ignored", s, out)
	}

	human := bytes.ReplaceAll(created, []byte("1911149811"), []byte("1911149822"))
	human = bytes.Replace(human, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	human = bytes.Replace(human, []byte("notif_78c122d0"), []byte("notif_99999999"), 1)
	if s, out := send(human, "ic-secret"); s != http.StatusAccepted {
		t.Fatalf("hand-off notification = %d %v", s, out)
	}
	if c := nextIntercomCall(t, calls); c.Method != http.MethodPost || c.Path != "/tags" || c.Body["name"] != "supportbot-escalated" {
		t.Fatalf("tag lookup = %s", c)
	}
	if c := nextIntercomCall(t, calls); c.Path != "/conversations/1911149822/tags" || c.Body["id"] != "17513" || c.Body["admin_id"] != "25" {
		t.Fatalf("tagging = %s", c)
	}
	c = nextIntercomCall(t, calls)
	body, _ = c.Body["body"].(string)
	if c.Path != "/conversations/1911149822/reply" || !strings.HasPrefix(body, "Thanks for your message.") {
		t.Fatalf("hand-off message = %s", c)
	}
	select {
	case c := <-calls:
		t.Fatalf("unexpected call %s (echo answered, or a reply sent twice)", c)
	case <-time.After(500 * time.Millisecond):
	}
}
