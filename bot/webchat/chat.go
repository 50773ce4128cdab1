// Package webchat is supportbot's built-in web chat: the chat page at
// /chat/{trigger}, an embeddable script at /chat/widget.js that opens the
// page in an iframe on another site, visitor sessions, live replies over
// Server-Sent Events at /chat/{trigger}/events (with their quick replies,
// shown as buttons), and the visitor's 1–5 rating of a resolved
// conversation at /chat/{trigger}/rating.
//
// A visitor's messages are chat messages of a web trigger (triggers/web):
// the page POSTs them to /hooks/{trigger}, the same intake every webhook
// goes through. Chat sits in front of that intake only to apply the
// per-visitor rate limit, and hands every request on to it.
//
// Replies reach the page through the web reply channel (Deliverer), which
// publishes them to the in-process Hub; a page that was away replays the
// replies it missed from the store (the SSE Last-Event-ID).
package webchat

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// Session headers of a chat message; the same names as triggers/web's.
const (
	VisitorHeader = "X-Chat-Visitor"
	TokenHeader   = "X-Chat-Token"
)

// Defaults.
const (
	DefaultHeartbeat = 25 * time.Second
	DefaultTitle     = "Support"
	// DefaultGreeting is the bot's first line on a new chat page unless
	// the configuration says otherwise.
	DefaultGreeting = "Hi! How can I help you today?"
	// DefaultRetry is the reconnection delay the stream asks browsers for.
	DefaultRetry = 3 * time.Second
)

// Sessions issues and checks the visitor sessions of one web trigger
// (*web.Trigger implements it).
type Sessions interface {
	// NewVisitorID returns a new unguessable visitor id.
	NewVisitorID() string
	// Issue returns a token for visitorID and when it expires.
	Issue(visitorID string, now time.Time) (token string, expires time.Time)
	// CheckToken returns an error wrapping bot.ErrUnauthorized unless token
	// is an unexpired session of visitorID.
	CheckToken(visitorID, token string, now time.Time) error
}

// Store is the part of the store the chat reads.
type Store interface {
	// SentReplies returns the conversation's delivered replies after the
	// reply afterID ("" or unknown: from the first), oldest first.
	SentReplies(ctx context.Context, key, afterID string, n int) ([]bot.StoredReply, error)
	// Messages returns the conversation's transcript, oldest first.
	Messages(ctx context.Context, key string) ([]bot.Message, error)
	// Replies returns every reply of the conversation with its status.
	Replies(ctx context.Context, key string) ([]bot.StoredReply, error)
	// Conversation returns the conversation, or bot.ErrNotFound.
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	// LatestEscalation returns the conversation's last escalation, or
	// bot.ErrNotFound.
	LatestEscalation(ctx context.Context, key string) (bot.StoredEscalation, error)
	// RateConversation stores the visitor's rating of a resolved
	// conversation: a *bot.ValidationError for a bad score or comment,
	// bot.ErrNotFound for an unknown conversation, bot.ErrConflict when it
	// is not resolved.
	RateConversation(ctx context.Context, r bot.Rating) error
	// Rating returns the conversation's rating, or bot.ErrNotFound.
	Rating(ctx context.Context, key string) (bot.Rating, error)
}

// Observer receives one call per intake request the chat answers itself.
type Observer interface {
	ObserveHook(trigger string, status int, d time.Duration)
}

