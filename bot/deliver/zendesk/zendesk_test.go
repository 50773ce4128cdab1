package zendesk_test

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
	"github.com/supportbot/supportbot/bot/deliver/zendesk"
)

// fakeZendesk is Zendesk's API: it checks the auth and the content type,
// records each call as "METHOD path body", and answers with respond.
type fakeZendesk struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []string
	respond func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T) *fakeZendesk {
	t.Helper()
	f := &fakeZendesk{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "bot@example.com/token" || pass != "zd-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"Couldn't authenticate you"}`)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path+" "+string(b))
		respond := f.respond
		f.mu.Unlock()
		if respond != nil {
			respond(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"ticket":{"id":35436}}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeZendesk) set(respond func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond, f.calls = respond, nil
}

func (f *fakeZendesk) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":"RecordInvalid","description":"token zd-token"}`)
	}
}

func mustNew(t *testing.T, cfg zendesk.Config, client *http.Client) *zendesk.Deliverer {
	t.Helper()
	d, err := zendesk.New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var allowLoopback = deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})

func TestDeliver(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, zendesk.Config{BaseURL: f.URL + "/", Email: "bot@example.com", APIToken: "zd-token"}, allowLoopback)
	ctx := context.Background()

	if err := d.Deliver(ctx, bot.Reply{ID: "r1", ConversationID: "35436", Kind: bot.ReplyAnswer, Text: "Go to <Settings> & \"reset\".\nThen log in."}); err != nil {
		t.Fatal(err)
	}
	want := []string{`PUT /api/v2/tickets/35436.json {"ticket":{"comment":{"body":"Go to \u003cSettings\u003e \u0026 \"reset\".\nThen log in.","public":true}}}`}
	if diff := cmp.Diff(want, f.took()); diff != "" {
		t.Fatalf("answer calls (-want +got):\n%s", diff)
	}
	var sent struct {
		Ticket struct {
			Comment struct {
				Body   string `json:"body"`
				Public bool   `json:"public"`
			} `json:"comment"`
		} `json:"ticket"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(f.took()[0], " ", 3)[2]), &sent); err != nil || sent.Ticket.Comment.Body != "Go to <Settings> & \"reset\".\nThen log in." || !sent.Ticket.Comment.Public {
		t.Fatalf("comment = %+v, %v: want the plain text, public", sent, err)
	}

	f.set(nil)
	if err := d.Deliver(ctx, bot.Reply{ID: "r2", ConversationID: "35436", Kind: bot.ReplyHandoff, Text: "A person will reply here."}); err != nil {
		t.Fatal(err)
	}
	want = []string{
		`PUT /api/v2/tickets/35436/tags {"tags":["supportbot-escalated"]}`,
		`PUT /api/v2/tickets/35436.json {"ticket":{"comment":{"body":"A person will reply here.","public":true}}}`,
	}
	if diff := cmp.Diff(want, f.took()); diff != "" {
		t.Fatalf("hand-off calls (-want +got):\n%s", diff)
	}

	// A configured tag; an agent's relayed answer is a plain comment.
	custom := mustNew(t, zendesk.Config{BaseURL: f.URL, Email: "bot@example.com", APIToken: "zd-token", EscalationTag: "needs_human"}, allowLoopback)
	f.set(nil)
	if err := custom.Deliver(ctx, bot.Reply{ID: "r3", ConversationID: "7", Kind: bot.ReplyHandoff, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := custom.Deliver(ctx, bot.Reply{ID: "r4", ConversationID: "7", Kind: bot.ReplyAgent, Author: "agent", Text: "y"}); err != nil {
		t.Fatal(err)
	}
	if calls := f.took(); len(calls) != 3 || calls[0] != `PUT /api/v2/tickets/7/tags {"tags":["needs_human"]}` || !strings.HasPrefix(calls[2], "PUT /api/v2/tickets/7.json ") {
		t.Fatalf("custom tag calls = %q", calls)
	}

	// An agent's answer is signed with the agent's name: Zendesk shows the
	// comment as the API user's (the bot's).
	f.set(nil)
	if err := d.Deliver(ctx, bot.Reply{ID: "r5", ConversationID: "7", Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: "Grace", Text: "Refund issued."}); err != nil {
		t.Fatal(err)
	}
	want = []string{`PUT /api/v2/tickets/7.json {"ticket":{"comment":{"body":"Refund issued.\n\n— Grace","public":true}}}`}
	if diff := cmp.Diff(want, f.took()); diff != "" {
		t.Fatalf("agent reply calls (-want +got):\n%s", diff)
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := mustNew(t, zendesk.Config{BaseURL: f.URL, Email: "bot@example.com", APIToken: "zd-token"}, allowLoopback)
	ctx := context.Background()
	answer := bot.Reply{ID: "r", ConversationID: "35436", Kind: bot.ReplyAnswer, Text: "x"}

	tests := []struct {
		name      string
		respond   func(http.ResponseWriter, *http.Request)
		permanent bool
		delay     time.Duration // > 0: RetryAfter with this delay
	}{
		{"401 bad credentials", status(http.StatusUnauthorized), true, 0},
		{"403 no permission, even with Retry-After", status(http.StatusForbidden, "Retry-After", "5"), true, 0},
		{"404 no such ticket", status(http.StatusNotFound), true, 0},
		{"422 too many comments", status(http.StatusUnprocessableEntity), true, 0},
		{"429 with Retry-After", status(http.StatusTooManyRequests, "Retry-After", "7"), false, 7 * time.Second},
		{"429 without Retry-After", status(http.StatusTooManyRequests), false, 0},
		{"409 update conflict", status(http.StatusConflict), false, 0},
		{"500", status(http.StatusInternalServerError), false, 0},
		{"503 with Retry-After", status(http.StatusServiceUnavailable, "Retry-After", "30"), false, 30 * time.Second},
	}
	for _, tt := range tests {
		f.set(tt.respond)
		err := d.Deliver(ctx, answer)
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		if got := bot.IsPermanent(err); got != tt.permanent {
			t.Fatalf("%s: permanent = %v (%v)", tt.name, got, err)
		}
		d, ok := bot.RetryDelay(err)
		if tt.delay > 0 && (!ok || d != tt.delay) {
			t.Fatalf("%s: err = %v, want RetryAfter %s", tt.name, err, tt.delay)
		}
		if tt.delay == 0 && ok {
			t.Fatalf("%s: err = %v, want no RetryAfter", tt.name, err)
		}
		if strings.Contains(err.Error(), "zd-token") {
			t.Fatalf("%s: error leaks the token: %v", tt.name, err)
		}
		if !strings.Contains(err.Error(), "post zendesk comment") {
			t.Fatalf("%s: error does not name the operation: %v", tt.name, err)
		}
	}

	// Wrong credentials, at the fake's own check.
	wrong := mustNew(t, zendesk.Config{BaseURL: f.URL, Email: "bot@example.com", APIToken: "other"}, allowLoopback)
	f.set(nil)
	if err := wrong.Deliver(ctx, answer); !bot.IsPermanent(err) || len(f.took()) != 0 {
		t.Fatalf("wrong token = %v, calls %v; want permanent, none recorded", err, f.took())
	}

	// A hand-off whose tagging fails posts no comment: the retry redoes both.
	f.set(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags") {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	err := d.Deliver(ctx, bot.Reply{ID: "h", ConversationID: "35436", Kind: bot.ReplyHandoff, Text: "x"})
	if err == nil || bot.IsPermanent(err) || !strings.Contains(err.Error(), "tag zendesk ticket") || len(f.took()) != 1 {
		t.Fatalf("failed tagging = %v, calls %v; want a retryable error and no comment", err, f.took())
	}

	// Conversation ids that are no ticket ids never reach Zendesk.
	f.set(nil)
	for _, id := range []string{"", "abc", "1/../2", "0", "12a", strings.Repeat("9", 21)} {
		if err := d.Deliver(ctx, bot.Reply{ID: "r", ConversationID: id, Text: "x"}); !bot.IsPermanent(err) {
			t.Fatalf("conversation id %q: %v, want permanent", id, err)
		}
	}
	if calls := f.took(); len(calls) != 0 {
		t.Fatalf("calls for bad ids: %v", calls)
	}

	// The default client refuses loopback: a permanent blocked address.
	blocked := mustNew(t, zendesk.Config{BaseURL: f.URL, Email: "bot@example.com", APIToken: "zd-token"}, nil)
	if err := blocked.Deliver(ctx, answer); !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("loopback without allow = %v, want permanent blocked address", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     zendesk.Config
		wantKey string
	}{
		{"no base url", zendesk.Config{Email: "a@b", APIToken: "tok-9f3"}, "reply.base_url"},
		{"not a url", zendesk.Config{BaseURL: "zendesk", Email: "a@b", APIToken: "tok-9f3"}, "reply.base_url"},
		{"no email", zendesk.Config{BaseURL: "https://x.zendesk.com", APIToken: "tok-9f3"}, "reply.email"},
		{"no token", zendesk.Config{BaseURL: "https://x.zendesk.com", Email: "a@b"}, "reply.api_token"},
		{"tag with a space", zendesk.Config{BaseURL: "https://x.zendesk.com", Email: "a@b", APIToken: "tok-9f3", EscalationTag: "needs human"}, "reply.escalation_tag"},
	}
	for _, tt := range tests {
		_, err := zendesk.New(tt.cfg, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
			t.Fatalf("%s: New() = %v, want an error naming %s", tt.name, err, tt.wantKey)
		}
		if tt.cfg.APIToken != "" && strings.Contains(err.Error(), tt.cfg.APIToken) {
			t.Fatalf("%s: error echoes the token: %v", tt.name, err)
		}
	}
}
