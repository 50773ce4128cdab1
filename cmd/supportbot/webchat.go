package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/web"
)

// WebChatConfig is the built-in web chat, served for every trigger of kind
// web at /chat/{trigger}.
type WebChatConfig struct {
	// Title heads the chat page.
	Title string `mapstructure:"title"`
	// Greeting is the assistant's first line when the page opens ("": none).
	Greeting string `mapstructure:"greeting"`
	// FrameAncestors lists the origins (scheme://host[:port]) whose pages
	// may show the chat in a frame (the widget); the chat's own origin
	// always may.
	FrameAncestors []string `mapstructure:"frame_ancestors"`
	// PerVisitor limits each visitor's messages (a token bucket); the
	// trigger's per_ip and rate_limit apply as well.
	PerVisitor triggers.RateConfig `mapstructure:"per_visitor"`
	// SessionTTL is how long a visitor's session token is valid; a page
	// that comes back renews it.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	// Heartbeat is the interval of the reply stream's keep-alive comments.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// StreamTokenTTL is how long the token in the reply stream's URL is
	// valid; the page renews it with its session.
	StreamTokenTTL time.Duration `mapstructure:"stream_token_ttl"`
	// Streams bounds the reply streams: per session, per address, in all,
	// and how long one lasts before the page reconnects.
	Streams StreamsConfig `mapstructure:"streams"`
}

// StreamsConfig is webchat.streams.
type StreamsConfig struct {
	PerVisitor int           `mapstructure:"per_visitor"`
	PerAddress int           `mapstructure:"per_address"`
	Max        int           `mapstructure:"max"`
	Lifetime   time.Duration `mapstructure:"lifetime"`
}

// webReply is the factory of reply kind web. The web channel needs the
// chat's hub, which openWebChat installs in its place; this one only
// checks the keys and refuses to deliver if that never happened.
func webReply(c triggers.ReplyConfig, _ *http.Client) (bot.Deliverer, error) {
	if c.URL != "" {
		return nil, errors.New("reply.url: not used by reply kind web (replies go to the chat page)")
	}
	return bot.DelivererFunc(func(context.Context, bot.Reply) error {
		return errors.New("web chat is not running")
	}), nil
}

// checkWebChat validates the pairing of web triggers with web replies and,
// when there is a web trigger, the webchat section; errors name the key.
func checkWebChat(cfg *Config) error {
	var errs []error
	hasWeb := false
	for i, tc := range cfg.Triggers {
		key := fmt.Sprintf("triggers[%d] (%s).reply.kind", i, tc.Name)
		switch {
		case tc.Kind == web.Kind && tc.Reply.Kind != web.Kind:
			errs = append(errs, fmt.Errorf("%s: a web trigger replies on its chat page: use web", key))
		case tc.Kind != web.Kind && tc.Reply.Kind == web.Kind:
			errs = append(errs, fmt.Errorf("%s: web needs a trigger of kind web", key))
		}
		hasWeb = hasWeb || tc.Kind == web.Kind
	}
	if !hasWeb {
		return errors.Join(errs...)
	}
	w := cfg.WebChat
	if w.SessionTTL != 0 && w.SessionTTL < time.Minute {
		errs = append(errs, errors.New("webchat.session_ttl: must be at least 1m"))
	}
	if w.StreamTokenTTL != 0 && (w.StreamTokenTTL < time.Minute || w.StreamTokenTTL > time.Hour) {
		errs = append(errs, errors.New("webchat.stream_token_ttl: must be between 1m and 1h"))
	}
	if w.Heartbeat != 0 && w.Heartbeat < time.Second {
		errs = append(errs, errors.New("webchat.heartbeat: must be at least 1s"))
	}
	if w.Streams.PerVisitor < 0 || w.Streams.PerAddress < 0 || w.Streams.Max < 0 {
		errs = append(errs, errors.New("webchat.streams: per_visitor, per_address and max must not be negative"))
	}
	if w.Streams.Lifetime != 0 && w.Streams.Lifetime < 10*time.Second {
		errs = append(errs, errors.New("webchat.streams.lifetime: must be at least 10s"))
	}
	if w.PerVisitor.Rate < 0 {
		errs = append(errs, errors.New("webchat.per_visitor.rate: must not be negative"))
	}
	if w.PerVisitor.Burst < 0 {
		errs = append(errs, errors.New("webchat.per_visitor.burst: must not be negative"))
	}
	if _, err := webchat.ParseFrameAncestors(w.FrameAncestors); err != nil {
		errs = append(errs, fmt.Errorf("webchat.%w", err))
	}
	return errors.Join(errs...)
}

