package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/dashboard"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/triggers"
)

const token = "dash-s3cret-token"

// stats adapts the SQLite store's aggregate queries to the dashboard's
// types, as the binary's wiring does.
type stats struct{ s *sqlite.Store }

func (st stats) Activity(ctx context.Context, since time.Time, step time.Duration, n int) ([]dashboard.Bucket, error) {
	list, err := st.s.Activity(ctx, since, step, n)
	out := make([]dashboard.Bucket, len(list))
	for i, b := range list {
		out[i] = dashboard.Bucket(b)
	}
	return out, err
}

func (st stats) Counts(ctx context.Context) (dashboard.Counts, error) {
	c, err := st.s.DashboardCounts(ctx)
	return dashboard.Counts(c), err
}

func (st stats) Ratings(ctx context.Context, since time.Time) ([5]int64, error) {
	return st.s.RatingsSince(ctx, since)
}

type testBundle struct {
	store *sqlite.Store
	dash  *dashboard.Dashboard
	srv   *httptest.Server
	now   *atomic.Int64 // the dashboard's clock, unix ms
}

func setup(t *testing.T, mutate func(*dashboard.Dashboard)) *testBundle {
	t.Helper()
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tb := &testBundle{store: s, now: &atomic.Int64{}}
	tb.now.Store(time.Now().UnixMilli())
	tb.dash = &dashboard.Dashboard{
		Store: s, Stats: stats{s}, Token: token, PublicURL: "http://localhost:8080",
		Now:    func() time.Time { return time.UnixMilli(tb.now.Load()) },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		TriggersFunc: func(context.Context) ([]dashboard.Trigger, error) {
			return []dashboard.Trigger{{Name: "chat", Kind: "standard", Source: "config", ReplyKind: "webhook", ReplyTarget: "https://example.com/replies"}}, nil
		},
	}
	if mutate != nil {
		mutate(tb.dash)
	}
	tb.srv = httptest.NewServer(tb.dash.Handler())
	t.Cleanup(tb.srv.Close)
	return tb
}

// client is a browser-like client that keeps cookies and does not follow
// redirects, so tests see them.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) result {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", body)
	}
	return m[1]
}

// login signs c in through the form and returns the session's CSRF token.
func login(t *testing.T, tb *testBundle, c *http.Client) string {
	t.Helper()
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	if form.status != http.StatusOK {
		t.Fatalf("GET login = %d", form.status)
	}
	r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}, "next": {"/admin/"}}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/" {
		t.Fatalf("login = %d to %q, want 303 to /admin/", r.status, r.header.Get("Location"))
	}
	home := do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil)
	if home.status != http.StatusOK {
		t.Fatalf("overview after login = %d", home.status)
	}
	return csrfOf(t, home.body)
}

