package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// TriggerStore is the part of the store the run-time triggers API keeps its
// triggers in.
type TriggerStore interface {
	CreateRuntimeTrigger(ctx context.Context, t bot.RuntimeTrigger) error
	RuntimeTriggers(ctx context.Context) ([]bot.RuntimeTrigger, error)
	// RotateRuntimeTrigger returns bot.ErrNotFound for an unknown name.
	RotateRuntimeTrigger(ctx context.Context, name, secret string, until time.Time) error
	// DeleteRuntimeTrigger returns bot.ErrNotFound for an unknown name.
	DeleteRuntimeTrigger(ctx context.Context, name string) error
}

// Timer is a grace timer (*time.Timer).
type Timer interface{ Stop() bool }

// RuntimeTriggers are triggers created through the admin API
// (/admin/api/triggers): stored in the store, installed in Triggers beside
// the config file's, rotated with a grace period during which the old
// secret still verifies.
type RuntimeTriggers struct {
	Store    TriggerStore
	Triggers *triggers.Set
	// Kinds builds a trigger from its config.
	Kinds triggers.Kinds
	// SetReplyFunc installs a trigger's reply channel (its Reply settings);
	// RemoveReplyFunc drops it.
	SetReplyFunc    func(triggers.Config) error
	RemoveReplyFunc func(name string)
	// CheckReplyURLFunc vets a webhook reply URL before anything is stored.
	CheckReplyURLFunc func(url string) error
	// NewSecretFunc returns a new Standard Webhooks secret.
	NewSecretFunc func() string
	// PublicURL is the service's public base URL; a created trigger's URL
	// is under it.
	PublicURL string
	// Configured names the config file's triggers (listed beside the
	// run-time ones).
	Configured []string
	Logger     *slog.Logger
	// Now and AfterFunc are the clock (default time.Now, time.AfterFunc);
	// tests fire the grace timer by hand.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) Timer

	// mu orders every change of the trigger set made here: install, the
	// grace timer's reinstall and remove.
	mu     sync.Mutex
	timers map[string]Timer
}

func (rt *RuntimeTriggers) now() time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

func (rt *RuntimeTriggers) afterFunc(d time.Duration, f func()) Timer {
	if rt.AfterFunc != nil {
		return rt.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f)
}

func (rt *RuntimeTriggers) logger() *slog.Logger {
	if rt.Logger != nil {
		return rt.Logger
	}
	return slog.Default()
}

// Load installs every stored run-time trigger.
func (rt *RuntimeTriggers) Load(ctx context.Context) error {
	list, err := rt.Store.RuntimeTriggers(ctx)
	if err != nil {
		return err
	}
	for _, t := range list {
		if err := rt.install(t); err != nil {
			rt.logger().Error("run-time trigger not installed", "trigger", t.Name, "err", err)
		}
	}
	return nil
}

func (rt *RuntimeTriggers) config(t bot.RuntimeTrigger, withPrevious bool) triggers.Config {
	tc := triggers.Config{
		Name: t.Name, Kind: t.Kind, Secret: t.Secret,
		Reply: triggers.ReplyConfig{Kind: t.ReplyKind, URL: t.ReplyURL, Secret: t.ReplySecret},
	}
	if withPrevious && t.PreviousSecret != "" {
		tc.Secrets = []string{t.PreviousSecret}
	}
	return tc
}

// install puts t in the trigger set and its reply channel in place. While a
// rotated secret's grace lasts both verify; a timer then reinstalls t
// without it.
func (rt *RuntimeTriggers) install(t bot.RuntimeTrigger) error {
	grace := t.PreviousUntil.Sub(rt.now())
	tc := rt.config(t, grace > 0)
	e, err := rt.Kinds.Build(tc)
	if err != nil {
		return err
	}
	// Build the post-grace trigger now: the timer then only swaps it in.
	after, err := rt.Kinds.Build(rt.config(t, false))
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.SetReplyFunc(tc); err != nil {
		return err
	}
	rt.Triggers.Put(e)
	if rt.timers == nil {
		rt.timers = map[string]Timer{}
	}
	if old := rt.timers[t.Name]; old != nil {
		old.Stop()
		delete(rt.timers, t.Name)
	}
	if grace > 0 {
		var timer Timer
		timer = rt.afterFunc(grace, func() {
			rt.mu.Lock()
			defer rt.mu.Unlock()
			// Only the timer still registered may reinstall: a trigger
			// removed or rotated again meanwhile stays as that left it.
			if rt.timers[t.Name] != timer {
				return
			}
			delete(rt.timers, t.Name)
			rt.Triggers.Put(after)
		})
		rt.timers[t.Name] = timer
	}
	return nil
}

