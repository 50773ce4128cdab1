package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// TestAdminTokenFailuresLimitedPerAddress: the admin bearer token could be
// guessed without bound. Ten failures from one address are answered 401,
// then 429 with Retry-After, even for the right token, while another
// address is unaffected.
func TestAdminTokenFailuresLimitedPerAddress(t *testing.T) {
	t.Parallel()
	h := server.RequireToken("right-token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do := func(addr, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/admin/api/conversations", nil)
		r.RemoteAddr = addr + ":40000"
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if got := do("192.0.2.1", "right-token").Code; got != http.StatusOK {
		t.Fatalf("right token = %d, want 200", got)
	}
	for i := range 10 {
		if got := do("192.0.2.1", "guess").Code; got != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, got)
		}
	}
	w := do("192.0.2.1", "guess")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("11th failure = %d (Retry-After %q), want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if got := do("192.0.2.1", "right-token").Code; got != http.StatusTooManyRequests {
		t.Fatalf("right token from a locked-out address = %d, want 429 (no oracle while guessing)", got)
	}
	if got := do("192.0.2.2", "right-token").Code; got != http.StatusOK {
		t.Fatalf("right token from another address = %d, want 200", got)
	}
}

// TestTokenGuardSharedAcrossRoutes: one guard on several routes counts the
// failures of all of them.
func TestTokenGuardSharedAcrossRoutes(t *testing.T) {
	t.Parallel()
	g := server.NewTokenGuard("right-token")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	a, b := g.Wrap(ok), g.Wrap(ok)
	do := func(h http.Handler) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "192.0.2.9:1"
		r.Header.Set("Authorization", "Bearer guess")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for range 5 {
		do(a)
		do(b)
	}
	if got := do(a); got != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures over two routes = %d, want 429", got)
	}
}

// TestAdminClaimMarksEscalation: {"state":"agent"} on the admin API moved
// an escalated conversation to agent without claiming its escalation (left
// open, no claimer, no time to claim), where Slack's and the dashboard's
// Claim mark it. It now claims it for the actor as they do.
func TestAdminClaimMarksEscalation(t *testing.T) {
	t.Parallel()
	store := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	if err := store.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx := context.Background()
	since := time.Now().Add(-time.Hour)
	key := mustEscalate(t, store, "c-1")
	h := (&server.Admin{Store: store, Token: "tok"}).Handler()
	do := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/admin/api/conversations/"+url.PathEscape(key), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do(`{"state":"agent","actor":"Grace"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"state":"agent"`) {
		t.Fatalf("claim: %d %s", rec.Code, rec.Body)
	}
	esc, err := store.LatestEscalation(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if esc.Status != "claimed" || esc.ClaimedBy != "Grace" {
		t.Fatalf("escalation %s by %q, want claimed by Grace", esc.Status, esc.ClaimedBy)
	}
	stats, err := store.OutcomeStats(ctx, since, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Claimed != 1 {
		t.Fatalf("claimed escalations in the outcome stats = %d, want 1 (the time to claim is measured)", stats.Claimed)
	}
	// Another agent's claim is refused, as in Slack and on the dashboard.
	if rec := do(`{"state":"agent","actor":"Bob"}`); rec.Code != http.StatusConflict {
		t.Fatalf("second claim: %d %s, want 409", rec.Code, rec.Body)
	}
}

// mustEscalate stores a customer message of conversation conv and the
// bot's decision to hand it to people; it returns the conversation's key.
func mustEscalate(t *testing.T, s *sqlite.Store, conv string) string {
	t.Helper()
	ctx := context.Background()
	ev := bot.Event{
		Trigger: "chat", ID: "e-" + conv, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv}, Customer: bot.Customer{ID: "u-" + conv},
		Message: bot.MessageRef{ID: "m-" + conv, Text: "I want a person"}, ReceivedAt: time.Now().UTC(),
	}
	if _, err := s.Ingest(ctx, ev, bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim the process job: %d jobs, %v", len(jobs), err)
	}
	p, err := bot.DecodePayload[bot.ProcessPayload](jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.RecordInbound(ctx, p.InboxID, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := in.Conversation
	ids := make([]int64, len(in.Pending))
	for i, m := range in.Pending {
		ids[i] = m.ID
	}
	err = s.ApplyDecision(ctx, bot.Outcome{
		JobID: jobs[0].ID, ConversationKey: c.Key, MessageIDs: ids,
		Decision: bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested, Source: "test"},
		Escalation: &bot.Escalation{ConversationKey: c.Key, Trigger: c.Trigger, ConversationID: c.ExternalID,
			Reason: bot.ReasonHumanRequested, Summary: "I want a person", CreatedAt: time.Now().UTC()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}