// customerWrites stores a customer message in its conversation as the
// process job does, and returns the inbound record.
func customerWrites(t *testing.T, s *sqlite.Store, conv, id, subject, text string) *bot.Inbound {
	t.Helper()
	ctx := context.Background()
	rc, err := s.Ingest(ctx, bot.Event{
		Trigger: "chat", ID: id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv, Subject: subject},
		Customer:     bot.Customer{ID: "u-1", Name: "Ada", Email: "ada@example.com"},
		Message:      bot.MessageRef{ID: id, Text: text},
		ReceivedAt:   time.Now().UTC(),
	}, bot.IngestOptions{Audit: &bot.AuditEntry{At: time.Now(), Trigger: "chat", Status: 202, EventID: id}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := sqlite.ParseEventRef(rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.RecordInbound(ctx, inbox, 0)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func escalate(t *testing.T, s *sqlite.Store, in *bot.Inbound) {
	t.Helper()
	key := in.Conversation.Key
	if err := s.ApplyDecision(context.Background(), bot.Outcome{
		ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision:   bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested},
		Escalation: &bot.Escalation{ConversationKey: key, Reason: bot.ReasonHumanRequested, Customer: in.Conversation.Customer},
		Replies:    []bot.Reply{{ID: "r-" + key, ConversationKey: key, Kind: bot.ReplyHandoff, Author: bot.AuthorBot, Text: "A person will reply.", State: bot.StateEscalated}},
	}); err != nil {
		t.Fatal(err)
	}
}

// deadLetter discards every job due now and returns their ids.
func deadLetter(t *testing.T, s *sqlite.Store) []int64 {
	t.Helper()
	ctx := context.Background()
	jobs, err := s.ClaimJobs(ctx, 100, time.Minute)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("claim = %d jobs, %v", len(jobs), err)
	}
	var ids []int64
	for _, j := range jobs {
		if err := s.DiscardJob(ctx, j.ID, "deliver: 410 Gone <b>from upstream</b>"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

func TestOffWithoutToken(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(d *dashboard.Dashboard) { d.Token = "" })
	for _, p := range []string{"/admin/", "/admin/login", "/admin/static/style.css"} {
		if r := do(t, client(t), "GET", tb.srv.URL+p, nil, nil); r.status != http.StatusNotFound {
			t.Fatalf("GET %s with no token configured = %d, want 404", p, r.status)
		}
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	for _, p := range []string{"/admin/", "/admin/conversations?q=x", "/admin/conversations/chat/c-1", "/admin/dead-letters", "/admin/triggers", "/admin/nope"} {
		r := do(t, c, "GET", tb.srv.URL+p, nil, nil)
		if want := "/admin/login?next=" + url.QueryEscape(p); r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Fatalf("GET %s without a session = %d to %q, want 303 to %q", p, r.status, r.header.Get("Location"), want)
		}
	}
	for _, p := range []string{"/admin/dead-letters/1/replay", "/admin/conversations/chat/c-1", "/admin/logout"} {
		if r := do(t, c, "POST", tb.srv.URL+p, url.Values{"csrf": {"x"}}, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("POST %s without a session = %d, want 401", p, r.status)
		}
	}
	// API-style checks: the bearer token works, a wrong one is refused
	// (401, not a redirect), even on a GET.
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, map[string]string{"Authorization": "Bearer " + token}); r.status != http.StatusOK {
		t.Fatalf("GET with the bearer token = %d, want 200", r.status)
	}
	for _, h := range []string{"Bearer wrong", "Bearer "} {
		if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, map[string]string{"Authorization": h}); r.status != http.StatusUnauthorized {
			t.Fatalf("GET with Authorization %q = %d, want 401", h, r.status)
		}
	}
	// Another scheme is not ours (a proxy's Basic auth): without a session
	// it is sent to the login like any visitor.
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, map[string]string{"Authorization": "Basic " + token}); r.status != http.StatusSeeOther {
		t.Fatalf("GET with Basic auth and no session = %d, want a redirect to the login", r.status)
	}
	// The stylesheet and script load without a session (the login page
	// needs them) and hold nothing private.
	if r := do(t, c, "GET", tb.srv.URL+"/admin/static/dashboard.js", nil, nil); r.status != http.StatusOK {
		t.Fatalf("static script = %d", r.status)
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/static/", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("static directory = %d, want 404 (no listing)", r.status)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	form := do(t, c, "GET", tb.srv.URL+"/admin/login?next=/admin/dead-letters", nil, nil)
	loginCSRF := csrfOf(t, form.body)

	post := func(v url.Values) result { return do(t, c, "POST", tb.srv.URL+"/admin/login", v, nil) }
	if r := post(url.Values{"token": {token}}); r.status != http.StatusForbidden {
		t.Fatalf("login without the CSRF field = %d, want 403", r.status)
	}
	if r := post(url.Values{"token": {token}, "csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("login with a wrong CSRF field = %d, want 403", r.status)
	}
	r := post(url.Values{"token": {"not-the-token"}, "csrf": {loginCSRF}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong admin token") {
		t.Fatalf("wrong token = %d, want 401 with a message", r.status)
	}
	for _, ck := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(ck, dashboard.SessionCookie+"=") {
			t.Fatalf("a wrong token set a session cookie: %s", ck)
		}
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("overview after a failed login = %d, want a redirect to the login", r.status)
	}

	// The failed attempt re-rendered the form with a new login token.
	r = post(url.Values{"token": {token}, "csrf": {csrfOf(t, r.body)}, "next": {"/admin/dead-letters"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/dead-letters" {
		t.Fatalf("login = %d to %q, want 303 to /admin/dead-letters", r.status, r.header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == dashboard.SessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after login")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/admin" || session.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/admin, not Secure over http", session)
	}
	if strings.Contains(session.Value, token) {
		t.Fatal("the session cookie holds the admin token")
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/dead-letters", nil, nil); r.status != http.StatusOK {
		t.Fatalf("dead letters after login = %d", r.status)
	}

	// A tampered cookie is no session.
	forged := client(t)
	u, _ := url.Parse(tb.srv.URL + "/admin/")
	v := []byte(session.Value)
	v[0] ^= 1
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: dashboard.SessionCookie, Value: string(v), Path: "/admin"}})
	if r := do(t, forged, "GET", tb.srv.URL+"/admin/", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("tampered session cookie = %d, want a redirect to the login", r.status)
	}

	// The session ends when it expires.
	tb.now.Add((dashboard.DefaultSessionTTL + time.Minute).Milliseconds())
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("expired session = %d, want a redirect to the login", r.status)
	}
}

// TestLoginRateLimited: guessing the token from one address runs into 429
// with Retry-After once the burst is spent; the right token too.
func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	tok := csrfOf(t, form.body)
	for i := range dashboard.DefaultLoginLimit.Burst {
		r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"token": {"guess"}, "csrf": {tok}}, nil)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, r.status)
		}
		tok = csrfOf(t, r.body)
	}
	r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"token": {token}, "csrf": {tok}}, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("attempt past the burst = %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(d *dashboard.Dashboard) { d.PublicURL = "https://support.example.com" })
	c := client(t)
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	// The jar would not send a Secure cookie over http: post the form's
	// token in the cookie by hand.
	req, _ := http.NewRequest("POST", tb.srv.URL+"/admin/login", strings.NewReader(url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range (&http.Response{Header: form.header}).Cookies() {
		if !ck.Secure {
			t.Fatalf("login CSRF cookie %s not Secure although public_url is https", ck.Name)
		}
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	found := false
	for _, ck := range resp.Cookies() {
		if ck.Name == dashboard.SessionCookie {
			found = true
			if !ck.Secure {
				t.Fatal("session cookie not Secure although public_url is https")
			}
		}
	}
	if resp.StatusCode != http.StatusSeeOther || !found {
		t.Fatalf("login = %d, session cookie set: %v", resp.StatusCode, found)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	in := customerWrites(t, tb.store, "c-1", "e-1", "Help", "human please")
	escalate(t, tb.store, in)
	ids := deadLetter(t, tb.store)
	c := client(t)
	csrf := login(t, tb, c)
	replay := tb.srv.URL + "/admin/dead-letters/" + itoa(ids[0]) + "/replay"

	if r := do(t, c, "POST", replay, url.Values{}, nil); r.status != http.StatusForbidden {
		t.Fatalf("replay without the CSRF field = %d, want 403", r.status)
	}
	if r := do(t, c, "POST", replay, url.Values{"csrf": {csrf + "x"}}, nil); r.status != http.StatusForbidden {
		t.Fatalf("replay with a wrong CSRF field = %d, want 403", r.status)
	}
	// Another session's token is wrong for this one.
	other := login(t, tb, client(t))
	if r := do(t, c, "POST", replay, url.Values{"csrf": {other}}, nil); r.status != http.StatusForbidden {
		t.Fatalf("replay with another session's CSRF token = %d, want 403", r.status)
	}
	// A cross-site browser request is refused even with the right token.
	if r := do(t, c, "POST", replay, url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != http.StatusForbidden {
		t.Fatalf("cross-site replay = %d, want 403", r.status)
	}
	if r := do(t, c, "POST", replay, url.Values{"csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}); r.status != http.StatusForbidden {
		t.Fatalf("replay from another origin = %d, want 403", r.status)
	}
	if j, err := tb.store.Job(context.Background(), ids[0]); err != nil || j.State != bot.JobDiscarded {
		t.Fatalf("after refused replays the job is %v (%v), want still discarded", j, err)
	}
	if r := do(t, c, "POST", replay, url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); r.status != http.StatusSeeOther {
		t.Fatalf("replay = %d, want 303", r.status)
	}
	if j, err := tb.store.Job(context.Background(), ids[0]); err != nil || j.State != bot.JobQueued {
		t.Fatalf("after the replay the job is %v (%v), want queued", j, err)
	}

	// Logging out needs the token too, and ends the session.
	if r := do(t, c, "POST", tb.srv.URL+"/admin/logout", url.Values{}, nil); r.status != http.StatusForbidden {
		t.Fatalf("logout without the CSRF field = %d, want 403", r.status)
	}
	if r := do(t, c, "POST", tb.srv.URL+"/admin/logout", url.Values{"csrf": {csrf}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout = %d, want 303", r.status)
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("overview after logout = %d, want a redirect to the login", r.status)
	}
}

func TestReplayAndDeadLetterList(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	escalate(t, tb.store, customerWrites(t, tb.store, "c-1", "e-1", "Help", "human please"))
	ids := deadLetter(t, tb.store)
	c := client(t)
	csrf := login(t, tb, c)

	list := do(t, c, "GET", tb.srv.URL+"/admin/dead-letters", nil, nil)
	for _, id := range ids {
		if !strings.Contains(list.body, `id="job-`+itoa(id)+`"`) {
			t.Fatalf("dead letter %d not listed", id)
		}
	}
	if strings.Contains(list.body, "<b>from upstream</b>") || !strings.Contains(list.body, "&lt;b&gt;from upstream&lt;/b&gt;") {
		t.Fatal("last_error is not escaped")
	}
	r := do(t, c, "POST", tb.srv.URL+"/admin/dead-letters/"+itoa(ids[0])+"/replay", url.Values{"csrf": {csrf}}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/dead-letters?ok=replayed" {
		t.Fatalf("replay = %d to %q", r.status, r.header.Get("Location"))
	}
	list = do(t, c, "GET", tb.srv.URL+r.header.Get("Location"), nil, nil)
	if strings.Contains(list.body, `id="job-`+itoa(ids[0])+`"`) || !strings.Contains(list.body, "Job queued again.") {
		t.Fatalf("after the replay the job is still listed, or no confirmation:\n%s", list.body)
	}
	r = do(t, c, "POST", tb.srv.URL+"/admin/dead-letters/"+itoa(ids[0])+"/replay", url.Values{"csrf": {csrf}}, nil)
	if r.header.Get("Location") != "/admin/dead-letters?err=gone" {
		t.Fatalf("second replay = %d to %q, want a redirect saying it is gone", r.status, r.header.Get("Location"))
	}
	if r := do(t, c, "POST", tb.srv.URL+"/admin/dead-letters/abc/replay", url.Values{"csrf": {csrf}}, nil); r.status != http.StatusBadRequest {
		t.Fatalf("replay of a non-number = %d, want 400", r.status)
	}
	// A flash code that is not one of ours shows nothing.
	if r := do(t, c, "GET", tb.srv.URL+"/admin/dead-letters?ok=<i>pwned</i>&err=x", nil, nil); strings.Contains(r.body, "pwned") || strings.Contains(r.body, `id="flash"`) {
		t.Fatal("an unknown flash code reached the page")
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	conv := `weird id/../"quoted" ?q=1#frag`
	in := customerWrites(t, tb.store, conv, "e-evil", evil, evil)
	escalate(t, tb.store, in)
	c := client(t)
	login(t, tb, c)

	for _, p := range []string{"/admin/", "/admin/conversations", "/admin/conversations?q=" + url.QueryEscape(evil)} {
		r := do(t, c, "GET", tb.srv.URL+p, nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", p, r.status)
		}
		if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
			t.Fatalf("GET %s renders customer text as HTML", p)
		}
	}
	list := do(t, c, "GET", tb.srv.URL+"/admin/conversations", nil, nil)
	m := regexp.MustCompile(`<a href="(/admin/conversations/[^"]+)">`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no conversation link in:\n%s", list.body)
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	page := do(t, c, "GET", tb.srv.URL+link, nil, nil)
	if page.status != http.StatusOK {
		t.Fatalf("GET %s (the list's link to %q) = %d", link, in.Conversation.Key, page.status)
	}
	if !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(page.body, "<script>alert") {
		t.Fatal("the transcript does not show the script as text")
	}
	// Every script on the page carries the response's CSP nonce.
	cspHdr := page.header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(cspHdr)
	if nonce == nil || !strings.Contains(cspHdr, "default-src 'none'") || strings.Contains(cspHdr, "unsafe-inline") {
		t.Fatalf("CSP = %q, want default-src 'none' and a script nonce, no unsafe-inline", cspHdr)
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page.body, -1)
	if len(scripts) == 0 {
		t.Fatal("no script tag on the page")
	}
	for _, s := range scripts {
		if !strings.Contains(s, `nonce="`+nonce[1]+`"`) {
			t.Fatalf("script tag %s lacks the nonce %s", s, nonce[1])
		}
	}
	if got := page.header.Get("X-Frame-Options"); got != "DENY" {
		t.Fatalf("X-Frame-Options = %q, want DENY", got)
	}
}

func TestConversationActions(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	in := customerWrites(t, tb.store, "c-9", "e-9", "Refund", "I want a human")
	escalate(t, tb.store, in)
	key := in.Conversation.Key
	c := client(t)
	csrf := login(t, tb, c)
	convURL := tb.srv.URL + "/admin/conversations/" + url.PathEscape(key)

	page := do(t, c, "GET", convURL, nil, nil)
	for _, id := range []string{`id="action-resolve"`, `id="action-handback"`} {
		if !strings.Contains(page.body, id) {
			t.Fatalf("escalated conversation has no %s button", id)
		}
	}
	if strings.Contains(page.body, `id="action-escalate"`) {
		t.Fatal("an escalated conversation offers to escalate again")
	}
	if !strings.Contains(page.body, "human_requested") {
		t.Fatal("the transition's reason is not shown")
	}
	if r := do(t, c, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"fly"}}, nil); r.status != http.StatusBadRequest {
		t.Fatalf("unknown action = %d, want 400", r.status)
	}
	r := do(t, c, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"resolve"}, "reason": {"called back"}}, nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?ok=resolved") {
		t.Fatalf("resolve = %d to %q", r.status, r.header.Get("Location"))
	}
	conv, err := tb.store.Conversation(context.Background(), key)
	if err != nil || conv.State != bot.StateResolved {
		t.Fatalf("after resolve: %v, %v", conv, err)
	}
	trs, _ := tb.store.Transitions(context.Background(), key)
	if last := trs[len(trs)-1]; last.Actor != dashboard.Actor || last.Reason != "called back" {
		t.Fatalf("last transition = %+v, want by %s for the given reason", last, dashboard.Actor)
	}
	// Back to the agents' queue; a second click (a stale page) is a
	// conflict, reported on the page.
	r = do(t, c, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"escalate"}}, nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?ok=escalated") {
		t.Fatalf("escalate = %d to %q", r.status, r.header.Get("Location"))
	}
	if conv, err := tb.store.Conversation(context.Background(), key); err != nil || conv.State != bot.StateEscalated {
		t.Fatalf("after escalate: %v, %v", conv, err)
	}
	r = do(t, c, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"escalate"}}, nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?err=conflict") {
		t.Fatalf("escalate twice = %d to %q, want a redirect reporting a conflict", r.status, r.header.Get("Location"))
	}
	if page := do(t, c, "GET", tb.srv.URL+r.header.Get("Location"), nil, nil); !strings.Contains(page.body, "not possible in the conversation") {
		t.Fatal("the conflict is not shown on the page")
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/conversations/chat/nope", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown conversation = %d, want 404", r.status)
	}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/conversations?state=flying", nil, nil); r.status != http.StatusBadRequest {
		t.Fatalf("bad state filter = %d, want 400", r.status)
	}
}

