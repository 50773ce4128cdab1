package helpscout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/deliver/helpscout"
)

const (
	appID     = "hs-app"
	appSecret = "hs-app-secret"
)

// fakeHelpScout is Help Scout's token endpoint and Mailbox API: it issues
// numbered tokens for the right client credentials, refuses API calls
// without a live one, records the calls and answers with the status set
// for a path (default 2xx).
type fakeHelpScout struct {
	*httptest.Server
	t         *testing.T
	mu        sync.Mutex
	tokens    int             // tokens issued
	live      map[string]bool // tokens the API accepts
	expiresIn int
	calls     []string
	bodies    []map[string]any
	status    map[string][]int // path → statuses to answer, in turn
	header    http.Header      // response headers on errors
	tags      string           // JSON tags of every conversation
	customer  string           // JSON primaryCustomer of every conversation
}

func newFake(t *testing.T) *fakeHelpScout {
	t.Helper()
	f := &fakeHelpScout{
		t: t, live: map[string]bool{}, expiresIn: 172800, status: map[string][]int{}, header: http.Header{},
		tags: `[{"id":9150,"color":"#929499","tag":"vip"}]`, customer: `{"id":472611012,"email":"ada@example.com"}`,
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeHelpScout) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == helpscout.TokenPath {
		f.calls = append(f.calls, "TOKEN")
		if s := f.next(r.URL.Path); s != 0 {
			f.fail(w, s, `{"error":"invalid_client","error_description":"bad client `+appSecret+`"}`)
			return
		}
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("client_id") != appID || r.PostForm.Get("client_secret") != appSecret {
			f.t.Errorf("token request %s %v", r.Method, r.PostForm)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.tokens++
		tok := fmt.Sprintf("tok-%d", f.tokens)
		f.live[tok] = true
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_type":"bearer","access_token":%q,"expires_in":%d}`, tok, f.expiresIn)
		return
	}
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !f.live[tok] {
		f.fail(w, http.StatusUnauthorized, `{"error":"invalid_token"}`)
		return
	}
	var b map[string]any
	if r.Method != http.MethodGet {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	f.bodies = append(f.bodies, b)
	if s := f.next(r.URL.Path); s != 0 {
		f.fail(w, s, `{"message":"nope"}`)
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/hal+json")
		fmt.Fprintf(w, `{"id":1,"number":2,"primaryCustomer":%s,"tags":%s}`, f.customer, f.tags)
	case http.MethodPost:
		w.Header().Set("Resource-ID", "10")
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// next pops the status set for path; 0 means answer normally.
func (f *fakeHelpScout) next(path string) int {
	q := f.status[path]
	if len(q) == 0 {
		return 0
	}
	f.status[path] = q[1:]
	return q[0]
}

func (f *fakeHelpScout) fail(w http.ResponseWriter, status int, body string) {
	for k, v := range f.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (f *fakeHelpScout) set(path string, statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[path] = statuses
}

func (f *fakeHelpScout) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = map[string]bool{}
}

func (f *fakeHelpScout) take() ([]string, []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, b := f.calls, f.bodies
	f.calls, f.bodies = nil, nil
	return c, b
}

func mustNew(t *testing.T, f *fakeHelpScout, tag string) *helpscout.Deliverer {
	t.Helper()
	d, err := helpscout.New(helpscout.Config{BaseURL: f.URL, AppID: appID, AppSecret: appSecret, EscalationTag: tag},
		deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true}))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     helpscout.Config
		wantErr string
	}{
		{"default base URL", helpscout.Config{AppID: "a", AppSecret: "s"}, ""},
		{"no app id", helpscout.Config{AppSecret: "s"}, "reply.app_id: required, the Help Scout app's id"},
		{"no app secret", helpscout.Config{AppID: "a"}, "reply.app_secret: required"},
		{"bad base URL", helpscout.Config{BaseURL: "api.helpscout.net", AppID: "a", AppSecret: "s"}, "reply.base_url: must be an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helpscout.New(tt.cfg, nil)
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
	d := mustNew(t, f, "")
	ctx := context.Background()

	if err := d.Deliver(ctx, bot.Reply{ID: "r1", ConversationID: "2391938111", Kind: bot.ReplyAnswer, Text: "Open Settings.\nThen <Reset> & go."}); err != nil {
		t.Fatal(err)
	}
	calls, bodies := f.take()
	want := []string{"TOKEN", "GET /v2/conversations/2391938111", "POST /v2/conversations/2391938111/reply"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("answer calls (-want +got):\n%s", diff)
	}
	wantBody := map[string]any{"customer": map[string]any{"id": float64(472611012)}, "text": "Open Settings.<br>Then &lt;Reset&gt; &amp; go."}
	if diff := cmp.Diff(wantBody, bodies[1]); diff != "" {
		t.Fatalf("reply body (-want +got):\n%s", diff)
	}

	// The token is reused; a hand-off keeps the existing tags.
	if err := d.Deliver(ctx, bot.Reply{ID: "r2", ConversationID: "2391938111", Kind: bot.ReplyHandoff, Text: "A person will reply."}); err != nil {
		t.Fatal(err)
	}
	calls, bodies = f.take()
	want = []string{"GET /v2/conversations/2391938111", "PUT /v2/conversations/2391938111/tags", "POST /v2/conversations/2391938111/reply"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("hand-off calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"tags": []any{"vip", deliver.DefaultEscalationTag}}, bodies[1]); diff != "" {
		t.Fatalf("tags body (-want +got):\n%s", diff)
	}

	// Already tagged: no tag update.
	f.mu.Lock()
	f.tags = `[{"id":1,"tag":"vip"},{"id":2,"tag":"Supportbot-Escalated"}]`
	f.mu.Unlock()
	if err := d.Deliver(ctx, bot.Reply{ID: "r3", ConversationID: "5", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	calls, _ = f.take()
	if diff := cmp.Diff([]string{"GET /v2/conversations/5", "POST /v2/conversations/5/reply"}, calls); diff != "" {
		t.Fatalf("already tagged calls (-want +got):\n%s", diff)
	}

	// A failed tag update posts no message: the retry will not post it twice.
	f.mu.Lock()
	f.tags = `[]`
	f.mu.Unlock()
	f.set("/v2/conversations/6/tags", http.StatusInternalServerError)
	if err := d.Deliver(ctx, bot.Reply{ID: "r4", ConversationID: "6", Kind: bot.ReplyHandoff, Text: "x"}); err == nil || bot.IsPermanent(err) {
		t.Fatalf("tag update 500 = %v, want retryable", err)
	}
	calls, _ = f.take()
	if diff := cmp.Diff([]string{"GET /v2/conversations/6", "PUT /v2/conversations/6/tags"}, calls); diff != "" {
		t.Fatalf("failed tag update calls (-want +got):\n%s", diff)
	}

	if err := d.Deliver(ctx, bot.Reply{ID: "r5", Kind: bot.ReplyAnswer, Text: "x"}); !bot.IsPermanent(err) {
		t.Fatalf("empty conversation id = %v, want permanent", err)
	}
	f.mu.Lock()
	f.customer = `null`
	f.mu.Unlock()
	if err := d.Deliver(ctx, bot.Reply{ID: "r6", ConversationID: "7", Kind: bot.ReplyAnswer, Text: "x"}); !bot.IsPermanent(err) {
		t.Fatalf("no primary customer = %v, want permanent", err)
	}
	if calls, _ := f.take(); len(calls) != 1 {
		t.Fatalf("calls without a customer = %v, want only the read", calls)
	}
}

func TestEscalationTag(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, f, "needs-human")
	if err := d.Deliver(context.Background(), bot.Reply{ID: "r", ConversationID: "1", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	_, bodies := f.take()
	if diff := cmp.Diff(map[string]any{"tags": []any{"vip", "needs-human"}}, bodies[1]); diff != "" {
		t.Fatalf("tags body (-want +got):\n%s", diff)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, f, "")
	ctx := context.Background()
	reply := bot.Reply{ID: "r", ConversationID: "1", Kind: bot.ReplyAnswer, Text: "x"}

	// A revoked token: one new token, the request sent again.
	if err := d.Deliver(ctx, reply); err != nil {
		t.Fatal(err)
	}
	f.take()
	f.revokeAll()
	if err := d.Deliver(ctx, reply); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	calls, _ := f.take()
	want := []string{"GET /v2/conversations/1", "TOKEN", "GET /v2/conversations/1", "POST /v2/conversations/1/reply"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("revoked token calls (-want +got):\n%s", diff)
	}

	// A 401 that a new token does not cure is permanent, after one refresh.
	f.set("/v2/conversations/1", http.StatusUnauthorized, http.StatusUnauthorized)
	err := d.Deliver(ctx, reply)
	var se *deliver.StatusError
	if !bot.IsPermanent(err) || !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Fatalf("persistent 401 = %v, want permanent", err)
	}
	calls, _ = f.take()
	if diff := cmp.Diff([]string{"GET /v2/conversations/1", "TOKEN", "GET /v2/conversations/1"}, calls); diff != "" {
		t.Fatalf("persistent 401 calls (-want +got):\n%s", diff)
	}

	// A token about to expire is not used: each request fetches one.
	f2 := newFake(t)
	f2.expiresIn = 5 // within oauth2's early-expiry margin
	d2 := mustNew(t, f2, "")
	if err := d2.Deliver(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if f2.tokens != 2 {
		t.Fatalf("tokens for two requests with expiring tokens = %d, want 2", f2.tokens)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reply := bot.Reply{ID: "r", ConversationID: "1", Kind: bot.ReplyAnswer, Text: "x"}

	f := newFake(t)
	d := mustNew(t, f, "")
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden} {
		f.set(helpscout.TokenPath, code)
		err := d.Deliver(ctx, reply)
		var se *deliver.StatusError
		if !bot.IsPermanent(err) || !errors.As(err, &se) || se.StatusCode != code {
			t.Fatalf("token %d = %v, want permanent with the status", code, err)
		}
		if strings.Contains(err.Error(), appSecret) {
			t.Fatalf("token error %q leaks the app secret", err)
		}
	}
	f.mu.Lock()
	f.header.Set(helpscout.RateLimitRetryAfter, "7")
	f.mu.Unlock()
	f.set(helpscout.TokenPath, http.StatusTooManyRequests)
	if delay, ok := bot.RetryDelay(d.Deliver(ctx, reply)); !ok || delay != 7*time.Second {
		t.Fatalf("token 429: delay %s %v, want 7s", delay, ok)
	}
	f.set(helpscout.TokenPath, http.StatusBadGateway)
	if err := d.Deliver(ctx, reply); err == nil || bot.IsPermanent(err) {
		t.Fatalf("token 502 = %v, want retryable", err)
	}
	if calls, _ := f.take(); len(calls) != 5 || calls[4] != "TOKEN" {
		t.Fatalf("calls = %v, want token requests only", calls)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, f, "")
	ctx := context.Background()
	reply := bot.Reply{ID: "r", ConversationID: "1", Kind: bot.ReplyAnswer, Text: "x"}
	const post = "/v2/conversations/1/reply"

	for _, code := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest} {
		f.set(post, code)
		err := d.Deliver(ctx, reply)
		var se *deliver.StatusError
		if !bot.IsPermanent(err) || !errors.As(err, &se) || se.StatusCode != code {
			t.Fatalf("%d = %v, want permanent with the status", code, err)
		}
	}
	f.set("/v2/conversations/1", http.StatusNotFound)
	if err := d.Deliver(ctx, reply); !bot.IsPermanent(err) {
		t.Fatalf("conversation 404 = %v, want permanent", err)
	}

	f.mu.Lock()
	f.header.Set(helpscout.RateLimitRetryAfter, "12")
	f.header.Set("X-RateLimit-Remaining-Minute", "0")
	f.mu.Unlock()
	f.set(post, http.StatusTooManyRequests)
	if delay, ok := bot.RetryDelay(d.Deliver(ctx, reply)); !ok || delay != 12*time.Second {
		t.Fatalf("429: delay %s %v, want 12s", delay, ok)
	}
	f.mu.Lock()
	f.header = http.Header{}
	f.mu.Unlock()
	for _, code := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		f.set(post, code)
		if err := d.Deliver(ctx, reply); err == nil || bot.IsPermanent(err) {
			t.Fatalf("%d = %v, want retryable", code, err)
		}
	}
}

func TestBlockedAddress(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d, err := helpscout.New(helpscout.Config{BaseURL: f.URL, AppID: appID, AppSecret: appSecret}, deliver.NewHTTPClient(deliver.ClientOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Deliver(context.Background(), bot.Reply{ID: "r", ConversationID: "1", Text: "x"})
	if !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("loopback without allow = %v, want permanent blocked address", err)
	}
	if calls, _ := f.take(); len(calls) != 0 {
		t.Fatalf("calls reached the server: %v", calls)
	}
}
