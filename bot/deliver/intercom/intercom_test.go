package intercom_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/deliver/intercom"
)

// fakeIntercom is Intercom's REST API: it checks the headers every request
// must carry, records the calls and answers with the status set for a path
// (200 by default).
type fakeIntercom struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	calls   []string
	bodies  []map[string]any
	status  map[string][]int // path → statuses to answer, in turn
	header  http.Header      // extra response headers on errors
	errBody string
}

func newFake(t *testing.T) *fakeIntercom {
	t.Helper()
	f := &fakeIntercom{t: t, status: map[string][]int{}, header: http.Header{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeIntercom) serve(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer ic-token" {
		f.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, got)
	}
	if got := r.Header.Get("Intercom-Version"); got != intercom.Version {
		f.t.Errorf("%s %s: Intercom-Version %q", r.Method, r.URL.Path, got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, got)
	}
	var b map[string]any
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, b)
	status := http.StatusOK
	if q := f.status[r.URL.Path]; len(q) > 0 {
		status, f.status[r.URL.Path] = q[0], q[1:]
	}
	for k, v := range f.header {
		w.Header()[k] = v
	}
	errBody := f.errBody
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch {
	case status >= 300:
		_, _ = w.Write([]byte(errBody))
	case r.URL.Path == "/tags":
		_, _ = w.Write([]byte(`{"type":"tag","id":"17513","name":` + strconv.Quote(b["name"].(string)) + `}`))
	default:
		_, _ = w.Write([]byte(`{"type":"conversation","id":"1"}`))
	}
}

func (f *fakeIntercom) set(path string, statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[path] = statuses
}

func (f *fakeIntercom) take() ([]string, []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, b := f.calls, f.bodies
	f.calls, f.bodies = nil, nil
	return c, b
}

func loopback() *http.Client {
	return deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
}

