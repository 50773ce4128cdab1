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

	"github.com/supportbot/supportbot/triggers/zendesk"
)

// zendeskComment returns the body and public flag of a ticket update's comment.
func zendeskComment(c apiCall) (string, bool) {
	ticket, _ := c.Body["ticket"].(map[string]any)
	com, _ := ticket["comment"].(map[string]any)
	body, _ := com["body"].(string)
	public, _ := com["public"].(bool)
	return body, public
}

// newZendeskFake is Zendesk's API at the edge of the network: it refuses
// requests without the API user's token credentials and records every call.
func newZendeskFake(t *testing.T) (*httptest.Server, chan apiCall) {
	t.Helper()
	ch := make(chan apiCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "bot@example.com/token" || pass != "zd-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- apiCall{Method: r.Method, Path: r.URL.Path, Body: b}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ticket":{"id":1}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestZendeskEndToEnd: a signed Zendesk trigger webhook is answered with
// exactly one public comment through Zendesk's API; the webhooks of that
// comment (the echo, in both connection modes) are ignored; an escalation
// tags the ticket and posts the hand-off comment.
func TestZendeskEndToEnd(t *testing.T) {
	api, calls := newZendeskFake(t)
	m := openWithTrigger(t, `  - name: zd
    kind: zendesk
    secret: "zd-secret"
    burst: "0s"
    reply: {kind: zendesk, base_url: "`+api.URL+`", email: "bot@example.com", api_token: "zd-token"}
`)
	read := func(name string) []byte { return fixture(t, "zendesk", name) }
	hook := m.Server.URL() + "/hooks/zd"
	send := func(invocation string, body []byte, secret string) (int, map[string]any) {
		ts, sig := zendesk.Signature(secret, body, time.Now())
		h := http.Header{}
		h.Set(zendesk.InvocationHeader, invocation)
		h.Set(zendesk.TimestampHeader, ts)
		h.Set(zendesk.SignatureHeader, sig)
		return postHook(t, hook, body, h)
	}

	fixture := read("trigger_comment.json")
	if s, out := send("inv-1", fixture, "zd-secret"); s != http.StatusAccepted {
		t.Fatalf("signed webhook = %d %v", s, out)
	}
	c := nextAPICall(t, calls, "Zendesk")
	answer, public := zendeskComment(c)
	if c.Method != http.MethodPut || c.Path != "/api/v2/tickets/35436.json" || !public ||
		!strings.Contains(strings.ToLower(answer), "sign-in page") {
		t.Fatalf("reply call = %s", c)
	}
	if s, out := send("inv-1", fixture, "zd-secret"); s != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("redelivery = %d %v, want 200 duplicate", s, out)
	}
	if s, _ := send("inv-2", fixture, "wrong-secret"); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed = %d, want 401", s)
	}

	// Zendesk fires the trigger for our own comment: the current user is the
	// API user, an agent. Event subscriptions send it as a staff comment.
	echo := bytes.Replace(fixture, []byte(`"author":{"id":"1234567","email":"ada@example.com","role":"End-user"}`),
		[]byte(`"author":{"id":"900","email":"bot@example.com","role":"Agent"}`), 1)
	quoted, _ := json.Marshal(answer)
	echo = bytes.Replace(echo, []byte(`"How do I reset my password?"`), quoted, 1)
	if bytes.Equal(echo, fixture) {
		t.Fatal("echo fixture unchanged")
	}
	if s, out := send("inv-3", echo, "zd-secret"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("echo of our reply = %d %v, want 200 ignored", s, out)
	}
	staff := bytes.Replace(read("event_comment_added.json"), []byte(`"is_staff":false`), []byte(`"is_staff":true`), 1)
	if s, out := send("inv-4", staff, "zd-secret"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("event echo of our reply = %d %v, want 200 ignored", s, out)
	}

	human := bytes.ReplaceAll(fixture, []byte("35436"), []byte("35437"))
	human = bytes.Replace(human, []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	if s, out := send("inv-5", human, "zd-secret"); s != http.StatusAccepted {
		t.Fatalf("hand-off webhook = %d %v", s, out)
	}
	if c := nextAPICall(t, calls, "Zendesk"); c.Method != http.MethodPut || c.Path != "/api/v2/tickets/35437/tags" ||
		fmt.Sprint(c.Body["tags"]) != "[supportbot-escalated]" {
		t.Fatalf("tagging = %s", c)
	}
	c = nextAPICall(t, calls, "Zendesk")
	if body, public := zendeskComment(c); c.Method != http.MethodPut || c.Path != "/api/v2/tickets/35437.json" || !public ||
		!strings.HasPrefix(body, "Thanks for your message.") {
		t.Fatalf("hand-off comment = %s", c)
	}
	select {
	case c := <-calls:
		t.Fatalf("unexpected call %s (echo answered, or a reply sent twice)", c)
	case <-time.After(500 * time.Millisecond):
	}
}
