package freshdesk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/deliver/freshdesk"
)

// fakeFreshdesk is Freshdesk's API for one ticket: it checks the auth,
// keeps the ticket's tags (a PUT replaces them, as Freshdesk's does),
// records each call as "METHOD path body", and answers with respond when
// set.
type fakeFreshdesk struct {
	*httptest.Server
	mu      sync.Mutex
	tags    []string
	calls   []string
	respond func(w http.ResponseWriter, r *http.Request) bool // true: answered
}

func newFake(t *testing.T) *fakeFreshdesk {
	t.Helper()
	f := &fakeFreshdesk{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "fd-key" || pass != "X" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`)
			return
		}
		if r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(b)))
		if f.respond != nil && f.respond(w, r) {
			return
		}
		switch r.Method {
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 11, "tags": f.tags})
		case http.MethodPut:
			var in struct {
				Tags []string `json:"tags"`
			}
			_ = json.Unmarshal(b, &in)
			f.tags = in.Tags
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 11, "tags": f.tags})
		default:
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":1,"body":"..."}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFreshdesk) reset(tags []string, respond func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tags, f.respond, f.calls = tags, respond, nil
}

func (f *fakeFreshdesk) took() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]string(nil), f.tags...)
}

var allowLoopback = deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})

func mustNew(t *testing.T, cfg freshdesk.Config, client *http.Client) *freshdesk.Deliverer {
	t.Helper()
	d, err := freshdesk.New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, freshdesk.Config{BaseURL: f.URL, APIKey: "fd-key"}, allowLoopback)
	ctx := context.Background()

	if err := d.Deliver(ctx, bot.Reply{ID: "r1", ConversationID: "11", Kind: bot.ReplyAnswer, Text: "Open <Settings> & click \"Reset\".\nDone."}); err != nil {
		t.Fatal(err)
	}
	calls, _ := f.took()
	want := []string{`POST /api/v2/tickets/11/reply {"body":"Open \u0026lt;Settings\u0026gt; \u0026amp; click \u0026#34;Reset\u0026#34;.\u003cbr\u003eDone."}`}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("answer calls (-want +got):\n%s", diff)
	}
	var sent struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(calls[0], " ", 3)[2]), &sent); err != nil || sent.Body != "Open &lt;Settings&gt; &amp; click &#34;Reset&#34;.<br>Done." {
		t.Fatalf("reply body = %q, %v: want escaped HTML with <br>", sent.Body, err)
	}

	// A hand-off keeps the ticket's tags and adds the escalation tag.
	f.reset([]string{"billing", "vip"}, nil)
	if err := d.Deliver(ctx, bot.Reply{ID: "r2", ConversationID: "11", Kind: bot.ReplyHandoff, Text: "A person will reply here."}); err != nil {
		t.Fatal(err)
	}
	calls, tags := f.took()
	want = []string{
		`GET /api/v2/tickets/11`,
		`PUT /api/v2/tickets/11 {"tags":["billing","vip","supportbot-escalated"]}`,
		`POST /api/v2/tickets/11/reply {"body":"A person will reply here."}`,
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("hand-off calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"billing", "vip", "supportbot-escalated"}, tags); diff != "" {
		t.Fatalf("tags after hand-off (-want +got):\n%s", diff)
	}

	// Tagged already (any case): no write. A ticket without tags: just ours.
	f.reset([]string{"Supportbot-Escalated"}, nil)
	if err := d.Deliver(ctx, bot.Reply{ID: "r3", ConversationID: "11", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if calls, _ := f.took(); len(calls) != 2 || calls[0] != "GET /api/v2/tickets/11" || !strings.HasPrefix(calls[1], "POST ") {
		t.Fatalf("already tagged: calls %q", calls)
	}
	custom := mustNew(t, freshdesk.Config{BaseURL: f.URL + "/", APIKey: "fd-key", EscalationTag: "needs human"}, allowLoopback)
	f.reset(nil, nil)
	if err := custom.Deliver(ctx, bot.Reply{ID: "r4", ConversationID: "12", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if calls, tags := f.took(); len(calls) != 3 || calls[1] != `PUT /api/v2/tickets/12 {"tags":["needs human"]}` || len(tags) != 1 {
		t.Fatalf("custom tag: calls %q, tags %q", calls, tags)
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, freshdesk.Config{BaseURL: f.URL, APIKey: "fd-key"}, allowLoopback)
	ctx := context.Background()
	answer := bot.Reply{ID: "r", ConversationID: "11", Kind: bot.ReplyAnswer, Text: "x"}
	status := func(code int, headers ...string) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, _ *http.Request) bool {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{"description":"Validation failed","errors":[{"message":"key fd-key"}]}`)
			return true
		}
	}
	tests := []struct {
		name      string
		respond   func(http.ResponseWriter, *http.Request) bool
		permanent bool
		delay     time.Duration
	}{
		{"401", status(http.StatusUnauthorized), true, 0},
		{"403 plan without API access", status(http.StatusForbidden), true, 0},
		{"404 no such ticket", status(http.StatusNotFound), true, 0},
		{"400 validation", status(http.StatusBadRequest), true, 0},
		{"429 with Retry-After", status(http.StatusTooManyRequests, "Retry-After", "45", "X-RateLimit-Remaining", "0"), false, 45 * time.Second},
		{"429 without Retry-After", status(http.StatusTooManyRequests), false, 0},
		{"500", status(http.StatusInternalServerError), false, 0},
		{"502", status(http.StatusBadGateway), false, 0},
	}
	for _, tt := range tests {
		f.reset(nil, tt.respond)
		err := d.Deliver(ctx, answer)
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		if got := bot.IsPermanent(err); got != tt.permanent {
			t.Fatalf("%s: permanent = %v (%v)", tt.name, got, err)
		}
		delay, ok := bot.RetryDelay(err)
		if (tt.delay > 0) != ok || delay != tt.delay {
			t.Fatalf("%s: err = %v, want RetryAfter %s", tt.name, err, tt.delay)
		}
		if strings.Contains(err.Error(), "fd-key") || !strings.Contains(err.Error(), "post freshdesk reply") {
			t.Fatalf("%s: error leaks the key or lacks the operation: %v", tt.name, err)
		}
	}

	wrong := mustNew(t, freshdesk.Config{BaseURL: f.URL, APIKey: "other"}, allowLoopback)
	f.reset(nil, nil)
	if err := wrong.Deliver(ctx, answer); !bot.IsPermanent(err) {
		t.Fatalf("wrong key = %v, want permanent", err)
	}

	// A hand-off whose read or write of the tags fails posts no reply.
	for _, failing := range []string{http.MethodGet, http.MethodPut} {
		f.reset([]string{"vip"}, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == failing {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		err := d.Deliver(ctx, bot.Reply{ID: "h", ConversationID: "11", Kind: bot.ReplyHandoff, Text: "x"})
		calls, tags := f.took()
		if err == nil || bot.IsPermanent(err) || strings.HasPrefix(calls[len(calls)-1], "POST") || len(tags) != 1 {
			t.Fatalf("failing %s: err %v, calls %q, tags %q; want a retryable error, no reply, tags kept", failing, err, calls, tags)
		}
	}
	// A 200 whose body is not the ticket: retried, not a wrong write.
	f.reset([]string{"vip"}, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `<html>maintenance</html>`)
			return true
		}
		return false
	})
	if err := d.Deliver(ctx, bot.Reply{ID: "h", ConversationID: "11", Kind: bot.ReplyHandoff, Text: "x"}); err == nil || bot.IsPermanent(err) {
		t.Fatalf("garbled ticket = %v, want a retryable error", err)
	}
	if calls, _ := f.took(); len(calls) != 1 {
		t.Fatalf("garbled ticket: calls %q, want the read only", calls)
	}

	f.reset(nil, nil)
	for _, id := range []string{"", "x1", "1?x=2", "0", "-3"} {
		if err := d.Deliver(ctx, bot.Reply{ID: "r", ConversationID: id, Text: "x"}); !bot.IsPermanent(err) {
			t.Fatalf("conversation id %q: %v, want permanent", id, err)
		}
	}
	if calls, _ := f.took(); len(calls) != 0 {
		t.Fatalf("calls for bad ids: %q", calls)
	}

	blocked := mustNew(t, freshdesk.Config{BaseURL: f.URL, APIKey: "fd-key"}, deliver.NewHTTPClient(deliver.ClientOptions{}))
	if err := blocked.Deliver(ctx, answer); !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("loopback without allow = %v, want permanent blocked address", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     freshdesk.Config
		wantKey string
	}{
		{"no base url", freshdesk.Config{APIKey: "key-7c1"}, "reply.base_url"},
		{"ftp", freshdesk.Config{BaseURL: "ftp://x.freshdesk.com", APIKey: "key-7c1"}, "reply.base_url"},
		{"no key", freshdesk.Config{BaseURL: "https://x.freshdesk.com"}, "reply.api_key"},
		{"key with a colon", freshdesk.Config{BaseURL: "https://x.freshdesk.com", APIKey: "key:7c1"}, "reply.api_key"},
		{"tag with a comma", freshdesk.Config{BaseURL: "https://x.freshdesk.com", APIKey: "key-7c1", EscalationTag: "a,b"}, "reply.escalation_tag"},
	}
	for _, tt := range tests {
		_, err := freshdesk.New(tt.cfg, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
			t.Fatalf("%s: New() = %v, want an error naming %s", tt.name, err, tt.wantKey)
		}
		if tt.cfg.APIKey != "" && strings.Contains(err.Error(), tt.cfg.APIKey) {
			t.Fatalf("%s: error echoes the key: %v", tt.name, err)
		}
	}
}
