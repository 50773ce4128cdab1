package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

const slackSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackFake is slacktest with handlers for the calls supportbot makes; it
// records posts so the test can find the escalation thread.
type slackFake struct {
	*slacktest.Server
	mu    sync.Mutex
	seq   int
	posts []url.Values
	post  chan url.Values
}

func newSlackFake(t *testing.T) *slackFake {
	t.Helper()
	f := &slackFake{post: make(chan url.Values, 100)}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			f.mu.Lock()
			f.seq++
			ts := fmt.Sprintf("1700000000.%06d", f.seq)
			f.posts = append(f.posts, r.Form)
			f.mu.Unlock()
			f.post <- r.Form
			reply(w, map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": ts})
		})
		c.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]any{"ok": true})
		})
		c.Handle("/chat.postEphemeral", func(w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]any{"ok": true, "message_ts": "1700000001.000001"})
		})
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]any{"ok": true, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"})
		})
		c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]any{"ok": true, "user": map[string]any{"id": "U1", "name": "grace",
				"profile": map[string]any{"display_name": "Grace", "real_name": "Grace Hopper"}}})
		})
	})
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

// postSlack posts body to path signed as Slack signs requests.
func postSlack(t *testing.T, url string, body []byte) int {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func slackMessageEvent(id, channel, threadTS, ts, user, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": id, "team_id": "T1",
		"event": map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "thread_ts": threadTS},
	})
	return b
}

// TestSlackHandOffEndToEnd: an escalation lands in Slack as a thread; the
// customer's follow-up is mirrored there and not answered by the bot; an
// agent's thread reply reaches the customer as one signed reply webhook with
// author agent; an internal note does not.
func TestSlackHandOffEndToEnd(t *testing.T) {
	rc := newReceiver(t)
	fake := newSlackFake(t)
	cfg := testConfig(t, rc.URL)
	cfg.Slack.BotToken = "xoxb-test"
	cfg.Slack.SigningSecret = slackSigningSecret
	cfg.Slack.Channel = "C1"
	cfg.Slack.APIURL = fake.GetAPIURL()
	m := mustOpenMain(t, cfg)
	hooks := m.Server.URL() + "/hooks/chat"

	post(t, hooks, "msg_1", nativeEvent("c-slack", "I want to talk to a human"), nil)
	if ev := rc.next(t); ev.State != "escalated" {
		t.Fatalf("hand-off reply = %+v", ev)
	}
	root := <-fake.post
	if root.Get("channel") != "C1" || root.Get("thread_ts") != "" {
		t.Fatalf("escalation post = %v", root)
	}
	rootTS := waitThread(t, m, "chat/c-slack")

	// The customer writes again: mirrored into the thread, no bot answer.
	post(t, hooks, "msg_2", nativeEvent("c-slack", "How do I reset my password?"), nil)
	mirror := <-fake.post
	if mirror.Get("thread_ts") != rootTS {
		t.Fatalf("mirror posted outside the thread: %v", mirror)
	}

	events := m.Server.URL() + "/slack/events"
	if s := postSlack(t, events, slackMessageEvent("Ev1", "C1", rootTS, "1700000100.000001", "U1", "// checking the account")); s != http.StatusOK {
		t.Fatalf("events = %d", s)
	}
	agentReply := slackMessageEvent("Ev2", "C1", rootTS, "1700000100.000002", "U1", "Hi Ada, I have reset it for you.")
	for range 2 { // a redelivery is relayed once
		if s := postSlack(t, events, agentReply); s != http.StatusOK {
			t.Fatalf("events = %d", s)
		}
	}
	ev := rc.next(t)
	if ev.Message.Author != "agent" || ev.Message.Text != "Hi Ada, I have reset it for you." || ev.State != "agent" {
		t.Fatalf("agent reply = %+v", ev)
	}
	select {
	case ev := <-rc.ch:
		t.Fatalf("unexpected second reply %+v (note relayed, or bot answered)", ev)
	case <-time.After(500 * time.Millisecond):
	}
	// The agent's reply claimed the escalation: time to claim is measured.
	count := scrapeMetrics(t, m.Server.URL())
	if got := count("supportbot_escalations_claimed", nil); got != 1 {
		t.Fatalf("claimed escalations = %v, want 1", got)
	}
	if got := count("supportbot_time_to_claim_seconds", map[string]string{"quantile": "1"}); got <= 0 || got > 60 {
		t.Fatalf("longest time to claim = %vs, want the few moments the test took", got)
	}
	// A request not signed by Slack is refused.
	req, _ := http.NewRequest(http.MethodPost, events, bytes.NewReader(agentReply))
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set("X-Slack-Signature", "v0=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned event = %d, want 401", resp.StatusCode)
	}
}
