package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/kinds"
)

// runtimeTriggers are triggers created through the admin API: stored in
// SQLite, installed beside the config file's triggers, rotated with a grace
// period during which the old secret still verifies.
type runtimeTriggers struct {
	m *Main
	// Now and AfterFunc are the clock (default time.Now, time.AfterFunc);
	// tests fire the grace timer by hand.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) stopper
	// mu orders every change of the trigger set made here: install, the
	// grace timer's reinstall and remove.
	mu     sync.Mutex
	timers map[string]stopper
}

// stopper is a grace timer (*time.Timer).
type stopper interface{ Stop() bool }

func (rt *runtimeTriggers) now() time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

func (rt *runtimeTriggers) afterFunc(d time.Duration, f func()) stopper {
	if rt.AfterFunc != nil {
		return rt.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f)
}

// load installs every stored run-time trigger.
func (rt *runtimeTriggers) load(ctx context.Context) error {
	list, err := rt.m.Store.RuntimeTriggers(ctx)
	if err != nil {
		return err
	}
	for _, t := range list {
		if err := rt.install(t); err != nil {
			rt.m.Logger.Error("run-time trigger not installed", "trigger", t.Name, "err", err)
		}
	}
	return nil
}

func (rt *runtimeTriggers) config(t bot.RuntimeTrigger, withPrevious bool) triggers.Config {
	tc := triggers.Config{
		Name: t.Name, Kind: t.Kind, Secret: t.Secret,
		Reply: triggers.ReplyConfig{Kind: t.ReplyKind, URL: t.ReplyURL, Secret: t.ReplySecret},
	}
	if withPrevious && t.PreviousSecret != "" {
		tc.Secrets = []string{t.PreviousSecret}
	}
	return tc
}

// install puts t in the trigger set and the reply router. While a rotated
// secret's grace lasts both verify; a timer then reinstalls t without it.
func (rt *runtimeTriggers) install(t bot.RuntimeTrigger) error {
	grace := t.PreviousUntil.Sub(rt.now())
	tc := rt.config(t, grace > 0)
	e, err := kinds.Default().Build(tc)
	if err != nil {
		return err
	}
	// Build the post-grace trigger now: the timer then only swaps it in.
	after, err := kinds.Default().Build(rt.config(t, false))
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.m.router.set(tc); err != nil {
		return err
	}
	rt.m.Triggers.Put(e)
	if rt.timers == nil {
		rt.timers = map[string]stopper{}
	}
	if old := rt.timers[t.Name]; old != nil {
		old.Stop()
		delete(rt.timers, t.Name)
	}
	if grace > 0 {
		var timer stopper
		timer = rt.afterFunc(grace, func() {
			rt.mu.Lock()
			defer rt.mu.Unlock()
			// Only the timer still registered may reinstall: a trigger
			// removed or rotated again meanwhile stays as that left it.
			if rt.timers[t.Name] != timer {
				return
			}
			delete(rt.timers, t.Name)
			rt.m.Triggers.Put(after)
		})
		rt.timers[t.Name] = timer
	}
	return nil
}

func (rt *runtimeTriggers) close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, t := range rt.timers {
		t.Stop()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handler serves the admin API for run-time triggers (behind the token).
func (rt *runtimeTriggers) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/triggers", rt.create)
	mux.HandleFunc("GET /admin/api/triggers", rt.list)
	mux.HandleFunc("POST /admin/api/triggers/{name}/rotate", rt.rotate)
	mux.HandleFunc("DELETE /admin/api/triggers/{name}", rt.remove)
	return mux
}

func (rt *runtimeTriggers) fail(w http.ResponseWriter, err error) {
	server.WriteError(w, rt.m.Logger, "admin triggers", err)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return bot.Invalid("body", "%v", err)
	}
	return nil
}

// create makes a standard (Standard Webhooks) trigger with an unguessable
// name and a generated secret, and returns them once.
func (rt *runtimeTriggers) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reply struct {
			Kind string `json:"kind"`
			URL  string `json:"url"`
		} `json:"reply"`
	}
	if err := decodeBody(r, &body); err != nil {
		rt.fail(w, err)
		return
	}
	t := bot.RuntimeTrigger{
		Name: "rt_" + randomHex(16), Kind: "standard", Secret: newWebhookSecret(),
		ReplyKind: body.Reply.Kind, ReplyURL: body.Reply.URL,
	}
	switch t.ReplyKind {
	case "webhook":
		if err := deliver.CheckURL(t.ReplyURL); err != nil {
			rt.fail(w, bot.Invalid("reply.url", "%v", err))
			return
		}
		t.ReplySecret = newWebhookSecret()
	case "none":
	default:
		rt.fail(w, bot.Invalid("reply.kind", "%q is not one of webhook, none", t.ReplyKind))
		return
	}
	if err := rt.m.Store.CreateRuntimeTrigger(r.Context(), t); err != nil {
		rt.fail(w, err)
		return
	}
	if err := rt.install(t); err != nil {
		// Not installed: do not leave a stored trigger that a restart
		// would bring to life.
		if derr := rt.m.Store.DeleteRuntimeTrigger(context.WithoutCancel(r.Context()), t.Name); derr != nil {
			err = errors.Join(err, derr)
		}
		rt.fail(w, err)
		return
	}
	server.WriteJSON(w, http.StatusCreated, map[string]any{
		"name": t.Name, "kind": t.Kind, "url": strings.TrimRight(rt.m.Config.Server.PublicURL, "/") + "/hooks/" + t.Name,
		"secret": t.Secret, "reply_secret": t.ReplySecret,
	})
}

func (rt *runtimeTriggers) list(w http.ResponseWriter, r *http.Request) {
	list, err := rt.m.Store.RuntimeTriggers(r.Context())
	if err != nil {
		rt.fail(w, err)
		return
	}
	if list == nil {
		list = []bot.RuntimeTrigger{}
	}
	configured := make([]string, 0, len(rt.m.Config.Triggers))
	for _, tc := range rt.m.Config.Triggers {
		configured = append(configured, tc.Name)
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"triggers": list, "configured": configured})
}

// rotate gives a trigger a new secret; the old one verifies until the grace
// period ends (default 24h).
func (rt *runtimeTriggers) rotate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Grace string `json:"grace"`
	}
	if err := decodeBody(r, &body); err != nil {
		rt.fail(w, err)
		return
	}
	grace := 24 * time.Hour
	if body.Grace != "" {
		d, err := time.ParseDuration(body.Grace)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			rt.fail(w, bot.Invalid("grace", "want a duration between 0s and 720h"))
			return
		}
		grace = d
	}
	name := r.PathValue("name")
	secret, until := newWebhookSecret(), rt.now().Add(grace)
	if err := rt.m.Store.RotateRuntimeTrigger(r.Context(), name, secret, until); err != nil {
		rt.fail(w, err)
		return
	}
	list, err := rt.m.Store.RuntimeTriggers(r.Context())
	if err != nil {
		rt.fail(w, err)
		return
	}
	for _, t := range list {
		if t.Name == name {
			if err := rt.install(t); err != nil {
				rt.fail(w, err)
				return
			}
		}
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "secret": secret, "previous_secret_valid_until": until.UTC()})
}

func (rt *runtimeTriggers) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := rt.m.Store.DeleteRuntimeTrigger(r.Context(), name); err != nil {
		rt.fail(w, err)
		return
	}
	rt.mu.Lock()
	rt.m.Triggers.Delete(name)
	rt.m.router.remove(name)
	if t := rt.timers[name]; t != nil {
		t.Stop()
		delete(rt.timers, name)
	}
	rt.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
