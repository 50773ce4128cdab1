package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// dashClient keeps no cookies of its own and does not follow redirects.
var dashClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func dashDo(t *testing.T, method, u string, form url.Values, cookies []*http.Cookie, bearer string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := dashClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var dashCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formToken(t *testing.T, body string) string {
	t.Helper()
	m := dashCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in:\n%s", body)
	}
	return m[1]
}

// TestDashboardHTTP: the pages' access rules over plain HTTP against the
// real service: no session redirects (GET) or is refused (POST), a wrong
// token does not sign in, a POST without the session's CSRF token is
// refused, the JSON API beside it still answers, and no secret reaches the
// triggers page.
func TestDashboardHTTP(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "dash-admin-t0ken"
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()

	for _, p := range []string{"/admin", "/admin/", "/admin/dead-letters", "/admin/triggers"} {
		resp, _ := dashDo(t, "GET", base+p, nil, nil, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s without a session = %d, want 303", p, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); p != "/admin" && !strings.HasPrefix(loc, "/admin/login?next=") {
			t.Fatalf("GET %s without a session redirects to %q, want the login", p, loc)
		}
	}
	if resp, _ := dashDo(t, "POST", base+"/admin/dead-letters/1/replay", url.Values{}, nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST replay without a session = %d, want 401", resp.StatusCode)
	}

	resp, body := dashDo(t, "GET", base+"/admin/login", nil, nil, "")
	loginCookies := resp.Cookies()
	if resp.StatusCode != http.StatusOK || len(loginCookies) == 0 {
		t.Fatalf("login form = %d with %d cookies", resp.StatusCode, len(loginCookies))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "'nonce-") {
		t.Fatalf("login page CSP = %q", csp)
	}
	loginCSRF := formToken(t, body)
	if resp, _ := dashDo(t, "POST", base+"/admin/login", url.Values{"token": {cfg.Server.AdminToken}}, loginCookies, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the CSRF field = %d, want 403", resp.StatusCode)
	}
	resp, _ = dashDo(t, "POST", base+"/admin/login", url.Values{"token": {"wrong"}, "csrf": {loginCSRF}}, loginCookies, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token = %d, want 401", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "supportbot_admin" && c.Value != "" {
			t.Fatal("a wrong token got a session cookie")
		}
	}
	resp, _ = dashDo(t, "POST", base+"/admin/login", url.Values{"token": {cfg.Server.AdminToken}, "csrf": {loginCSRF}}, loginCookies, "")
	var session []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "supportbot_admin" {
			session = append(session, c)
		}
	}
	if resp.StatusCode != http.StatusSeeOther || len(session) != 1 {
		t.Fatalf("login = %d with session cookies %v", resp.StatusCode, session)
	}

	_, page := dashDo(t, "GET", base+"/admin/dead-letters", nil, session, "")
	csrf := formToken(t, page)
	if resp, _ := dashDo(t, "POST", base+"/admin/dead-letters/1/replay", url.Values{}, session, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay without the CSRF field = %d, want 403", resp.StatusCode)
	}
	if resp, _ := dashDo(t, "POST", base+"/admin/dead-letters/1/replay", url.Values{"csrf": {"wrong"}}, session, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay with a wrong CSRF field = %d, want 403", resp.StatusCode)
	}
	if resp, _ := dashDo(t, "POST", base+"/admin/dead-letters/1/replay", url.Values{"csrf": {csrf}}, session, ""); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/admin/dead-letters?err=gone" {
		t.Fatalf("replay of a job that is not a dead letter = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The JSON API is still its own, behind the bearer token.
	if s, _ := adminDo(t, "GET", base+"/admin/api/conversations", cfg.Server.AdminToken, ""); s != http.StatusOK {
		t.Fatalf("admin API with the dashboard mounted = %d", s)
	}
	if s, _ := adminDo(t, "GET", base+"/admin/api/conversations", "", ""); s != http.StatusUnauthorized {
		t.Fatalf("admin API without the token = %d, want 401", s)
	}
	// A run-time trigger's secrets, like the configured ones, stay off the
	// triggers page.
	s, created := adminDo(t, "POST", base+"/admin/api/triggers", cfg.Server.AdminToken, `{"reply":{"kind":"webhook","url":"`+rc.URL+`/rt?key=hidden"}}`)
	if s != http.StatusCreated {
		t.Fatalf("create run-time trigger = %d %v", s, created)
	}
	_, page = dashDo(t, "GET", base+"/admin/triggers", nil, nil, cfg.Server.AdminToken)
	if !strings.Contains(page, `data-trigger="chat"`) || !strings.Contains(page, `data-trigger="`+created["name"].(string)+`"`) {
		t.Fatalf("triggers page lacks a trigger:\n%s", page)
	}
	for _, secret := range []string{testSecret, testOutSecret, created["secret"].(string), created["reply_secret"].(string), "key=hidden", cfg.Server.AdminToken} {
		if strings.Contains(page, secret) {
			t.Fatalf("triggers page shows a secret (%q)", secret)
		}
	}
}

// TestDashboardOffWithoutToken: with server.admin_token empty the pages
// are not served.
func TestDashboardOffWithoutToken(t *testing.T) {
	rc := newReceiver(t)
	m := mustOpenMain(t, testConfig(t, rc.URL))
	for _, p := range []string{"/admin", "/admin/", "/admin/login"} {
		if resp, _ := dashDo(t, "GET", m.Server.URL()+p, nil, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s with no admin token = %d, want 404", p, resp.StatusCode)
		}
	}
}
