package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func adminDo(t *testing.T, method, u, token string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestAdminAPI: the token is required; conversations, transcripts, audit
// and dead letters are listed; a dead letter is replayed; an escalated
// conversation is resolved by an operator.
func TestAdminAPI(t *testing.T) {
	rc := newReceiver(t)
	var down atomic.Bool
	rc.status = func() int {
		if down.Load() {
			return http.StatusInternalServerError
		}
		return 0
	}
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "admin-s3cret"
	cfg.Workers.MaxAttempts = 1
	m := mustOpenMain(t, cfg)
	base := m.Server.URL() + "/admin/api"
	hooks := m.Server.URL() + "/hooks/chat"

	for _, tok := range []string{"", "wrong"} {
		if s, _ := adminDo(t, "GET", base+"/conversations", tok, ""); s != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d, want 401", tok, s)
		}
	}
	post(t, hooks, "msg_a1", nativeEvent("adm-1", "I want to talk to a human"), nil)
	rc.next(t)
	down.Store(true)
	post(t, hooks, "msg_a2", nativeEvent("adm-2", "How do I reset my password?"), nil)

	var dead []any
	waitFor(t, 10*time.Second, func() error {
		_, body := adminDo(t, "GET", base+"/dead-letters", cfg.Server.AdminToken, "")
		if dead, _ = body["dead_letters"].([]any); len(dead) == 0 {
			return errors.New("no dead letter listed")
		}
		return nil
	})
	id := int64(dead[0].(map[string]any)["id"].(float64))
	down.Store(false)
	if s, body := adminDo(t, "POST", base+"/dead-letters/"+itoa64(id)+"/replay", cfg.Server.AdminToken, ""); s != http.StatusOK {
		t.Fatalf("replay = %d %v", s, body)
	}
	if ev := rc.next(t); ev.Conversation.ID != "adm-2" {
		t.Fatalf("replayed reply = %+v", ev)
	}
	if s, _ := adminDo(t, "POST", base+"/dead-letters/"+itoa64(id)+"/replay", cfg.Server.AdminToken, ""); s != http.StatusNotFound {
		t.Fatalf("second replay = %d, want 404", s)
	}

	s, body := adminDo(t, "GET", base+"/conversations?state=escalated", cfg.Server.AdminToken, "")
	if convs, _ := body["conversations"].([]any); s != http.StatusOK || len(convs) != 1 {
		t.Fatalf("escalated conversations = %d %v", s, body)
	}
	s, body = adminDo(t, "GET", base+"/conversations/chat/adm-1", cfg.Server.AdminToken, "")
	if msgs, _ := body["messages"].([]any); s != http.StatusOK || len(msgs) < 2 {
		t.Fatalf("conversation = %d %v", s, body)
	}
	s, body = adminDo(t, "POST", base+"/conversations/chat/adm-1", cfg.Server.AdminToken, `{"state":"resolved","actor":"ops","reason":"handled by phone"}`)
	if s != http.StatusOK || body["conversation"].(map[string]any)["state"] != "resolved" {
		t.Fatalf("resolve = %d %v", s, body)
	}
	if s, _ := adminDo(t, "POST", base+"/conversations/chat/adm-1", cfg.Server.AdminToken, `{"state":"flying"}`); s != http.StatusBadRequest {
		t.Fatalf("bad state = %d, want 400", s)
	}
	if s, _ := adminDo(t, "GET", base+"/conversations/chat/nope", cfg.Server.AdminToken, ""); s != http.StatusNotFound {
		t.Fatalf("unknown conversation = %d, want 404", s)
	}
	s, body = adminDo(t, "GET", base+"/audit?rejected=false", cfg.Server.AdminToken, "")
	if audit, _ := body["audit"].([]any); s != http.StatusOK || len(audit) < 2 {
		t.Fatalf("audit = %d %v", s, body)
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(body)
	if strings.Contains(buf.String(), testSecret) {
		t.Fatal("audit exposes a secret")
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }
