package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/ratelimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is the part of the store the pages read and change.
type Store interface {
	// ListConversations returns conversations matching f, most recently
	// updated first.
	ListConversations(ctx context.Context, f bot.ConversationFilter) ([]*bot.Conversation, error)
	// Conversation returns one conversation, or an error wrapping
	// bot.ErrNotFound.
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	Messages(ctx context.Context, key string) ([]bot.Message, error)
	Transitions(ctx context.Context, key string) ([]bot.Transition, error)
	Replies(ctx context.Context, key string) ([]bot.StoredReply, error)
	// ListJobs returns jobs in a state, newest first.
	ListJobs(ctx context.Context, f bot.JobFilter) ([]*bot.Job, error)
	// ReplayJob re-queues a dead letter; an error wrapping bot.ErrNotFound
	// when no discarded job has the id.
	ReplayJob(ctx context.Context, id int64) error
	// ListEscalations returns up to n escalations with a status ("" for all).
	ListEscalations(ctx context.Context, status string, n int) ([]bot.StoredEscalation, error)
	// ChangeState claims, resolves, hands back or escalates a conversation
	// by the rules of bot.StateChange: an error wrapping bot.ErrConflict
	// when the move is not allowed, a *bot.ClaimError naming the holder
	// when another agent has claimed it.
	ChangeState(ctx context.Context, sc bot.StateChange) (*bot.Conversation, error)
	// AgentReply queues an agent's reply with the rules of a Slack thread
	// reply (see bot.AgentReply).
	AgentReply(ctx context.Context, a bot.AgentReply) (bot.AgentReplyResult, error)
	// LatestEscalation returns the conversation's last escalation, or an
	// error wrapping bot.ErrNotFound.
	LatestEscalation(ctx context.Context, key string) (bot.StoredEscalation, error)
	// Rating returns the customer's rating of the conversation, or an
	// error wrapping bot.ErrNotFound.
	Rating(ctx context.Context, key string) (bot.Rating, error)
}

// Bucket counts what happened in one interval of the overview's charts.
type Bucket struct {
	Start               time.Time
	Accepted, Rejected  int64 // intake requests: new events, refused requests
	Answered, Escalated int64 // the bot's decisions on customer turns
}

// Counts is a snapshot of the overview's numbers.
type Counts struct {
	Bot, Escalated, Agent, Resolved     int64 // conversations by state
	OpenEscalations, ClaimedEscalations int64
	DeadLetters, Queued                 int64
}

// Stats are the aggregate queries behind the overview.
type Stats interface {
	// Activity returns n consecutive buckets of length step from since,
	// every one present.
	Activity(ctx context.Context, since time.Time, step time.Duration, n int) ([]Bucket, error)
	Counts(ctx context.Context) (Counts, error)
	// Ratings counts the customers' ratings given since a time, by score
	// (index 0 for a score of 1).
	Ratings(ctx context.Context, since time.Time) ([5]int64, error)
}

// Trigger is a webhook trigger as the triggers page shows it: never with a
// secret.
type Trigger struct {
	Name string
	Kind string
	// Source is "config" (config.yaml) or "runtime" (made through the API).
	Source    string
	ReplyKind string
	// ReplyTarget is where replies go (a URL without credentials or query).
	ReplyTarget string
	CreatedAt   time.Time
	// PreviousSecretUntil is when a rotated secret stops verifying.
	PreviousSecretUntil time.Time
}

// Dashboard serves the pages under /admin.
type Dashboard struct {
	Store Store
	Stats Stats
	// FAQ, when set, adds "Send FAQ answer" to conversations people own:
	// the entries their escalation considered, answered from the live
	// knowledge base, the customer's question learned from the choice.
	FAQ bot.FAQLearner
	// TriggersFunc lists the configured and run-time triggers.
	TriggersFunc func(ctx context.Context) ([]Trigger, error)
	// Token is server.admin_token; empty turns the pages off (404).
	Token string
	// PublicURL is server.public_url: hook URLs on the triggers page, and
	// an https URL marks cookies Secure.
	PublicURL string
	// SessionTTL is how long a login lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// LoginLimit bounds sign-in attempts per client address (default
	// DefaultLoginLimit): guessing the token gets 429 with Retry-After.
	LoginLimit ratelimit.Config
	Now        func() time.Time
	Logger     *slog.Logger

	sessions *sessions
	logins   *ratelimit.Limiter
}

