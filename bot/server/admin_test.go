package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/supportbot/supportbot/bot/server"
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
