package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestGenericTriggerFromConfig: a generic trigger written in config.yaml
// maps a Jira-like payload (signed GitHub-style), skips what its filter
// excludes, accepts form bodies, and answers 400 naming a missing field.
func TestGenericTriggerFromConfig(t *testing.T) {
	rc := newReceiver(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	appendFile(t, cfgPath, `  - name: jira
    kind: generic
    auth: hmac
    secret: "jira-secret"
    hmac: {header: X-Hub-Signature, prefix: "sha256="}
    map:
      - {field: conversation.id, path: "$.issue.key"}
      - {field: message.text, path: "$.comment.body"}
      - {field: customer.email, path: "$.comment.author.emailAddress"}
      - {field: conversation.subject, path: "$.issue.fields.summary", default: "(no subject)"}
      - {field: id, header: X-Atlassian-Webhook-Identifier}
    filters:
      - {path: "$.webhookEvent", regex: "^comment_created$"}
    reply: {kind: webhook, url: "`+rc.URL+`", secret: "`+testOutSecret+`"}
`)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	hook := m.Server.URL() + "/hooks/jira"
	send := func(id, ctype string, body []byte) (int, string) {
		mac := hmac.New(sha256.New, []byte("jira-secret"))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Atlassian-Webhook-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	jira := `{"webhookEvent":"comment_created","issue":{"key":"SUP-7","fields":{"summary":"Login"}},
		"comment":{"body":"How do I reset my password?","author":{"emailAddress":"ada@example.com"}}}`
	if s, b := send("j1", "application/json", []byte(jira)); s != http.StatusAccepted {
		t.Fatalf("jira event = %d %s", s, b)
	}
	if ev := rc.next(t); ev.Conversation.ID != "SUP-7" || !strings.Contains(strings.ToLower(ev.Message.Text), "password") {
		t.Fatalf("reply = %+v", ev)
	}
	skipped := strings.Replace(jira, "comment_created", "comment_deleted", 1)
	if s, b := send("j2", "application/json", []byte(skipped)); s != http.StatusOK || !strings.Contains(b, `"ignored":true`) {
		t.Fatalf("filtered event = %d %s", s, b)
	}
	form := url.Values{"payload": {strings.Replace(jira, "SUP-7", "SUP-8", 1)}}.Encode()
	if s, b := send("j3", "application/x-www-form-urlencoded", []byte(form)); s != http.StatusAccepted {
		t.Fatalf("form event = %d %s", s, b)
	}
	if ev := rc.next(t); ev.Conversation.ID != "SUP-8" {
		t.Fatalf("form reply = %+v", ev)
	}
	noText := `{"webhookEvent":"comment_created","issue":{"key":"SUP-9"},"comment":{}}`
	if s, b := send("j4", "application/json", []byte(noText)); s != http.StatusBadRequest || !strings.Contains(b, "message.text") {
		t.Fatalf("missing text = %d %s", s, b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, hook, strings.NewReader(jira))
	req.Header.Set("X-Hub-Signature", "sha256=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature = %d, want 401", resp.StatusCode)
	}
}
