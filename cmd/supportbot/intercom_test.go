package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/intercom"
)

// newIntercomFake is Intercom's REST API at the edge of the network: it
// refuses requests without the access token and API version, answers the
// tag lookup, and records every call.
func newIntercomFake(t *testing.T) (*httptest.Server, chan apiCall) {
	t.Helper()
	ch := make(chan apiCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ic-token" || r.Header.Get("Intercom-Version") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- apiCall{Method: r.Method, Path: r.URL.Path, Body: b}
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

// TestIntercomEndToEnd: a signed Intercom notification is answered with
// exactly one admin reply through Intercom's API; the notification of that
// reply (the echo) is ignored; an escalation tags the conversation.
func TestIntercomEndToEnd(t *testing.T) {
	api, calls := newIntercomFake(t)
	m := openWithTrigger(t, `  - name: ic
    kind: intercom
    secret: "ic-secret"
    burst: "0s"
    reply: {kind: intercom, base_url: "`+api.URL+`", access_token: "ic-token", admin_id: "25"}
`)
	read := func(name string) []byte { return fixture(t, "intercom", name) }
	hook := m.Server.URL() + "/hooks/ic"
	send := func(body []byte, secret string) (int, map[string]any) {
		return postHook(t, hook, body, http.Header{"X-Hub-Signature": {intercom.Signature(secret, body)}})
	}

	created := read("conversation_user_created.json")
	if s, out := send(created, "ic-secret"); s != http.StatusAccepted {
		t.Fatalf("signed notification = %d %v", s, out)
	}
	c := nextAPICall(t, calls, "Intercom")
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
	// The echo is posted as the configured admin (the fixture's is 814860).
	echo := bytes.ReplaceAll(read("conversation_admin_replied.json"), []byte(`"814860"`), []byte(`"25"`))
	if s, out := send(echo, "ic-secret"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("echo of our reply = %d %v, want 200 ignored", s, out)
	}

	human := bytes.ReplaceAll(created, []byte("1911149811"), []byte("1911149822"))
	human = bytes.Replace(human, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	human = bytes.Replace(human, []byte("notif_78c122d0"), []byte("notif_99999999"), 1)
	if s, out := send(human, "ic-secret"); s != http.StatusAccepted {
		t.Fatalf("hand-off notification = %d %v", s, out)
	}
	if c := nextAPICall(t, calls, "Intercom"); c.Method != http.MethodPost || c.Path != "/tags" || c.Body["name"] != "supportbot-escalated" {
		t.Fatalf("tag lookup = %s", c)
	}
	if c := nextAPICall(t, calls, "Intercom"); c.Path != "/conversations/1911149822/tags" || c.Body["id"] != "17513" || c.Body["admin_id"] != "25" {
		t.Fatalf("tagging = %s", c)
	}
	c = nextAPICall(t, calls, "Intercom")
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
