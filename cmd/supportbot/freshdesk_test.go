package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/freshdesk"
)

// newFreshdeskFake is Freshdesk's API at the edge of the network: it
// refuses requests without the API key, answers a ticket read with the tag
// "vip", and records every call.
func newFreshdeskFake(t *testing.T) (*httptest.Server, chan apiCall) {
	t.Helper()
	ch := make(chan apiCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "fd-key" || pass != "X" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- apiCall{Method: r.Method, Path: r.URL.Path, Body: b}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write([]byte(`{"id":1,"tags":["vip"]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestFreshdeskEndToEnd: a Freshdesk automation webhook with the shared
// token is answered with exactly one reply through Freshdesk's API; the
// webhook of that reply (the echo, from a rule performed by agents) is
// ignored; an escalation tags the ticket, keeping its tags, and posts the
// hand-off reply.
func TestFreshdeskEndToEnd(t *testing.T) {
	api, calls := newFreshdeskFake(t)
	m := openWithTrigger(t, `  - name: fd
    kind: freshdesk
    token: "fd-token"
    burst: "0s"
    reply: {kind: freshdesk, base_url: "`+api.URL+`", api_key: "fd-key"}
`)
	read := func(name string) []byte { return fixture(t, "freshdesk", name) }
	hook := m.Server.URL() + "/hooks/fd"
	send := func(body []byte, token string) (int, map[string]any) {
		h := http.Header{}
		h.Set(freshdesk.DefaultTokenHeader, token)
		return postHook(t, hook, body, h)
	}

	fixture := read("reply_sent.json")
	if s, out := send(fixture, "fd-token"); s != http.StatusAccepted {
		t.Fatalf("webhook = %d %v", s, out)
	}
	c := nextAPICall(t, calls, "Freshdesk")
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
	if c := nextAPICall(t, calls, "Freshdesk"); c.Method != http.MethodGet || c.Path != "/api/v2/tickets/12" {
		t.Fatalf("ticket read = %s", c)
	}
	if c := nextAPICall(t, calls, "Freshdesk"); c.Method != http.MethodPut || c.Path != "/api/v2/tickets/12" ||
		fmt.Sprint(c.Body["tags"]) != "[vip supportbot-escalated]" {
		t.Fatalf("tagging = %s", c)
	}
	c = nextAPICall(t, calls, "Freshdesk")
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
