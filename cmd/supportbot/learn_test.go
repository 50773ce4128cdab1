package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/faq"
)

// postSlackForm posts a form-encoded interaction payload signed as Slack
// signs requests.
func postSlackForm(t *testing.T, u string, payload []byte) int {
	t.Helper()
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSendFAQAnswerAutoApproved: with faq.auto_approve_examples, an agent
// choosing "Send FAQ answer" in Slack sends the entry's answer to the
// customer, and the customer's question is written into the entry's
// examples and served by the rebuilt matcher.
func TestSendFAQAnswerAutoApproved(t *testing.T) {
	rc := newReceiver(t)
	fake := newSlackFake(t)
	cfg := testConfig(t, rc.URL)
	kb := filepath.Join(t.TempDir(), "kb")
	if err := os.MkdirAll(kb, 0o750); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "faq", "kb", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kb, "default.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.FAQ.Path = kb
	cfg.FAQ.AutoApproveExamples = true
	cfg.Slack.BotToken = "xoxb-test"
	cfg.Slack.SigningSecret = slackSigningSecret
	cfg.Slack.Channel = "C1"
	cfg.Slack.APIURL = fake.GetAPIURL()
	m := mustOpenMain(t, cfg)
	if err := m.FAQ.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}

	const question = "I want a human: the code from my authenticator app is always rejected"
	post(t, m.Server.URL()+"/hooks/chat", "msg_1", nativeEvent("c-learn", question), nil)
	if ev := rc.next(t); ev.State != "escalated" {
		t.Fatalf("hand-off reply = %+v", ev)
	}
	root := <-fake.post
	if !strings.Contains(root.Get("blocks"), `"action_id":"send_faq"`) {
		t.Fatalf("hand-off has no Send FAQ answer menu: %s", root.Get("blocks"))
	}
	rootTS := waitThread(t, m, "chat/c-learn")
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig-learn-1", "api_app_id": "A1",
		"user":      map[string]any{"id": "U1", "name": "grace"},
		"channel":   map[string]any{"id": "C1"},
		"container": map[string]any{"type": "message", "message_ts": rootTS, "channel_id": "C1"},
		"message":   map[string]any{"type": "message", "ts": rootTS},
		"actions": []map[string]any{{"action_id": "send_faq", "block_id": "handoff_actions", "type": "static_select",
			"selected_option": map[string]any{"value": "two-factor-lost-device", "text": map[string]any{"type": "plain_text", "text": "x"}}}},
	})
	if s := postSlackForm(t, m.Server.URL()+"/slack/interactions", payload); s != http.StatusOK {
		t.Fatalf("interaction = %d", s)
	}
	entry, _ := mustKB(t, kb).Entry("two-factor-lost-device")
	ev := rc.next(t)
	if ev.Message.Author != "agent" || ev.Message.Text != strings.TrimSpace(entry.Answer) || ev.State != "agent" {
		t.Fatalf("agent reply = %+v, want the entry's answer", ev)
	}
	waitFor(t, 10*time.Second, func() error {
		e, _ := mustKB(t, kb).Entry("two-factor-lost-device")
		if !slices.Contains(e.Examples, question) {
			return fmt.Errorf("the question never reached the entry's examples: %q", e.Examples)
		}
		// The suggestion is marked approved once the file holds the example.
		list, err := m.Store.ListSuggestions(t.Context(), bot.SuggestionApproved, 10)
		if err != nil || len(list) != 1 || list[0].Kind != bot.SuggestionExample || list[0].DecidedBy != "auto-approve" {
			return fmt.Errorf("approved suggestions = %+v, %v", list, err)
		}
		return nil
	})
	// The matcher is rebuilt with the example.
	waitFor(t, 10*time.Second, func() error {
		if cur := m.FAQ.live.Current(); cur != nil {
			if e, _ := cur.KB().Entry("two-factor-lost-device"); slices.Contains(e.Examples, question) {
				return nil
			}
		}
		return errors.New("the live matcher was not rebuilt with the example")
	})
}

func mustKB(t *testing.T, path string) *faq.KB {
	t.Helper()
	kb, err := faq.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return kb
}