// openWebChat serves the chat of every web trigger: the page, the widget,
// sessions and reply streams under /chat, and in front of each one's
// /hooks/{name} the per-visitor rate limit. Messages then go through the
// same intake as every webhook; the trigger's replies go to the chat's hub.
func (m *Main) openWebChat(mounts map[string]http.Handler) error {
	cfg := &m.Config
	if err := checkWebChat(cfg); err != nil {
		return &ConfigError{err}
	}
	var names []string
	for _, tc := range cfg.Triggers {
		if tc.Kind == web.Kind {
			names = append(names, tc.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	// The chat screens each message, then hands it to the intake of the
	// server that Open builds after the mounts.
	intake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Server.Hooks().ServeHTTP(w, r) })
	hub := &webchat.Hub{}
	chat := &webchat.Chat{
		Hub: hub, Store: m.Store, Intake: intake, Audit: m.Store.Audit, Observer: m.Metrics,
		Title: cfg.WebChat.Title, Greeting: cfg.WebChat.Greeting, FrameAncestors: cfg.WebChat.FrameAncestors,
		PerVisitor: cfg.WebChat.PerVisitor,
		Heartbeat:  cfg.WebChat.Heartbeat, SecureCookies: strings.HasPrefix(cfg.Server.PublicURL, "https://"),
		Revocations: m.Store,
		Streams: webchat.StreamLimits{
			PerVisitor: cfg.WebChat.Streams.PerVisitor, PerAddress: cfg.WebChat.Streams.PerAddress,
			Max: cfg.WebChat.Streams.Max, Lifetime: cfg.WebChat.Streams.Lifetime,
		},
		Logger: m.Logger.With("component", "webchat"),
	}
	// A trigger's own greeting opens its page; the engine answers a
	// typed greeting with the same text.
	chat.GreetingFunc = func(name string) string {
		if e, ok := m.Triggers.Get(name); ok {
			return e.Config.Greeting
		}
		return ""
	}
	if err := chat.Init(); err != nil {
		return &ConfigError{fmt.Errorf("webchat.%w", err)}
	}
	m.Metrics.GaugeFunc("supportbot_chat_streams_open", "Web chat reply streams open now.",
		func() float64 { return float64(chat.OpenStreams()) })
	d := &webchat.Deliverer{Hub: hub}
	for _, name := range names {
		e, ok := m.Triggers.Get(name)
		if !ok {
			return fmt.Errorf("web trigger %s is not installed", name)
		}
		wt, ok := e.Trigger.(*web.Trigger)
		if !ok {
			return fmt.Errorf("trigger %s is not a web trigger", name)
		}
		wt.SessionTTL = cmp.Or(cfg.WebChat.SessionTTL, web.DefaultSessionTTL)
		wt.StreamTTL = cmp.Or(cfg.WebChat.StreamTokenTTL, web.DefaultStreamTTL)
		chat.Add(name, wt)
		m.router.mu.Lock()
		m.router.byTrigger[name] = d
		m.router.mu.Unlock()
	}
	h := chat.Handler()
	mounts["/chat"], mounts["/chat/"] = h, h
	for _, name := range names {
		mounts["POST /hooks/"+name] = h
	}
	m.webchat = chat
	// The status line of an open chat page follows claims, resolutions and
	// hand-backs that send the visitor no reply. Set while nothing else
	// writes yet: the writer goroutine sees it from its next write on.
	m.Store.OnTransition = chat.PublishState
	return nil
}

// closeWebChat ends the reply streams, so that the HTTP server's shutdown
// does not wait for them.
func (m *Main) closeWebChat() {
	if m.webchat != nil {
		m.webchat.Hub.Close()
	}
}