func TestOverviewAndTriggers(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	escalate(t, tb.store, customerWrites(t, tb.store, "c-1", "e-1", "Locked out", "human please"))
	in := customerWrites(t, tb.store, "c-2", "e-2", "Password", "how do I reset my password")
	if err := tb.store.ApplyDecision(context.Background(), bot.Outcome{
		ConversationKey: in.Conversation.Key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer},
	}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	login(t, tb, c)
	for _, rng := range []string{"", "?range=24h", "?range=7d", "?range=bogus"} {
		r := do(t, c, "GET", tb.srv.URL+"/admin/"+rng, nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("overview%s = %d", rng, r.status)
		}
		for _, want := range []string{
			`id="open-escalations">1<`, `id="events">2<`, `id="answered">1<`, `id="escalated">1<`,
			`id="deflection">50%<`, `id="conversations-total">2<`, `data-key="chat/c-1"`, `<svg class="chart"`, `class="bar answered"`, `class="bar escalated"`,
		} {
			if !strings.Contains(r.body, want) {
				t.Fatalf("overview%s lacks %s", rng, want)
			}
		}
	}
	tr := do(t, c, "GET", tb.srv.URL+"/admin/triggers", nil, nil)
	if tr.status != http.StatusOK || !strings.Contains(tr.body, `data-trigger="chat"`) || !strings.Contains(tr.body, "http://localhost:8080/hooks/chat") {
		t.Fatalf("triggers page = %d:\n%s", tr.status, tr.body)
	}
}