// Close stops the grace timers.
func (rt *RuntimeTriggers) Close() {
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

// Handler serves the admin API for run-time triggers; the caller puts it
// behind the admin token.
func (rt *RuntimeTriggers) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/triggers", rt.create)
	mux.HandleFunc("GET /admin/api/triggers", rt.list)
	mux.HandleFunc("POST /admin/api/triggers/{name}/rotate", rt.rotate)
	mux.HandleFunc("DELETE /admin/api/triggers/{name}", rt.remove)
	return mux
}

func (rt *RuntimeTriggers) fail(w http.ResponseWriter, err error) {
	WriteError(w, rt.logger(), "admin triggers", err)
}

// decodeOptional decodes a JSON body of at most 64 KiB into v; an empty
// body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return bot.Invalid("body", "%v", err)
	}
	return nil
}

// create makes a standard (Standard Webhooks) trigger with an unguessable
// name and a generated secret, and returns them once.
func (rt *RuntimeTriggers) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reply struct {
			Kind string `json:"kind"`
			URL  string `json:"url"`
		} `json:"reply"`
	}
	if err := decodeOptional(r, &body); err != nil {
		rt.fail(w, err)
		return
	}
	t := bot.RuntimeTrigger{
		Name: "rt_" + randomHex(16), Kind: "standard", Secret: rt.NewSecretFunc(),
		ReplyKind: body.Reply.Kind, ReplyURL: body.Reply.URL,
	}
	switch t.ReplyKind {
	case "webhook":
		if err := rt.CheckReplyURLFunc(t.ReplyURL); err != nil {
			rt.fail(w, bot.Invalid("reply.url", "%v", err))
			return
		}
		t.ReplySecret = rt.NewSecretFunc()
	case "none":
	default:
		rt.fail(w, bot.Invalid("reply.kind", "%q is not one of webhook, none", t.ReplyKind))
		return
	}
	if err := rt.Store.CreateRuntimeTrigger(r.Context(), t); err != nil {
		rt.fail(w, err)
		return
	}
	if err := rt.install(t); err != nil {
		// Not installed: do not leave a stored trigger that a restart
		// would bring to life.
		if derr := rt.Store.DeleteRuntimeTrigger(context.WithoutCancel(r.Context()), t.Name); derr != nil {
			err = errors.Join(err, derr)
		}
		rt.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"name": t.Name, "kind": t.Kind, "url": strings.TrimRight(rt.PublicURL, "/") + "/hooks/" + t.Name,
		"secret": t.Secret, "reply_secret": t.ReplySecret,
	})
}

func (rt *RuntimeTriggers) list(w http.ResponseWriter, r *http.Request) {
	list, err := rt.Store.RuntimeTriggers(r.Context())
	if err != nil {
		rt.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"triggers": nonNil(list), "configured": nonNil(rt.Configured)})
}

// rotate gives a trigger a new secret; the old one verifies until the grace
// period ends (default 24h).
func (rt *RuntimeTriggers) rotate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Grace string `json:"grace"`
	}
	if err := decodeOptional(r, &body); err != nil {
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
	secret, until := rt.NewSecretFunc(), rt.now().Add(grace)
	if err := rt.Store.RotateRuntimeTrigger(r.Context(), name, secret, until); err != nil {
		rt.fail(w, err)
		return
	}
	list, err := rt.Store.RuntimeTriggers(r.Context())
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
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "secret": secret, "previous_secret_valid_until": until.UTC()})
}

func (rt *RuntimeTriggers) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := rt.Store.DeleteRuntimeTrigger(r.Context(), name); err != nil {
		rt.fail(w, err)
		return
	}
	rt.mu.Lock()
	rt.Triggers.Delete(name)
	rt.RemoveReplyFunc(name)
	if t := rt.timers[name]; t != nil {
		t.Stop()
		delete(rt.timers, name)
	}
	rt.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
