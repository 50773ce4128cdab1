package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
)

// replyStore is an AdminStore whose AgentReply runs fn; the other methods
// are not called by these tests (the embedded nil interface panics if one is).
type replyStore struct {
	server.AdminStore
	fn    func(a bot.AgentReply) (bot.AgentReplyResult, error)
	calls []bot.AgentReply
}

func (s *replyStore) AgentReply(_ context.Context, a bot.AgentReply) (bot.AgentReplyResult, error) {
	s.calls = append(s.calls, a)
	if err := a.Validate(); err != nil {
		return bot.AgentReplyResult{}, err
	}
	return s.fn(a)
}

func TestPostReplyStatuses(t *testing.T) {
	t.Parallel()
	ok := func(a bot.AgentReply) (bot.AgentReplyResult, error) {
		return bot.AgentReplyResult{Claimed: true, Reply: bot.Reply{ID: "rpl_1", ConversationKey: a.ConversationKey,
			Author: bot.AuthorAgent, AgentName: a.Agent, Text: a.Text, State: bot.StateAgent}}, nil
	}
	fail := func(err error) func(bot.AgentReply) (bot.AgentReplyResult, error) {
		return func(bot.AgentReply) (bot.AgentReplyResult, error) { return bot.AgentReplyResult{}, err }
	}
	replayed := func(a bot.AgentReply) (bot.AgentReplyResult, error) {
		r, err := ok(a)
		r.Replayed = true
		return r, err
	}
	for _, tc := range []struct {
		name, path, body, key, token string
		fn                           func(bot.AgentReply) (bot.AgentReplyResult, error)
		want                         int
		wantKey                      string // the conversation key the store got
		wantField                    string
	}{
		{name: "created", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, fn: ok, want: 201, wantKey: "chat/c-1"},
		{name: "escaped key", path: "chat%2Fc%2F1/replies", body: `{"text":"Hi","agent":"Grace"}`, fn: ok, want: 201, wantKey: "chat/c/1"},
		{name: "no token", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, token: "-", fn: ok, want: 401},
		{name: "empty text", path: "chat/c-1/replies", body: `{"text":"  ","agent":"Grace"}`, fn: ok, want: 400, wantField: "text"},
		{name: "no agent", path: "chat/c-1/replies", body: `{"text":"Hi"}`, fn: ok, want: 400, wantField: "agent"},
		{name: "text too long", path: "chat/c-1/replies", body: fmt.Sprintf(`{"text":%q,"agent":"Grace"}`, strings.Repeat("a", bot.MaxTextLen+1)), fn: ok, want: 400, wantField: "text"},
		{name: "body too large", path: "chat/c-1/replies", body: fmt.Sprintf(`{"text":%q,"agent":"Grace"}`, strings.Repeat("a", server.MaxReplyBody)), fn: ok, want: 413},
		{name: "not json", path: "chat/c-1/replies", body: `text=Hi`, fn: ok, want: 400, wantField: "body"},
		{name: "unknown field", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace","state":"bot"}`, fn: ok, want: 400, wantField: "body"},
		{name: "two objects", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}{}`, fn: ok, want: 400, wantField: "body"},
		{name: "unknown conversation", path: "chat/nope/replies", body: `{"text":"Hi","agent":"Grace"}`, fn: fail(bot.ErrNotFound), want: 404},
		{name: "bot-owned", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, fn: fail(fmt.Errorf("conversation is bot: %w", bot.ErrConflict)), want: 409},
		{name: "key reused", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, key: "k", fn: fail(bot.ErrIdempotencyKeyReused), want: 422, wantField: "Idempotency-Key"},
		{name: "key too long", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, key: strings.Repeat("k", bot.MaxIDLen+1), fn: ok, want: 400, wantField: "Idempotency-Key"},
		{name: "replayed", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, key: "k", fn: replayed, want: 201, wantKey: "chat/c-1"},
		{name: "internal", path: "chat/c-1/replies", body: `{"text":"Hi","agent":"Grace"}`, fn: fail(fmt.Errorf("disk on fire")), want: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &replyStore{fn: tc.fn}
			h := (&server.Admin{Store: st, Token: "tok"}).Handler()
			req := httptest.NewRequest(http.MethodPost, "/admin/api/conversations/"+tc.path, strings.NewReader(tc.body))
			if tc.token != "-" {
				req.Header.Set("Authorization", "Bearer tok")
			}
			if tc.key != "" {
				req.Header.Set(server.IdempotencyHeader, tc.key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			var out struct {
				Error   string    `json:"error"`
				Field   string    `json:"field"`
				Reply   bot.Reply `json:"reply"`
				Claimed bool      `json:"claimed"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if out.Field != tc.wantField {
				t.Fatalf("field = %q, want %q (%s)", out.Field, tc.wantField, rec.Body)
			}
			if tc.want == 500 && strings.Contains(rec.Body.String(), "fire") {
				t.Fatalf("internal error text leaked: %s", rec.Body)
			}
			if tc.want != 201 {
				return
			}
			if len(st.calls) != 1 || st.calls[0].ConversationKey != tc.wantKey || st.calls[0].IdempotencyKey != tc.key {
				t.Fatalf("store calls = %+v, want one for %s", st.calls, tc.wantKey)
			}
			if out.Reply.ID != "rpl_1" || out.Reply.State != bot.StateAgent || !out.Claimed || out.Reply.AgentName != "Grace" {
				t.Fatalf("answer = %s", rec.Body)
			}
			if got, want := rec.Header().Get(server.ReplayedHeader) == "true", tc.name == "replayed"; got != want {
				t.Fatalf("Idempotent-Replayed = %q", rec.Header().Get(server.ReplayedHeader))
			}
		})
	}
}

// A conversation whose own id ends in "/replies" is still changed, not
// answered, when its slashes are escaped.
func TestPostConversationNotReplies(t *testing.T) {
	t.Parallel()
	var got string
	st := &transitionStore{replyStore: replyStore{fn: func(bot.AgentReply) (bot.AgentReplyResult, error) {
		t.Fatal("answered instead of changed")
		return bot.AgentReplyResult{}, nil
	}}, onClose: func(key string) { got = key }}
	h := (&server.Admin{Store: st, Token: "tok"}).Handler()
	req := httptest.NewRequest(http.MethodPost, "/admin/api/conversations/chat%2Fx%2Freplies", strings.NewReader(`{"state":"resolved"}`))
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || got != "chat/x/replies" {
		t.Fatalf("status %d %s, closed %q", rec.Code, rec.Body, got)
	}
}

type transitionStore struct {
	replyStore
	onClose func(key string)
}

func (s *transitionStore) ChangeState(_ context.Context, sc bot.StateChange) (*bot.Conversation, error) {
	s.onClose(sc.Key)
	return &bot.Conversation{Key: sc.Key, State: sc.To}, nil
}
