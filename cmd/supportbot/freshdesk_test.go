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

	"github.com/supportbot/supportbot/triggers/freshdesk"
)

// freshdeskCall is one request the fake Freshdesk API received.
type freshdeskCall struct {
	Method, Path string
	Body         map[string]any
}

func (c freshdeskCall) String() string { return fmt.Sprintf("%s %s %v", c.Method, c.Path, c.Body) }

// newFreshdeskFake is Freshdesk's API at the edge of the network: it
// refuses requests without the API key, answers a ticket read with the tag
// "vip", and records every call.
func newFreshdeskFake(t *testing.T) (*httptest.Server, chan freshdeskCall) {
	t.Helper()
	ch := make(chan freshdeskCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "fd-key" || pass != "X" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- freshdeskCall{Method: r.Method, Path: r.URL.Path, Body: b}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write([]byte(`{"id":1,"tags":["vip"]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func nextFreshdeskCall(t *testing.T, ch chan freshdeskCall) freshdeskCall {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no call to the Freshdesk API")
	}
	return freshdeskCall{}
}

// TestFreshdeskEndToEnd: a Freshdesk automation webhook with the shared
// token is answered with exactly one reply through Freshdesk's API; the
// webhook of that reply (the echo, from a rule performed by agents) is
// ignored; an escalation tags the ticket, keeping its tags, and posts the
// hand-off reply.
func TestFreshdeskEndToEnd(t *testing.T) {
	rc := newReceiver(t)
	api, calls := newFreshdeskFake(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	appendFile(t, cfgPath, `  - name: fd
    kind: freshdesk
    token: "fd-token"
    burst: "0s"
    reply: {kind: freshdesk, base_url: "`+api.URL+`", api_key: "fd-key"}
`)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "triggers", "freshdesk", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hook := m.Server.URL() + "/hooks/fd"
	send := func(body []byte, token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(freshdesk.DefaultTokenHeader, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	fixture := read("reply_sent.json")
	if s, out := send(fixture, "fd-token"); s != http.StatusAccepted {
		t.Fatalf("webhook = %d %v", s, out)
	}
	c := nextFreshdeskCall(t, calls)
	answer, _ := c.Body["body"].(string)
	if c.Method != http.MethodPost || c.Path != "/api/v2/tickets/11/reply" || !strings.Contains(strings.ToLower(answer), "sign-in page") {
		t.Fatalf("reply call = %s", c)
	}
	if s, out := send(fixture, "fd-token"); s != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("redelivery = %d %v, want 200 duplicate", s, out)
	}
	if s, _ := send(fixture, "wrong-token"); s != http.StatusUnauthorized {
		t.Fatalf("wrong token = %d, want 401", s)
	}

	// Our reply is a {reply_sent:sent} too; only a rule performed by agents
	// sends it, and that rule's body says so.
	var doc map[string]any
	if err := json.Unmarshal(fixture, &doc); err != nil {
		t.Fatal(err)
	}
	doc["performer"] = "agent"
	doc["ticket"].(map[string]any)["latest_public_comment"] = answer
	echo, _ := json.Marshal(doc)
	if s, out := send(echo, "fd-token"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("echo of our reply = %d %v, want 200 ignored", s, out)
	}

	human := bytes.ReplaceAll(fixture, []byte("tickets/11"), []byte("tickets/12"))
	human = bytes.Replace(human, []byte(`"id":"11"`), []byte(`"id":"12"`), 1)
	human = bytes.Replace(human, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	if s, out := send(human, "fd-token"); s != http.StatusAccepted {
		t.Fatalf("hand-off webhook = %d %v", s, out)
	}
	if c := nextFreshdeskCall(t, calls); c.Method != http.MethodGet || c.Path != "/api/v2/tickets/12" {
		t.Fatalf("ticket read = %s", c)
	}
	if c := nextFreshdeskCall(t, calls); c.Method != http.MethodPut || c.Path != "/api/v2/tickets/12" ||
		fmt.Sprint(c.Body["tags"]) != "[vip supportbot-escalated]" {
		t.Fatalf("tagging = %s", c)
	}
	c = nextFreshdeskCall(t, calls)
	if body, _ := c.Body["body"].(string); c.Method != http.MethodPost || c.Path != "/api/v2/tickets/12/reply" ||
		!strings.HasPrefix(body, "Thanks for your message.") {
		t.Fatalf("hand-off reply = %s", c)
	}
	select {
	case c := <-calls:
		t.Fatalf("unexpected call %s (echo answered, or a reply sent twice)", c)
	case <-time.After(500 * time.Millisecond):
	}
}
