package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/ratelimit"
)

// TestRateLimit: over the trigger's limit the intake answers 429 with
// Retry-After before reading the body, stores nothing, and audits it.
func TestRateLimit(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Triggers[0].RateLimit = ratelimit.Config{Rate: 0.5, Burst: 2}
	m := mustOpenMain(t, cfg)
	url := m.Server.URL() + "/hooks/chat"
	var statuses []int
	for i := range 3 {
		req, err := signedRequest(url, fmt.Sprintf("msg_rl%d", i), nativeEvent(fmt.Sprintf("rl-%d", i), "hi"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if fmt.Sprint(statuses) != "[202 202 429]" {
		t.Fatalf("statuses = %v, want [202 202 429]", statuses)
	}
	audit := waitAudit(t, m, bot.AuditFilter{Rejected: true}, 1)
	if len(audit) != 1 || audit[0].Status != http.StatusTooManyRequests {
		t.Fatalf("audit = %+v", audit)
	}
}
