package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// replyPost posts an agent's reply through the admin API and returns the
// status, the Idempotent-Replayed header and the decoded answer.
func replyPost(t *testing.T, base, token, key, idem, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/api/conversations/"+key+"/replies", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), out
}

// quiet fails the test if ch receives anything within d.
func quiet[T any](t *testing.T, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s: %v", what, v)
	case <-time.After(d):
	}
}

// TestAgentReplyThroughAdminAPI: without Slack, an agent answers an
// escalated customer through the admin API. The customer's signed reply
// webhook gets it once, with author agent and the agent's name; the
// conversation is the agent's; a redelivered request with the same
// Idempotency-Key sends nothing twice; the state rules hold.
func TestAgentReplyThroughAdminAPI(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	base, tok := m.Server.URL(), cfg.Server.AdminToken
	hooks := base + "/hooks/chat"

	post(t, hooks, "msg_r1", nativeEvent("ar-1", "I want to talk to a human"), nil)
	if ev := rc.next(t); ev.State != "escalated" {
		t.Fatalf("hand-off = %+v", ev)
	}
	body := `{"text":"Hi Ada, I have reset it for you.","agent":"Grace Hopper"}`
	status, replayed, out := replyPost(t, base, tok, "chat/ar-1", "idem-1", body)
	if status != http.StatusCreated || replayed != "" || out["claimed"] != true {
		t.Fatalf("reply = %d %v", status, out)
	}
	reply, _ := out["reply"].(map[string]any)
	if reply["state"] != "agent" || reply["id"] == "" || reply["agent_name"] != "Grace Hopper" {
		t.Fatalf("reply = %v", reply)
	}
	ev := rc.next(t)
	if ev.Conversation.ID != "ar-1" || ev.Message.Author != "agent" || ev.Message.Agent == nil ||
		ev.Message.Agent.Name != "Grace Hopper" || ev.Message.Text != "Hi Ada, I have reset it for you." ||
		ev.State != "agent" || ev.ID != reply["id"] {
		t.Fatalf("customer got %+v (agent %+v)", ev, ev.Message.Agent)
	}

	// The client timed out and sends the same request again.
	status, replayed, again := replyPost(t, base, tok, "chat/ar-1", "idem-1", body)
	if status != http.StatusCreated || replayed != "true" || again["reply"].(map[string]any)["id"] != reply["id"] {
		t.Fatalf("redelivered = %d %q %v, want the first reply", status, replayed, again)
	}
	// The same key for another text is refused.
	if status, _, out := replyPost(t, base, tok, "chat/ar-1", "idem-1", `{"text":"Something else","agent":"Grace Hopper"}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key = %d %v, want 422", status, out)
	}
	quiet(t, rc.ch, 500*time.Millisecond, "a reply was sent twice")

	c, err := m.Store.Conversation(context.Background(), "chat/ar-1")
	if err != nil || c.State != "agent" {
		t.Fatalf("conversation = %+v, %v", c, err)
	}
	trs, _ := m.Store.Transitions(context.Background(), "chat/ar-1")
	if last := trs[len(trs)-1]; last.Actor != "Grace Hopper" || last.To != "agent" {
		t.Fatalf("last transition = %+v", last)
	}

	// A bot-owned conversation is refused until someone claims it; an
	// unknown one is 404; an empty text 400.
	post(t, hooks, "msg_r2", nativeEvent("ar-2", "How do I reset my password?"), nil)
	if ev := rc.next(t); ev.Message.Author != "bot" {
		t.Fatalf("answer = %+v", ev)
	}
	for _, tc := range []struct {
		key, body string
		want      int
	}{
		{"chat/ar-2", body, http.StatusConflict},
		{"chat/nope", body, http.StatusNotFound},
		{"chat/ar-1", `{"text":" ","agent":"Grace Hopper"}`, http.StatusBadRequest},
	} {
		if status, _, out := replyPost(t, base, tok, tc.key, "", tc.body); status != tc.want {
			t.Fatalf("%s %s = %d %v, want %d", tc.key, tc.body, status, out, tc.want)
		}
	}
	quiet(t, rc.ch, 300*time.Millisecond, "a refused reply was sent")
}

// TestAgentReplyThroughChatwoot: an agent's reply through the admin API
// reaches a Chatwoot customer through Chatwoot's API, once, signed with the
// agent's name.
func TestAgentReplyThroughChatwoot(t *testing.T) {
	api := newChatwootFake(t)
	rc := newReceiver(t)
	cfgPath := writeConfig(t, t.TempDir(), "127.0.0.1:0", rc.URL)
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
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	human := bytes.Replace(fixture(t, "chatwoot", "message_created.json"), []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	if s := sendChatwoot(t, m.Server.URL()+"/hooks/cw", "d-1", human); s != http.StatusAccepted {
		t.Fatalf("hand-off webhook = %d", s)
	}
	api.next(t) // the hand-off message
	api.next(t) // the conversation opened for the inbox's agents

	body := `{"text":"Grace here: I have reset it.","agent":"Grace"}`
	for i := range 2 {
		status, _, out := replyPost(t, m.Server.URL(), cfg.Server.AdminToken, "cw/10", "cw-idem", body)
		if status != http.StatusCreated {
			t.Fatalf("reply %d = %d %v", i, status, out)
		}
	}
	// Chatwoot shows the API account as the author: the reply is signed.
	if call := api.next(t); call != "POST /api/v1/accounts/1/conversations/10/messages content=grace_here:_i_have_reset_it.\n\n—_grace" {
		t.Fatalf("agent reply call = %q", call)
	}
	quiet(t, api.ch, 500*time.Millisecond, "unexpected Chatwoot call (a reply sent twice?)")
}

// TestReplyCommand: `supportbot reply` writes to the database the running
// service uses, and the service's workers deliver the reply.
func TestReplyCommand(t *testing.T) {
	rc := newReceiver(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	post(t, m.Server.URL()+"/hooks/chat", "msg_c1", nativeEvent("cli-1", "I want to talk to a human"), nil)
	rc.next(t)

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"--config", cfgPath}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("reply", "chat/cli-1", "Linus here, on it.", "--agent", "Linus", "--idempotency-key", "cli-k")
	if code != 0 || !strings.Contains(out, "state agent") || !strings.Contains(out, "claimed by Linus") {
		t.Fatalf("reply = %d %q %q", code, out, errs)
	}
	ev := rc.next(t)
	if ev.Message.Author != "agent" || ev.Message.Agent == nil || ev.Message.Agent.Name != "Linus" || ev.Message.Text != "Linus here, on it." {
		t.Fatalf("customer got %+v", ev)
	}
	if code, out, _ := run("reply", "chat/cli-1", "Linus here, on it.", "--agent", "Linus", "--idempotency-key", "cli-k"); code != 0 || !strings.Contains(out, "nothing new sent") {
		t.Fatalf("repeat = %d %q", code, out)
	}
	quiet(t, rc.ch, 1500*time.Millisecond, "the repeated command sent again")

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"reply", "chat/cli-1", "hi"}, 2, "agent"},
		{[]string{"reply", "chat/cli-1", "  ", "--agent", "Linus"}, 2, "text"},
		{[]string{"reply", "chat/none", "hi", "--agent", "Linus"}, 1, "no conversation"},
	} {
		if code, _, errs := run(tc.args...); code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v = %d %q, want %d mentioning %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}

// sendChatwoot posts a Chatwoot webhook signed with cw-secret.
func sendChatwoot(t *testing.T, url, delivery string, body []byte) int {
	t.Helper()
	ts, sig := chatwootSignature("cw-secret", body)
	h := http.Header{}
	h.Set("X-Chatwoot-Delivery", delivery)
	h.Set("X-Chatwoot-Timestamp", ts)
	h.Set("X-Chatwoot-Signature", sig)
	status, _ := postHook(t, url, body, h)
	return status
}

func chatwootSignature(secret string, body []byte) (string, string) {
	return chatwoot.Signature(secret, body, time.Now())
}

// TestAgentReplyMirroredToSlack: with Slack on, a reply written through the
// admin API reaches the customer and is mirrored into the hand-off thread,
// so that agents in Slack see the customer was answered.
func TestAgentReplyMirroredToSlack(t *testing.T) {
	rc := newReceiver(t)
	fake := newSlackFake(t)
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "admin-s3cret"
	cfg.Slack.BotToken = "xoxb-test"
	cfg.Slack.SigningSecret = slackSigningSecret
	cfg.Slack.Channel = "C1"
	cfg.Slack.APIURL = fake.GetAPIURL()
	m := mustOpenMain(t, cfg)
	post(t, m.Server.URL()+"/hooks/chat", "msg_s1", nativeEvent("ar-slack", "I want to talk to a human"), nil)
	rc.next(t)
	<-fake.post // the hand-off
	rootTS := waitThread(t, m, "chat/ar-slack")
	status, _, out := replyPost(t, m.Server.URL(), cfg.Server.AdminToken, "chat/ar-slack", "", `{"text":"Answered from the dashboard.","agent":"Grace"}`)
	if status != http.StatusCreated {
		t.Fatalf("reply = %d %v", status, out)
	}
	if ev := rc.next(t); ev.Message.Author != "agent" || ev.Message.Agent == nil || ev.Message.Agent.Name != "Grace" {
		t.Fatalf("customer got %+v", ev)
	}
	select {
	case p := <-fake.post:
		if p.Get("thread_ts") != rootTS || !strings.Contains(p.Get("text"), "Answered from the dashboard.") {
			t.Fatalf("slack post = %v, want the reply mirrored in the thread", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was not mirrored into the Slack thread")
	}
}