// Chat serves the chat page, the widget, sessions and reply streams of the
// web triggers added to it.
type Chat struct {
	Hub   *Hub
	Store Store
	// Intake is the webhook intake (POST /hooks/{trigger}) that chat
	// messages are handed to once the per-visitor limit allows them.
	Intake http.Handler
	// Audit records a request the chat refused itself (429), as the
	// intake records its own.
	Audit    func(ctx context.Context, a bot.AuditEntry) error
	Observer Observer

	// Title heads the chat page (default DefaultTitle).
	Title string
	// Greeting is the bot's first line when the page opens ("" for none;
	// cmd sets webchat.greeting, default DefaultGreeting). It is shown by
	// the page, not sent or stored: it asks nothing of the visitor and
	// costs the bot no turn. GreetingFunc, when set, overrides it per
	// trigger (an empty result falls back to Greeting).
	Greeting     string
	GreetingFunc func(trigger string) string
	// FrameAncestors are the origins, besides the chat's own, that may show
	// the page in a frame (the widget); see ParseFrameAncestors.
	FrameAncestors []string
	// PerVisitor limits each visitor's messages (a token bucket; zero rate: no limit).
	PerVisitor triggers.RateConfig
	// Heartbeat is the interval of the stream's keep-alive comments.
	Heartbeat time.Duration
	// SecureCookies marks the session cookie Secure (an https public URL).
	SecureCookies bool
	// Streams bounds the reply streams (see StreamLimits).
	Streams StreamLimits
	// Revocations, when set, ends sessions on the server (sign-out, a
	// deleted conversation); see Revocations.
	Revocations Revocations

	Now    func() time.Time
	Logger *slog.Logger

	mu          sync.RWMutex
	triggers    map[string]Sessions
	order       []string
	open        streamCount
	limiter     *triggers.Buckets // per visitor
	newVisitors *triggers.Buckets // new sessions per address
	ancestor    string            // the CSP frame-ancestors sources
	once        sync.Once
}

// Add serves the web trigger name, whose sessions s issues and checks.
func (c *Chat) Add(name string, s Sessions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.triggers == nil {
		c.triggers = map[string]Sessions{}
	}
	if _, ok := c.triggers[name]; !ok {
		c.order = append(c.order, name)
		sort.Strings(c.order)
	}
	c.triggers[name] = s
}

// Names returns the web triggers served, sorted.
func (c *Chat) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.order...)
}

func (c *Chat) sessions(name string) (Sessions, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.triggers[name]
	return s, ok
}

func (c *Chat) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Init checks the configuration and fills defaults; Handler calls it. The
// error names the key, e.g. `frame_ancestors[0]: ...`.
func (c *Chat) Init() error {
	var err error
	c.once.Do(func() {
		if c.Logger == nil {
			c.Logger = slog.Default()
		}
		if c.Hub == nil {
			c.Hub = &Hub{}
		}
		c.Title = cmp.Or(strings.TrimSpace(c.Title), DefaultTitle)
		c.Heartbeat = cmp.Or(c.Heartbeat, DefaultHeartbeat)
		switch {
		case c.PerVisitor.Rate < 0:
			err = errors.New("per_visitor.rate: must not be negative")
			return
		case c.PerVisitor.Burst < 0:
			err = errors.New("per_visitor.burst: must not be negative")
			return
		case c.Heartbeat < 0:
			err = errors.New("heartbeat: must be positive")
			return
		}
		if err = c.Streams.init(); err != nil {
			return
		}
		c.limiter = triggers.NewBuckets(c.PerVisitor, 0)
		c.newVisitors = triggers.NewBuckets(NewVisitorsPerIP, 0)
		c.ancestor, err = ParseFrameAncestors(c.FrameAncestors)
	})
	return err
}

// ParseFrameAncestors checks the origins that may frame the chat page and
// returns the CSP frame-ancestors source list: 'self' and each origin. An
// origin is scheme://host[:port] with scheme http or https; the host may
// start with "*." for every subdomain.
func ParseFrameAncestors(origins []string) (string, error) {
	srcs := []string{"'self'"}
	for i, o := range origins {
		u, ok := parseOrigin(o)
		if !ok {
			return "", fmt.Errorf("frame_ancestors[%d]: %q is not an origin (scheme://host[:port])", i, o)
		}
		srcs = append(srcs, u.Scheme+"://"+u.Host)
	}
	return strings.Join(srcs, " "), nil
}

