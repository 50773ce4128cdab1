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
	m      *Main
	mu     sync.Mutex
	timers map[string]*time.Timer
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
	grace := time.Until(t.PreviousUntil)
	tc := rt.config(t, grace > 0)
	e, err := kinds.Default().Build(tc)
	if err != nil {
		return err
	}
	if err := rt.m.router.set(tc); err != nil {
		return err
	}
	rt.m.Triggers.Put(e)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.timers == nil {
		rt.timers = map[string]*time.Timer{}
	}
	if old := rt.timers[t.Name]; old != nil {
		old.Stop()
		delete(rt.timers, t.Name)
	}
	if grace > 0 {
		rt.timers[t.Name] = time.AfterFunc(grace, func() {
			if e, err := kinds.Default().Build(rt.config(t, false)); err == nil {
				if _, still := rt.m.Triggers.Get(t.Name); still {
					rt.m.Triggers.Put(e)
				}
			}
		})
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
	secret, until := newWebhookSecret(), time.Now().Add(grace)
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
	rt.m.Triggers.Delete(name)
	rt.m.router.remove(name)
	rt.mu.Lock()
	if t := rt.timers[name]; t != nil {
		t.Stop()
		delete(rt.timers, name)
	}
	rt.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
