package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// The admin API's list filters: "all" means no filter, an unknown value is
// a 400 naming the parameter; escalations speak snake_case throughout.
func TestAdminAPIFilters(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	base, tok := m.Server.URL()+"/admin/api", cfg.Server.AdminToken
	post(t, m.Server.URL()+"/hooks/chat", "msg_f1", nativeEvent("flt-1", "I want to talk to a human"), nil)
	rc.next(t)

	for _, u := range []string{"/escalations", "/escalations?status=all", "/escalations?status=open"} {
		s, body := adminDo(t, "GET", base+u, tok, "")
		list, _ := body["escalations"].([]any)
		if s != http.StatusOK || len(list) != 1 {
			t.Fatalf("GET %s = %d, %d escalations; want 200 and 1", u, s, len(list))
		}
		b, _ := json.Marshal(list[0])
		if strings.Contains(string(b), `"Author"`) || strings.Contains(string(b), `"Text"`) {
			t.Fatalf("GET %s: escalation mixes Go field names into snake_case: %s", u, b)
		}
	}
	for _, u := range []string{"/conversations", "/conversations?state=all"} {
		s, body := adminDo(t, "GET", base+u, tok, "")
		if list, _ := body["conversations"].([]any); s != http.StatusOK || len(list) != 1 {
			t.Fatalf("GET %s = %d %v; want the one conversation", u, s, body)
		}
	}
	for u, param := range map[string]string{"/escalations?status=opne": "status", "/conversations?state=opne": "state"} {
		s, body := adminDo(t, "GET", base+u, tok, "")
		if msg, _ := body["error"].(string); s != http.StatusBadRequest || !strings.Contains(msg, param) {
			t.Fatalf("GET %s = %d %v; want 400 naming %s", u, s, body, param)
		}
	}
}

// The audit's duration_us is microseconds.
func TestAuditDurationMicroseconds(t *testing.T) {
	b, err := json.Marshal(bot.AuditEntry{ID: 1, Status: 202, Duration: 1500 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["duration_us"] != float64(1500) || got["status"] != float64(202) {
		t.Fatalf("audit entry JSON = %s, want duration_us 1500 and the other fields", b)
	}
}