func mustNew(t *testing.T, cfg intercom.Config) *intercom.Deliverer {
	t.Helper()
	d, err := intercom.New(cfg, loopback())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     intercom.Config
		wantErr string
	}{
		{"default base URL", intercom.Config{AccessToken: "t", AdminID: "25"}, ""},
		{"no token", intercom.Config{AdminID: "25"}, "reply.access_token: required"},
		{"no admin", intercom.Config{AccessToken: "t"}, "reply.admin_id: required, the id of the Intercom admin the replies are posted as"},
		{"admin with a slash", intercom.Config{AccessToken: "t", AdminID: "2/5"}, "reply.admin_id: required, the id of the Intercom admin the replies are posted as"},
		{"bad base URL", intercom.Config{BaseURL: "ftp://api.intercom.io", AccessToken: "t", AdminID: "25"}, "reply.base_url: must be an http or https URL"},
		{"base URL with credentials", intercom.Config{BaseURL: "https://u:p@api.intercom.io", AccessToken: "t", AdminID: "25"}, "reply.base_url: must not carry user info (credentials)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := intercom.New(tt.cfg, nil)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("New()=%v", err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("New()=%v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, intercom.Config{BaseURL: f.URL + "/", AccessToken: "ic-token", AdminID: "25"})
	ctx := context.Background()

	if err := d.Deliver(ctx, bot.Reply{ID: "r1", ConversationID: "1911149811", Kind: bot.ReplyAnswer, Text: "Open Settings.\nThen <Reset>."}); err != nil {
		t.Fatal(err)
	}
	calls, bodies := f.take()
	if diff := cmp.Diff([]string{"POST /conversations/1911149811/reply"}, calls); diff != "" {
		t.Fatalf("answer calls (-want +got):\n%s", diff)
	}
	want := map[string]any{"message_type": "comment", "type": "admin", "admin_id": "25", "body": "Open Settings.<br>Then &lt;Reset&gt;."}
	if diff := cmp.Diff(want, bodies[0]); diff != "" {
		t.Fatalf("reply body (-want +got):\n%s", diff)
	}

	// A hand-off looks the tag up by name, tags, then posts the message.
	if err := d.Deliver(ctx, bot.Reply{ID: "r2", ConversationID: "1911149811", Kind: bot.ReplyHandoff, Text: "A person will reply."}); err != nil {
		t.Fatal(err)
	}
	calls, bodies = f.take()
	wantCalls := []string{"POST /tags", "POST /conversations/1911149811/tags", "POST /conversations/1911149811/reply"}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Fatalf("hand-off calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"name": deliver.DefaultEscalationTag}, bodies[0]); diff != "" {
		t.Fatalf("tag lookup body (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"id": "17513", "admin_id": "25"}, bodies[1]); diff != "" {
		t.Fatalf("tagging body (-want +got):\n%s", diff)
	}

	// The tag id is cached.
	if err := d.Deliver(ctx, bot.Reply{ID: "r3", ConversationID: "42", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	calls, _ = f.take()
	if diff := cmp.Diff([]string{"POST /conversations/42/tags", "POST /conversations/42/reply"}, calls); diff != "" {
		t.Fatalf("second hand-off calls (-want +got):\n%s", diff)
	}

	// A cached tag that was deleted in Intercom is looked up again, once.
	f.set("/conversations/43/tags", http.StatusNotFound)
	if err := d.Deliver(ctx, bot.Reply{ID: "r4", ConversationID: "43", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	calls, _ = f.take()
	wantCalls = []string{"POST /conversations/43/tags", "POST /tags", "POST /conversations/43/tags", "POST /conversations/43/reply"}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Fatalf("stale tag calls (-want +got):\n%s", diff)
	}

	// A failed tagging posts no message: the retry will not post it twice.
	f.set("/conversations/44/tags", http.StatusInternalServerError)
	if err := d.Deliver(ctx, bot.Reply{ID: "r5", ConversationID: "44", Kind: bot.ReplyHandoff, Text: "x"}); err == nil || bot.IsPermanent(err) {
		t.Fatalf("tagging 500 = %v, want a retryable error", err)
	}
	calls, _ = f.take()
	if diff := cmp.Diff([]string{"POST /conversations/44/tags"}, calls); diff != "" {
		t.Fatalf("failed tagging calls (-want +got):\n%s", diff)
	}

	if err := d.Deliver(ctx, bot.Reply{ID: "r6", Kind: bot.ReplyAnswer, Text: "x"}); !bot.IsPermanent(err) {
		t.Fatalf("empty conversation id = %v, want permanent", err)
	}
}

func TestEscalationTag(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, intercom.Config{BaseURL: f.URL, AccessToken: "ic-token", AdminID: "25", EscalationTag: "needs-human"})
	if err := d.Deliver(context.Background(), bot.Reply{ID: "r1", ConversationID: "7", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	_, bodies := f.take()
	if got := bodies[0]["name"]; got != "needs-human" {
		t.Fatalf("tag name = %v, want needs-human", got)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, intercom.Config{BaseURL: f.URL, AccessToken: "ic-token", AdminID: "25"})
	ctx := context.Background()
	reply := bot.Reply{ID: "r", ConversationID: "9", Kind: bot.ReplyAnswer, Text: "x"}
	const path = "/conversations/9/reply"

	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity} {
		f.set(path, code)
		err := d.Deliver(ctx, reply)
		var se *deliver.StatusError
		if !bot.IsPermanent(err) || !errors.As(err, &se) || se.StatusCode != code {
			t.Fatalf("%d: err = %v, want permanent with the status", code, err)
		}
	}

	// 429: the delay until X-RateLimit-Reset (a Unix time).
	reset := time.Now().Add(40 * time.Second).Unix()
	f.mu.Lock()
	f.header.Set(intercom.RateLimitReset, strconv.FormatInt(reset, 10))
	f.header.Set("X-RateLimit-Remaining", "0")
	f.mu.Unlock()
	// Intercom sends its rate-limit headers on every response: a 404 with
	// them is still permanent, not a wait for the reset.
	f.set(path, http.StatusNotFound)
	if err := d.Deliver(ctx, reply); !bot.IsPermanent(err) {
		t.Fatalf("404 with rate-limit headers = %v, want permanent", err)
	}
	f.set(path, http.StatusTooManyRequests)
	err := d.Deliver(ctx, reply)
	if delay, ok := bot.RetryDelay(err); !ok || delay < 38*time.Second || delay > 40*time.Second {
		t.Fatalf("429 = %v, want RetryAfter about 40s", err)
	}
	// 429 without a usable reset header: retried with the runner's backoff.
	f.mu.Lock()
	f.header = http.Header{}
	f.mu.Unlock()
	f.set(path, http.StatusTooManyRequests)
	err = d.Deliver(ctx, reply)
	if _, ok := bot.RetryDelay(err); ok || err == nil || bot.IsPermanent(err) {
		t.Fatalf("429 without reset = %v, want a plain retry", err)
	}

	for _, code := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		f.set(path, code)
		if err := d.Deliver(ctx, reply); err == nil || bot.IsPermanent(err) {
			t.Fatalf("%d: err = %v, want retryable", code, err)
		}
	}

	// The token never reaches an error message, even when echoed.
	f.mu.Lock()
	f.errBody = `{"type":"error.list","errors":[{"code":"unauthorized","message":"token ic-token is invalid"}]}`
	f.mu.Unlock()
	f.set(path, http.StatusUnauthorized)
	err = d.Deliver(ctx, reply)
	if err == nil || strings.Contains(err.Error(), "ic-token") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %q leaks or drops the redaction", err)
	}

	// A failed tag lookup fails the hand-off without posting.
	f.take()
	f.set("/tags", http.StatusForbidden)
	if err := d.Deliver(ctx, bot.Reply{ID: "h", ConversationID: "9", Kind: bot.ReplyHandoff, Text: "x"}); !bot.IsPermanent(err) {
		t.Fatalf("tag lookup 403 = %v, want permanent", err)
	}
	if calls, _ := f.take(); len(calls) != 1 || calls[0] != "POST /tags" {
		t.Fatalf("calls after a failed lookup = %v", calls)
	}
}

func TestBlockedAddress(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d, err := intercom.New(intercom.Config{BaseURL: f.URL, AccessToken: "ic-token", AdminID: "25"}, deliver.NewHTTPClient(deliver.ClientOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Deliver(context.Background(), bot.Reply{ID: "r", ConversationID: "9", Text: "x"})
	if !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("loopback without allow = %v, want permanent blocked address", err)
	}
	if calls, _ := f.take(); len(calls) != 0 {
		t.Fatalf("calls reached the server: %v", calls)
	}
}