// DefaultLoginLimit allows 10 sign-in attempts at once per address, then
// one every 6 seconds.
var DefaultLoginLimit = ratelimit.Config{Rate: 1.0 / 6, Burst: 10}

var pages = parsePages()

// parsePages parses each page together with the shared layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"convURL":  convURL,
		"laneConv": laneConversation,
		"ts":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct":      pct,
		"states": func() []bot.State {
			return []bot.State{bot.StateBot, bot.StateEscalated, bot.StateAgent, bot.StateResolved}
		},
		"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	}
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

// Handler returns the pages' routes. With an empty Token every request is
// answered 404.
func (d *Dashboard) Handler() http.Handler {
	if d.Token == "" {
		return http.NotFoundHandler()
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.SessionTTL = cmp.Or(d.SessionTTL, DefaultSessionTTL)
	d.sessions = newSessions()
	limit := d.LoginLimit
	if limit.Rate <= 0 {
		limit = DefaultLoginLimit
	}
	d.logins = ratelimit.NewLimiter(ratelimit.Config{}, limit)

	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /admin/login", d.loginForm)
	mux.HandleFunc("POST /admin/login", d.login)
	mux.Handle("POST /admin/logout", d.protect(d.logout))
	mux.Handle("GET /admin/{$}", d.protect(d.overview))
	mux.Handle("GET /admin/conversations", d.protect(d.conversations))
	mux.Handle("GET /admin/conversations/{key...}", d.protect(d.conversation))
	mux.Handle("POST /admin/conversations/{key...}", d.protect(d.postConversation))
	mux.Handle("GET /admin/dead-letters", d.protect(d.deadLetters))
	mux.Handle("POST /admin/dead-letters/{id}/replay", d.protect(d.replay))
	mux.Handle("GET /admin/triggers", d.protect(d.triggers))
	mux.Handle("/admin/", d.protect(func(w http.ResponseWriter, r *http.Request, _ auth) {
		d.fail(w, r, auth{}, bot.ErrNotFound)
	}))
	// Browsers say where a request comes from (Sec-Fetch-Site, Origin);
	// cross-origin state changes are refused before any handler runs. The
	// CSRF token covers browsers that send neither header.
	return headers(http.NewCrossOriginProtection().Handler(mux))
}

// headers sets the headers every dashboard response carries. The
// Content-Security-Policy is set per page by render (it holds a nonce).
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp(""))
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// cacheFor serves the embedded files (never a directory listing) with a
// short cache lifetime.
func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// csp is the pages' Content-Security-Policy: nothing loads but this
// origin's stylesheet and images, and scripts only with the response's
// nonce (none when nonce is empty).
func csp(nonce string) string {
	script := "'none'"
	if nonce != "" {
		script = "'nonce-" + nonce + "'"
	}
	return "default-src 'none'; script-src " + script + "; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// auth is how a request was authenticated.
type auth struct {
	sessionID string
	session   *session // nil for a bearer token
	bearer    bool
}

func (a auth) ok() bool { return a.session != nil || a.bearer }

// csrf is the token a page's forms carry ("" for bearer requests, which
// need none: a browser never adds the header on its own).
func (a auth) csrf() string {
	if a.session == nil {
		return ""
	}
	return a.session.csrf
}

// authenticate reads a bearer token or the session cookie. A wrong bearer
// token is reported as such (bad), not as a missing login.
func (d *Dashboard) authenticate(r *http.Request) (a auth, bad bool) {
	// Only a bearer token is ours to check: another scheme (a proxy's
	// Basic auth in front of /admin) leaves the session cookie to decide.
	if scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		if !tokenEqual(strings.TrimSpace(got), d.Token) {
			return auth{}, true
		}
		return auth{bearer: true}, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return auth{}, false
	}
	id, sess, ok := d.sessions.lookup(c.Value, d.Now())
	if !ok {
		return auth{}, false
	}
	return auth{sessionID: id, session: sess}, false
}

