package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers/standard"
)

// TestHostileRequests: every hostile request gets a clean 4xx, and none
// leaves anything behind (no stored event, no job, no conversation).
func TestHostileRequests(t *testing.T) {
	rc := newReceiver(t)
	m := mustOpenMain(t, testConfig(t, rc.URL))
	url := m.Server.URL() + "/hooks/chat"
	nested := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	good := nativeEvent("h-1", "hello")
	replayTS := time.Now().Add(-6 * time.Minute)
	replaySig, _ := standard.Sign(testSecret, "msg_replay", replayTS, good)
	tests := []struct {
		name   string
		body   []byte
		mutate func(*http.Request)
		want   int
	}{
		{"huge body", bytes.Repeat([]byte("a"), 2<<20), nil, http.StatusRequestEntityTooLarge},
		{"huge body without length", bytes.Repeat([]byte("a"), 2<<20), func(r *http.Request) { r.ContentLength = -1 }, http.StatusRequestEntityTooLarge},
		{"deeply nested", []byte(nested), nil, http.StatusBadRequest},
		{"invalid utf-8", []byte("{\"type\":\"message.created\",\"conversation\":{\"id\":\"x\"},\"message\":{\"text\":\"\xff\xfe\"}}"), nil, http.StatusBadRequest},
		{"array body", []byte(`[1,2,3]`), nil, http.StatusBadRequest},
		{"wrong type", []byte(`{"type":"message.created","conversation":{"id":42},"message":{"text":"x"}}`), nil, http.StatusBadRequest},
		{"huge id", []byte(`{"type":"message.created","conversation":{"id":"` + strings.Repeat("x", 1000) + `"},"message":{"text":"x"}}`), nil, http.StatusBadRequest},
		{"trailing garbage", append(append([]byte{}, good...), []byte(`{"more":1}`)...), nil, http.StatusBadRequest},
		{"form content type", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, http.StatusUnsupportedMediaType},
		{"garbage content type", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/json; =oops") }, http.StatusUnsupportedMediaType},
		{"duplicate signature headers, both bad", good, func(r *http.Request) {
			r.Header["Webhook-Signature"] = []string{"v1,AAAA", "v1,BBBB"}
		}, http.StatusUnauthorized},
		{"replayed signature", good, func(r *http.Request) {
			r.Header.Set("webhook-id", "msg_replay")
			r.Header.Set("webhook-timestamp", strconv.FormatInt(replayTS.Unix(), 10))
			r.Header.Set("webhook-signature", replaySig)
		}, http.StatusUnauthorized},
		{"signature for another id", good, func(r *http.Request) { r.Header.Set("webhook-id", "msg_other") }, http.StatusUnauthorized},
		{"timestamp not a number", good, func(r *http.Request) { r.Header.Set("webhook-timestamp", "1e9") }, http.StatusUnauthorized},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, url, fmt.Sprintf("msg_h%d", i), tt.body, tt.mutate)
			if status != tt.want {
				t.Fatalf("status = %d (%v), want %d", status, body, tt.want)
			}
			if msg, _ := body["error"].(string); msg == "" || len(msg) > 1000 {
				t.Fatalf("error body = %v, want a short error message", body)
			}
		})
	}
	// A signed event of a type we do not handle is acknowledged, not
	// processed (the queue and conversation checks below cover it too).
	if status, body := post(t, url, "msg_unknown_type", []byte(`{"type":"rm -rf","conversation":{"id":"x"},"message":{"text":"x"}}`), nil); status != http.StatusOK || body["ignored"] != true {
		t.Fatalf("unknown event type: %d %v, want 200 ignored", status, body)
	}
	ctx := context.Background()
	if st, err := m.Store.QueueStats(ctx); err != nil || st.Queued+st.Running != 0 {
		t.Fatalf("queue after hostile requests = %+v, %v; want empty", st, err)
	}
	if convs, err := m.Store.ListConversations(ctx, bot.ConversationFilter{}); err != nil || len(convs) != 0 {
		t.Fatalf("conversations = %d, %v; want none", len(convs), err)
	}
	audit := waitAudit(t, m, bot.AuditFilter{Rejected: true}, len(tests))
	if len(audit) != len(tests) {
		t.Fatalf("audited %d rejections, want %d", len(audit), len(tests))
	}
	b, _ := json.Marshal(audit)
	if bytes.Contains(b, []byte(strings.Repeat("a", 100))) {
		t.Fatal("audit log holds payload bytes")
	}
}
