package webchat_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/triggers/web"
)

// TestEventsURLTokenIsShortLived: the token in the events URL (which proxies
// log) used to be the 30-day session token; now the URL takes only a stream
// token, valid minutes, which the page renews with its session.
func TestEventsURLTokenIsShortLived(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	if status, _ := tb.getStatus(t, tb.srv.URL+"/chat/site/events?visitor="+s.VisitorID+"&token="+s.Token); status != http.StatusUnauthorized {
		t.Fatalf("events with the session token in the URL = %d, want 401", status)
	}
	now := time.Now()
	tok, exp := tb.trigger.IssueStream(s.VisitorID, now)
	if d := exp.Sub(now); d > web.DefaultStreamTTL+time.Second || d < web.DefaultStreamTTL-time.Second {
		t.Fatalf("stream token valid for %s, want %s", d, web.DefaultStreamTTL)
	}
	if err := tb.trigger.CheckStreamToken(s.VisitorID, tok, now.Add(web.DefaultStreamTTL+time.Second)); err == nil {
		t.Fatal("stream token accepted after its lifetime")
	}
	if err := tb.trigger.CheckToken(s.VisitorID, tok, now); err == nil {
		t.Fatal("a stream token accepted as a session token")
	}
	// Renewed over the authenticated POST: the same visitor, a new stream token.
	resp, again := tb.postSession(t, `{"visitor_id":"`+s.VisitorID+`","token":"`+s.Token+`"}`, nil)
	if resp.StatusCode != http.StatusOK || again.VisitorID != s.VisitorID || again.StreamToken == "" {
		t.Fatalf("renewal = %d %+v", resp.StatusCode, again)
	}
	tb.openStream(t, eventsURL(tb, again), "")
}

// TestSignOutRevokes: signing out ends the session on the server: its
// tokens are refused though unexpired, its open stream ends, and resuming
// starts a new visitor.
func TestSignOutRevokes(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	st := tb.openStream(t, eventsURL(tb, s), "")
	st.next(t)
	req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat/site/signout", nil)
	req.Header.Set(web.VisitorHeader, s.VisitorID)
	req.Header.Set(web.TokenHeader, s.Token)
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out = %d, want 204", resp.StatusCode)
	}
	st.ended(t)
	if status, _ := tb.getStatus(t, eventsURL(tb, s)); status != http.StatusUnauthorized {
		t.Fatalf("events after sign-out = %d, want 401", status)
	}
	if resp, _ := tb.say(t, s, "m-1", "hello again"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("message after sign-out = %d, want 401", resp.StatusCode)
	}
	_, again := tb.postSession(t, `{"visitor_id":"`+s.VisitorID+`","token":"`+s.Token+`"}`, nil)
	if again.VisitorID == "" || again.VisitorID == s.VisitorID {
		t.Fatalf("resume after sign-out gave visitor %q, want a new one", again.VisitorID)
	}
	revoked, err := tb.store.VisitorRevoked(context.Background(), "site/"+s.VisitorID)
	if err != nil || !revoked {
		t.Fatalf("VisitorRevoked = %v, %v", revoked, err)
	}
}

// TestHostCookieOverHTTPS: over HTTPS the session cookie is a __Host-
// cookie (Secure, no Domain, path /), which a sibling subdomain cannot set,
// so a planted cookie cannot join a visitor to someone else's conversation.
func TestHostCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) { c.SecureCookies = true })
	resp, s := tb.postSession(t, `{}`, nil)
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-sb_chat_site" {
			ck = c
		}
	}
	if ck == nil || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly {
		t.Fatalf("session cookie = %+v, want __Host-sb_chat_site, Secure, HttpOnly, Path=/, no Domain", ck)
	}
	// A cookie without the prefix (planted from a sibling) is not read.
	req, _ := http.NewRequest(http.MethodGet, tb.srv.URL+"/chat/site/events", nil)
	req.AddCookie(&http.Cookie{Name: "sb_chat_site", Value: s.VisitorID + "~" + s.Token})
	r, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events with an unprefixed cookie = %d, want 401", r.StatusCode)
	}
}