// protect serves h only to an authenticated request: without a login a
// GET is sent to the login form and anything else gets 401. A POST from a
// session must carry the session's CSRF token (403 otherwise).
func (d *Dashboard) protect(h func(http.ResponseWriter, *http.Request, auth)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, bad := d.authenticate(r)
		switch {
		case bad:
			w.Header().Set("WWW-Authenticate", `Bearer realm="supportbot admin"`)
			http.Error(w, "wrong admin token", http.StatusUnauthorized)
			return
		case !a.ok() && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case !a.ok():
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if a.session != nil && !tokenEqual(r.PostForm.Get(csrfField), a.session.csrf) {
				http.Error(w, "missing or wrong CSRF token; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r, a)
	})
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string // the highlighted menu entry
	Nonce string
	CSRF  string
	// LoggedIn shows the menu; Session adds the logout button.
	LoggedIn, Session bool
	Flash, Error      string
	Data              any
}

// render writes a page with a fresh script nonce in its CSP.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, a auth, p page) {
	p.Nonce = randomToken(18)
	p.CSRF, p.LoggedIn, p.Session = a.csrf(), a.ok(), a.session != nil
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		d.Logger.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp(p.Nonce))
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the one page each error class maps to; only internal
// errors are logged, and their text is never shown.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, a auth, err error) {
	var ve *bot.ValidationError
	status, msg := http.StatusInternalServerError, "Something went wrong; the log has the details."
	switch {
	case errors.As(err, &ve):
		status, msg = http.StatusBadRequest, ve.Error()
	case errors.Is(err, bot.ErrNotFound):
		status, msg = http.StatusNotFound, "Not found."
	case errors.Is(err, bot.ErrConflict):
		status, msg = http.StatusConflict, "That change is not possible in the conversation's current state."
	default:
		d.Logger.Error("dashboard", "path", r.URL.Path, "err", err)
	}
	d.render(w, r, status, "error", a, page{Title: http.StatusText(status), Error: msg})
}

// convURL is the page of a conversation. Keys hold the source's id, which
// may contain anything, so the key is one escaped path segment.
func convURL(key string) string { return "/admin/conversations/" + url.PathEscape(key) }

// laneConversation is the conversation key of a job's queue key
// ("chat/c-1#out" → "chat/c-1"), or "" for a queue key without a lane.
func laneConversation(queueKey string) string {
	i := strings.LastIndexByte(queueKey, '#')
	if i <= 0 || !strings.Contains(queueKey[:i], "/") {
		return ""
	}
	return queueKey[:i]
}

func pct(num, den int64) string {
	if den == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(num)/float64(den), 'f', 0, 64) + "%"
}

// safeNext returns target when it is a path inside the dashboard, else the
// overview: the login form must not redirect anywhere else.
func safeNext(target string) string {
	u, err := url.Parse(target)
	if err == nil && u.Path != "" {
		// Dot segments would leave /admin once the redirect is followed.
		clean := path.Clean(u.Path)
		if strings.HasSuffix(u.Path, "/") && clean != "/" {
			clean += "/"
		}
		u.Path, u.RawPath = clean, ""
	}
	if err != nil || target == "" || u.IsAbs() || u.Host != "" || strings.HasPrefix(target, "//") ||
		strings.ContainsAny(target, "\\\r\n") || (u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/")) ||
		strings.HasPrefix(u.Path, "/admin/login") {
		return "/admin/"
	}
	return u.RequestURI()
}
