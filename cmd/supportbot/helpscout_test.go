package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/helpscout"
)

// newHelpScoutFake is Help Scout's token endpoint and Mailbox API at the
// edge of the network: it issues a token for the app's credentials, refuses
// API calls without it, serves the conversation (its primary customer and
// a vip tag), and records every call.
func newHelpScoutFake(t *testing.T) (*httptest.Server, chan apiCall) {
	t.Helper()
	ch := make(chan apiCall, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/oauth2/token" {
			_ = r.ParseForm()
			if r.PostForm.Get("client_id") != "hs-app" || r.PostForm.Get("client_secret") != "hs-app-secret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			ch <- apiCall{Method: r.Method, Path: r.URL.Path}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"token_type":"bearer","access_token":"hs-token","expires_in":172800}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer hs-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		ch <- apiCall{Method: r.Method, Path: r.URL.Path, Body: b}
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/hal+json")
			_, _ = w.Write([]byte(`{"id":1,"primaryCustomer":{"id":472611012},"tags":[{"id":9150,"tag":"vip"}]}`))
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestHelpScoutEndToEnd: a signed Help Scout webhook is answered with
// exactly one reply thread through the Mailbox API (OAuth2 token fetched
// once, customer read from the conversation); the webhook of that reply
// (the echo) is ignored; an escalation adds the tag, keeping the others.
func TestHelpScoutEndToEnd(t *testing.T) {
	api, calls := newHelpScoutFake(t)
	m := openWithTrigger(t, `  - name: hs
    kind: helpscout
    secret: "hs-secret"
    burst: "0s"
    reply: {kind: helpscout, base_url: "`+api.URL+`", app_id: "hs-app", app_secret: "hs-app-secret"}
`)
	read := func(name string) []byte { return fixture(t, "helpscout", name) }
	hook := m.Server.URL() + "/hooks/hs"
	send := func(event string, body []byte, secret string) (int, map[string]any) {
		h := http.Header{}
		h.Set("X-HelpScout-Event", event)
		h.Set("X-HelpScout-Signature", helpscout.Signature(secret, body))
		return postHook(t, hook, body, h)
	}

	created := read("convo_created.json")
	if s, out := send("convo.created", created, "hs-secret"); s != http.StatusAccepted {
		t.Fatalf("signed webhook = %d %v", s, out)
	}
	if c := nextAPICall(t, calls, "Help Scout"); c.Method != http.MethodPost || c.Path != "/v2/oauth2/token" {
		t.Fatalf("first call = %s, want the token request", c)
	}
	if c := nextAPICall(t, calls, "Help Scout"); c.Method != http.MethodGet || c.Path != "/v2/conversations/2391938111" {
		t.Fatalf("conversation read = %s", c)
	}
	c := nextAPICall(t, calls, "Help Scout")
	text, _ := c.Body["text"].(string)
	customer, _ := c.Body["customer"].(map[string]any)
	if c.Method != http.MethodPost || c.Path != "/v2/conversations/2391938111/reply" ||
		customer["id"] != float64(472611012) || !strings.Contains(strings.ToLower(text), "sign-in page") {
		t.Fatalf("reply call = %s", c)
	}
	if s, out := send("convo.created", created, "hs-secret"); s != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("redelivery = %d %v, want 200 duplicate", s, out)
	}
	if s, _ := send("convo.created", created, "wrong-secret"); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed = %d, want 401", s)
	}
	if s, out := send("convo.agent.reply.created", read("convo_agent_reply_created.json"), "hs-secret"); s != http.StatusOK || out["ignored"] != true {
		t.Fatalf("echo of our reply = %d %v, want 200 ignored", s, out)
	}

	human := bytes.ReplaceAll(created, []byte("2391938111"), []byte("2391938122"))
	human = bytes.Replace(human, []byte("How do I reset my password?</div>"), []byte("I want to talk to a human</div>"), 1)
	if s, out := send("convo.created", human, "hs-secret"); s != http.StatusAccepted {
		t.Fatalf("hand-off webhook = %d %v", s, out)
	}
	// The token is cached: no second token request.
	if c := nextAPICall(t, calls, "Help Scout"); c.Method != http.MethodGet || c.Path != "/v2/conversations/2391938122" {
		t.Fatalf("conversation read = %s", c)
	}
	c = nextAPICall(t, calls, "Help Scout")
	if tags, _ := json.Marshal(c.Body["tags"]); c.Method != http.MethodPut || c.Path != "/v2/conversations/2391938122/tags" ||
		string(tags) != `["vip","supportbot-escalated"]` {
		t.Fatalf("tagging = %s", c)
	}
	c = nextAPICall(t, calls, "Help Scout")
	text, _ = c.Body["text"].(string)
	if c.Path != "/v2/conversations/2391938122/reply" || !strings.HasPrefix(text, "Thanks for your message.") {
		t.Fatalf("hand-off message = %s", c)
	}
	select {
	case c := <-calls:
		t.Fatalf("unexpected call %s (echo answered, or a reply sent twice)", c)
	case <-time.After(500 * time.Millisecond):
	}
}
