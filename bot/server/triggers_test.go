package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
)

// triggerStore is an in-memory server.TriggerStore, for one goroutine (the
// handlers run on the test's).
type triggerStore struct {
	m map[string]bot.RuntimeTrigger
}

func (s *triggerStore) CreateRuntimeTrigger(_ context.Context, t bot.RuntimeTrigger) error {
	s.m[t.Name] = t
	return nil
}

func (s *triggerStore) RuntimeTriggers(context.Context) ([]bot.RuntimeTrigger, error) {
	var list []bot.RuntimeTrigger
	for _, t := range s.m {
		list = append(list, t)
	}
	return list, nil
}

func (s *triggerStore) RotateRuntimeTrigger(_ context.Context, name, secret string, until time.Time) error {
	t, ok := s.m[name]
	if !ok {
		return fmt.Errorf("trigger %q: %w", name, bot.ErrNotFound)
	}
	t.PreviousSecret, t.PreviousUntil, t.Secret = t.Secret, until, secret
	s.m[name] = t
	return nil
}

func (s *triggerStore) DeleteRuntimeTrigger(_ context.Context, name string) error {
	if _, ok := s.m[name]; !ok {
		return fmt.Errorf("trigger %q: %w", name, bot.ErrNotFound)
	}
	delete(s.m, name)
	return nil
}

// manualTimer is a grace timer the test fires by hand.
type manualTimer struct{ f func() }

func (*manualTimer) Stop() bool { return false }

type runtimeBundle struct {
	rt      *server.RuntimeTriggers
	store   *triggerStore
	h       http.Handler
	replies map[string]string // trigger name → reply kind installed
	timers  []*manualTimer
	secrets int
}

func setupRuntime(t *testing.T) *runtimeBundle {
	t.Helper()
	b := &runtimeBundle{store: &triggerStore{m: map[string]bot.RuntimeTrigger{}}, replies: map[string]string{}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.rt = &server.RuntimeTriggers{
		Store: b.store, Triggers: triggers.NewSet(), Kinds: triggers.Kinds{standard.Kind: standard.New},
		SetReplyFunc: func(tc triggers.Config) error {
			if tc.Reply.Kind == "webhook" && strings.Contains(tc.Reply.URL, "refused") {
				return errors.New("reply.url: refused")
			}
			b.replies[tc.Name] = tc.Reply.Kind
			return nil
		},
		RemoveReplyFunc: func(name string) { delete(b.replies, name) },
		CheckReplyURLFunc: func(u string) error {
			if !strings.HasPrefix(u, "https://") {
				return errors.New("want an https URL")
			}
			return nil
		},
		NewSecretFunc: func() string {
			b.secrets++
			return fmt.Sprintf("whsec_%044d", b.secrets) // 32 bytes of base64
		},
		PublicURL: "https://bot.example.com/", Configured: []string{"chat"},
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return now },
		AfterFunc: func(_ time.Duration, f func()) server.Timer {
			tm := &manualTimer{f: f}
			b.timers = append(b.timers, tm)
			return tm
		},
	}
	b.h = b.rt.Handler()
	t.Cleanup(b.rt.Close)
	return b
}

func (b *runtimeBundle) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body, err)
		}
	}
	return w.Code, out
}

// Every status of the run-time triggers API.
func TestRuntimeTriggersStatuses(t *testing.T) {
	t.Parallel()
	b := setupRuntime(t)
	const api = "/admin/api/triggers"
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown field", "POST", api, `{"nope":1}`, http.StatusBadRequest},
		{"unknown reply kind", "POST", api, `{"reply":{"kind":"carrier-pigeon"}}`, http.StatusBadRequest},
		{"no reply kind", "POST", api, ``, http.StatusBadRequest},
		{"bad reply url", "POST", api, `{"reply":{"kind":"webhook","url":"http://x"}}`, http.StatusBadRequest},
		{"rotate unknown", "POST", api + "/rt_nope/rotate", ``, http.StatusNotFound},
		{"bad grace", "POST", api + "/rt_nope/rotate", `{"grace":"800h"}`, http.StatusBadRequest},
		{"delete unknown", "DELETE", api + "/rt_nope", ``, http.StatusNotFound},
		{"list", "GET", api, ``, http.StatusOK},
	} {
		if got, body := b.do(t, tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %s %s = %d %v, want %d", tc.name, tc.method, tc.path, got, body, tc.want)
		}
	}
	if len(b.store.m) != 0 {
		t.Fatalf("refused requests stored %d triggers", len(b.store.m))
	}

	s, created := b.do(t, "POST", api, `{"reply":{"kind":"webhook","url":"https://example.com/r"}}`)
	if s != http.StatusCreated {
		t.Fatalf("create = %d %v", s, created)
	}
	name := created["name"].(string)
	if created["url"] != "https://bot.example.com/hooks/"+name || created["secret"] == "" || created["reply_secret"] == "" {
		t.Fatalf("created = %v", created)
	}
	if _, ok := b.rt.Triggers.Get(name); !ok || b.replies[name] != "webhook" {
		t.Fatalf("created trigger not installed (reply %q)", b.replies[name])
	}
	s, listed := b.do(t, "GET", api, "")
	if s != http.StatusOK || len(listed["triggers"].([]any)) != 1 || fmt.Sprint(listed["configured"]) != "[chat]" {
		t.Fatalf("list = %d %v", s, listed)
	}
	s, rotated := b.do(t, "POST", api+"/"+name+"/rotate", `{"grace":"1h"}`)
	if s != http.StatusOK || rotated["previous_secret_valid_until"] != "2026-01-02T04:04:05Z" {
		t.Fatalf("rotate = %d %v", s, rotated)
	}
	if len(b.timers) != 1 {
		t.Fatalf("grace timers = %d, want 1", len(b.timers))
	}
	if s, _ := b.do(t, "DELETE", api+"/"+name, ""); s != http.StatusNoContent {
		t.Fatalf("delete = %d", s)
	}
	b.timers[0].f() // a grace timer racing the delete brings nothing back
	if _, ok := b.rt.Triggers.Get(name); ok || b.replies[name] != "" {
		t.Fatal("deleted trigger still installed")
	}
}

// A trigger that cannot be installed is not left stored (a restart would
// bring it to life): 500, and the store is as before.
func TestRuntimeTriggerCreateUndone(t *testing.T) {
	t.Parallel()
	b := setupRuntime(t)
	s, _ := b.do(t, "POST", "/admin/api/triggers", `{"reply":{"kind":"webhook","url":"https://refused.example.com/"}}`)
	if s != http.StatusInternalServerError {
		t.Fatalf("create with a reply channel that fails = %d, want 500", s)
	}
	if len(b.store.m) != 0 || len(b.rt.Triggers.All()) != 0 {
		t.Fatalf("store %v, set %v: want nothing left", b.store.m, b.rt.Triggers.All())
	}
}