// TestOtherAuthorizationKeepsSession: a proxy's Basic credentials in front
// of /admin do not override the operator's session.
func TestOtherAuthorizationKeepsSession(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	if r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("login = %d", r.status)
	}
	basic := map[string]string{"Authorization": "Basic cHJveHktdXNlcjpwcm94eS1wYXNz"}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, basic); r.status != http.StatusOK {
		t.Fatalf("overview with Basic auth beside the session = %d, want 200", r.status)
	}
	wrong := map[string]string{"Authorization": "Bearer not-the-token"}
	if r := do(t, c, "GET", tb.srv.URL+"/admin/", nil, wrong); r.status != http.StatusUnauthorized {
		t.Fatalf("a wrong bearer token beside the session = %d, want 401", r.status)
	}
}

func TestLoginRedirectStaysInside(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(d *dashboard.Dashboard) { d.LoginLimit = triggers.RateConfig{Rate: 100, Burst: 100} })
	for _, tc := range []struct{ next, want string }{
		{"/admin/dead-letters", "/admin/dead-letters"},
		{"/admin/conversations?q=a&state=bot", "/admin/conversations?q=a&state=bot"},
		{"https://evil.example/admin/", "/admin/"},
		{"//evil.example/admin/", "/admin/"},
		{"/\\evil.example", "/admin/"},
		{"/elsewhere", "/admin/"},
		{"/admin/../elsewhere", "/admin/"},
		{"/admin/%2e%2e/elsewhere", "/admin/"},
		{"/admin/./triggers", "/admin/triggers"},
		{"/admin/login", "/admin/"},
		{"javascript:alert(1)", "/admin/"},
		{"", "/admin/"},
	} {
		c := client(t)
		form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
		r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}, "next": {tc.next}}, nil)
		if got := r.header.Get("Location"); r.status != http.StatusSeeOther || got != tc.want {
			t.Errorf("next=%q: login = %d to %q, want 303 to %q", tc.next, r.status, got, tc.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