// parseOrigin accepts only what cannot change the meaning of the CSP header
// it goes into: no spaces, quotes, separators, paths or queries.
func parseOrigin(o string) (*url.URL, bool) {
	if strings.ContainsAny(o, " \t\r\n;,'\"") {
		return nil, false
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, false
	}
	host := strings.TrimPrefix(u.Hostname(), "*.")
	if host == "" {
		return nil, false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return nil, false
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, false
		}
	}
	return u, true
}

// Handler returns the chat's routes: /chat, /chat/widget.js,
// /chat/static/..., /chat/{trigger}, /chat/{trigger}/session,
// /chat/{trigger}/events, /chat/{trigger}/rating, and POST /hooks/{trigger}
// for the web triggers.
// It panics if Init fails; call Init first to get the error.
func (c *Chat) Handler() http.Handler {
	if err := c.Init(); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat", c.handleIndex)
	mux.HandleFunc("GET /chat/{$}", c.handleIndex)
	mux.HandleFunc("GET /chat/widget.js", c.handleAsset("widget.js"))
	mux.HandleFunc("GET /chat/static/chat.js", c.handleAsset("chat.js"))
	mux.HandleFunc("GET /chat/static/chat.css", c.handleAsset("chat.css"))
	mux.HandleFunc("GET /chat/{trigger}", c.handlePage)
	mux.HandleFunc("POST /chat/{trigger}/session", c.handleSession)
	mux.HandleFunc("GET /chat/{trigger}/events", c.handleEvents)
	mux.HandleFunc("POST /chat/{trigger}/signout", c.handleSignOut)
	mux.HandleFunc("POST /chat/{trigger}/rating", c.handleRating)
	mux.HandleFunc("POST /hooks/{trigger}", c.handleHook)
	return mux
}

//go:embed assets
var assetFS embed.FS

var (
	pageTmpl = template.Must(template.ParseFS(assetFS, "assets/chat.html"))
	assets   = map[string]asset{}
)

type asset struct {
	body []byte
	ctype,
	version string
}

func init() {
	for name, ctype := range map[string]string{
		"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8",
		"widget.js": "text/javascript; charset=utf-8",
	} {
		b, err := assetFS.ReadFile("assets/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		assets[name] = asset{body: b, ctype: ctype, version: hex.EncodeToString(sum[:6])}
	}
}

func (c *Chat) handleAsset(name string) http.HandlerFunc {
	a := assets[name]
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", `"`+a.version+`"`)
		if name == "widget.js" {
			// Other sites include it with a <script> tag.
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		}
		if r.Header.Get("If-None-Match") == `"`+a.version+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(a.body)
	}
}

// handleIndex sends /chat to the first web trigger's page.
func (c *Chat) handleIndex(w http.ResponseWriter, r *http.Request) {
	names := c.Names()
	if len(names) == 0 {
		http.Error(w, "no web chat is configured", http.StatusNotFound)
		return
	}
	target := "/chat/" + names[0]
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusFound)
}

type pageData struct {
	Title, Trigger, SessionURL, EventsURL, HookURL, JS, CSS string
	RatingURL                                               string
	Greeting                                                string
	Embedded                                                bool
}

// greeting is the first line of trigger's page.
func (c *Chat) greeting(trigger string) string {
	if c.GreetingFunc != nil {
		if g := strings.TrimSpace(c.GreetingFunc(trigger)); g != "" {
			return g
		}
	}
	return strings.TrimSpace(c.Greeting)
}

