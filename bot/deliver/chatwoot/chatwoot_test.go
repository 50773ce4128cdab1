package chatwoot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/deliver/chatwoot"
)

func TestDeliverer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []string
	var bodies []map[string]any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("api_access_token") != "tok" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s headers %v", r.Method, r.URL.Path, r.Header)
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		calls = append(calls, r.URL.Path)
		bodies = append(bodies, b)
		s := status
		mu.Unlock()
		if s == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(s)
	}))
	defer srv.Close()
	if _, err := chatwoot.New(chatwoot.Config{BaseURL: srv.URL, Token: "tok"}, nil); err == nil {
		t.Fatal("missing account id accepted")
	}
	cfg := chatwoot.Config{BaseURL: srv.URL, AccountID: "1", Token: "tok"}
	c, err := chatwoot.New(cfg, deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Deliver(ctx, bot.Reply{ID: "r1", ConversationID: "10", Kind: bot.ReplyAnswer, Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Deliver(ctx, bot.Reply{ID: "r2", ConversationID: "10", Kind: bot.ReplyHandoff, Text: "A person will reply"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/api/v1/accounts/1/conversations/10/messages", "/api/v1/accounts/1/conversations/10/messages", "/api/v1/accounts/1/conversations/10/toggle_status"}
	if len(calls) != 3 || calls[0] != want[0] || calls[1] != want[1] || calls[2] != want[2] {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if bodies[0]["content"] != "Hello" || bodies[0]["message_type"] != "outgoing" || bodies[0]["private"] != false || bodies[2]["status"] != "open" {
		t.Fatalf("bodies = %v", bodies)
	}
	mu.Lock()
	status = http.StatusTooManyRequests
	mu.Unlock()
	err = c.Deliver(ctx, bot.Reply{ID: "r3", ConversationID: "10", Kind: bot.ReplyAnswer, Text: "x"})
	if d, ok := bot.RetryDelay(err); !ok || d != 3*time.Second {
		t.Fatalf("429 err = %v, want RetryAfter 3s", err)
	}
	mu.Lock()
	status = http.StatusNotFound
	mu.Unlock()
	if err := c.Deliver(ctx, bot.Reply{ID: "r4", ConversationID: "10", Text: "x"}); !bot.IsPermanent(err) {
		t.Fatalf("404 err = %v, want permanent", err)
	}
	blocked, _ := chatwoot.New(cfg, deliver.NewHTTPClient(deliver.ClientOptions{}))
	if err := blocked.Deliver(ctx, bot.Reply{ID: "r5", ConversationID: "10", Text: "x"}); !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("loopback without allow = %v, want permanent blocked address", err)
	}
}