func (c *Chat) handlePage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("trigger")
	if _, ok := c.sessions(name); !ok {
		http.Error(w, "no such chat", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	err := pageTmpl.Execute(&buf, pageData{
		Title: c.Title, Trigger: name, Embedded: r.URL.Query().Get("embed") == "1", Greeting: c.greeting(name),
		SessionURL: "/chat/" + name + "/session", EventsURL: "/chat/" + name + "/events", HookURL: "/hooks/" + name,
		JS: "/chat/static/chat.js?v=" + assets["chat.js"].version, CSS: "/chat/static/chat.css?v=" + assets["chat.css"].version,
		RatingURL: "/chat/" + name + "/rating",
	})
	if err != nil {
		c.Logger.Error("render chat page", "trigger", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "+
		"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors "+c.ancestor)
	if c.ancestor == "'self'" {
		h.Set("X-Frame-Options", "SAMEORIGIN") // for browsers without CSP frame-ancestors
	}
	_, _ = w.Write(buf.Bytes())
}

// sessionResponse is what POST /chat/{trigger}/session answers.
type sessionResponse struct {
	VisitorID string    `json:"visitor_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	HookURL   string    `json:"hook_url"`
	EventsURL string    `json:"events_url"`
	// StreamToken goes in the events URL (short-lived; renewed here).
	StreamToken     string     `json:"stream_token,omitempty"`
	StreamExpiresAt *time.Time `json:"stream_expires_at,omitempty"`
}

// sessionCookie returns the name and path of the session cookie. Over HTTPS
// it is a __Host- cookie (Secure, host-only, path /), so that a sibling
// subdomain cannot plant one that joins a visitor to its conversation.
func (c *Chat) sessionCookie(trigger string) (name, path string) {
	if c.SecureCookies {
		return "__Host-sb_chat_" + trigger, "/"
	}
	return "sb_chat_" + trigger, "/chat/" + trigger
}

// NewVisitorsPerIP bounds the new chat sessions one address may start: 30
// at once (a shared office, a test), then one a second.
var NewVisitorsPerIP = triggers.RateConfig{Rate: 1, Burst: 30}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleSession resumes the visitor's session (from the body, for a page in
// a third-party frame where cookies are blocked, or from the cookie) with a
// fresh token, or starts a new one.
func (c *Chat) handleSession(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("trigger")
	s, ok := c.sessions(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such chat"})
		return
	}
	// A session is only handed to the chat's own pages: a form or a fetch
	// from another site must not be able to plant a session it knows.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		writeJSON(w, http.StatusForbidden, apiError{Error: "cross-site request refused"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "send application/json", Field: "content-type"})
		return
	}
	var in struct {
		VisitorID string `json:"visitor_id"`
		Token     string `json:"token"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body must be a JSON object", Field: "body"})
		return
	}
	now := c.now()
	visitor := ""
	switch {
	case in.VisitorID != "" && s.CheckToken(in.VisitorID, in.Token, now) == nil:
		visitor = in.VisitorID
	default:
		if v, tok, ok := c.cookieSession(r, name); ok && s.CheckToken(v, tok, now) == nil {
			visitor = v
		}
	}
	if visitor != "" && c.revoked(r.Context(), name, visitor) {
		visitor = "" // signed out, or its conversation deleted: a new visitor
	}
	if visitor == "" {
		// New visitors cost a bucket in the per-visitor limit: one address
		// gets NewVisitorsPerIP of them at once, then one a second.
		if ok, wait := c.newVisitors.Allow(clientHost(r), now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
			writeJSON(w, http.StatusTooManyRequests, apiError{Error: "too many new chats from this address; try again later"})
			return
		}
		visitor = s.NewVisitorID()
	}
	token, exp := s.Issue(visitor, now)
	ckName, ckPath := c.sessionCookie(name)
	http.SetCookie(w, &http.Cookie{
		Name: ckName, Value: visitor + "~" + token, Path: ckPath, Expires: exp,
		HttpOnly: true, Secure: c.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	resp := sessionResponse{
		VisitorID: visitor, Token: token, ExpiresAt: exp, HookURL: "/hooks/" + name, EventsURL: "/chat/" + name + "/events",
	}
	if ss, ok := s.(StreamSessions); ok {
		tok, exp := ss.IssueStream(visitor, now)
		resp.StreamToken, resp.StreamExpiresAt = tok, &exp
	}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Chat) cookieSession(r *http.Request, name string) (visitor, token string, ok bool) {
	ckName, _ := c.sessionCookie(name)
	ck, err := r.Cookie(ckName)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(ck.Value, "~")
}

// handleHook applies the per-visitor limit to a chat message, then hands
// the request to the intake, which verifies, stores and answers it. A
// request without a valid session goes straight on, and the intake refuses
// it (401) and audits it.
func (c *Chat) handleHook(w http.ResponseWriter, r *http.Request) {
	start := c.now()
	name := r.PathValue("trigger")
	if s, ok := c.sessions(name); ok {
		visitor := r.Header.Get(VisitorHeader)
		if s.CheckToken(visitor, r.Header.Get(TokenHeader), start) == nil {
			if c.revoked(r.Context(), name, visitor) {
				writeJSON(w, http.StatusUnauthorized, apiError{Error: "chat session ended; start a new one"})
				return
			}
			if ok, wait := c.limiter.Allow(name+"/"+visitor, start); !ok {
				c.refuseRate(w, r, name, start, wait)
				return
			}
		}
	}
	c.Intake.ServeHTTP(w, r)
}

func (c *Chat) refuseRate(w http.ResponseWriter, r *http.Request, name string, start time.Time, wait time.Duration) {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "too many messages from this visitor; retry later"
	writeJSON(w, http.StatusTooManyRequests, apiError{Error: msg})
	d := c.now().Sub(start)
	if c.Audit != nil {
		a := bot.AuditEntry{
			At: start.UTC(), Trigger: name, Remote: r.RemoteAddr, Method: r.Method,
			Status: http.StatusTooManyRequests, Error: "visitor rate limit exceeded", Duration: d,
		}
		if err := c.Audit(context.WithoutCancel(r.Context()), a); err != nil {
			c.Logger.Error("audit", "trigger", name, "err", err)
		}
	}
	if c.Observer != nil {
		c.Observer.ObserveHook(name, http.StatusTooManyRequests, d)
	}
	c.Logger.Info("hook rejected", "trigger", name, "status", http.StatusTooManyRequests, "err", "visitor rate limit exceeded", "remote", r.RemoteAddr)
}

// KindState is the kind of a stream event that reports a change of the
// conversation's owner made without a reply to the visitor (a claim, a
// resolution, a hand-back): the page's status line follows it.
const KindState = "state"

// PublishState streams a committed change of a conversation's state to the
// visitor's open pages, if the conversation is a chat of this Chat's
// triggers. For a claim the new owner's name comes with it. It never
// waits (sqlite.Store.OnTransition calls it on the writer goroutine).
func (c *Chat) PublishState(t bot.Transition) {
	name, _, ok := strings.Cut(t.ConversationKey, "/")
	if !ok || c.Hub == nil {
		return
	}
	if _, ok := c.sessions(name); !ok {
		return
	}
	ev := Event{
		ID:     "state:" + strconv.FormatInt(t.At.UnixNano(), 10) + ":" + string(t.To),
		Author: bot.ActorSystem, Kind: KindState, State: t.To, At: t.At.Truncate(time.Millisecond),
	}
	if t.To == bot.StateAgent {
		ev.AgentName = t.Actor
	}
	c.Hub.Publish(t.ConversationKey, ev)
}

// holder is the name of the agent who holds a conversation in state
// agent, for the page's status line ("" otherwise, or when unknown).
func (c *Chat) holder(ctx context.Context, key string, st bot.State) string {
	if st != bot.StateAgent {
		return ""
	}
	e, err := c.Store.LatestEscalation(ctx, key)
	if err != nil {
		if !errors.Is(err, bot.ErrNotFound) {
			c.Logger.Error("chat holder", "conversation", key, "err", err)
		}
		return ""
	}
	return e.ClaimedBy
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
