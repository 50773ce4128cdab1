package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// loginAs signs c in with a display name and returns the CSRF token.
func loginAs(t *testing.T, tb *testBundle, c *http.Client, name string) string {
	t.Helper()
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	if !strings.Contains(form.body, `name="name"`) {
		t.Fatal("the sign-in form does not ask for a display name")
	}
	r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}, "name": {name}, "next": {"/admin/"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("login = %d %s", r.status, r.body)
	}
	return csrfOf(t, do(t, c, "GET", tb.srv.URL+"/admin/", nil, nil).body)
}

var replyKeyRE = regexp.MustCompile(`name="reply_key" value="([^"]+)"`)

func agentReplies(t *testing.T, tb *testBundle, key string) []bot.StoredReply {
	t.Helper()
	all, err := tb.store.Replies(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var out []bot.StoredReply
	for _, r := range all {
		if r.Kind == bot.ReplyAgent {
			out = append(out, r)
		}
	}
	return out
}

// TestReplyBox: an operator signed in as Grace answers an escalated
// customer from the conversation page: the reply is queued once as Grace's
// (a resubmitted form sends nothing twice) and claims the conversation.
func TestReplyBox(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	in := customerWrites(t, tb.store, "c-r", "e-r", "Billing", "I want a human")
	escalate(t, tb.store, in)
	key := in.Conversation.Key
	c := client(t)
	csrf := loginAs(t, tb, c, "Grace")
	page := do(t, c, "GET", tb.srv.URL+"/admin/conversations/"+url.PathEscape(key), nil, nil)
	for _, want := range []string{`id="reply-form"`, `id="action-claim"`, `id="action-resolve"`, `id="action-handback"`, `class="agent-name">Grace<`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("page lacks %s", want)
		}
	}
	m := replyKeyRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no reply key in the form")
	}
	form := url.Values{"csrf": {csrf}, "reply_key": {m[1]}, "agent": {"Grace"}, "text": {"Hello Ada, Grace here."}}
	convURL := tb.srv.URL + "/admin/conversations/" + url.PathEscape(key)
	action := convURL + "/replies"
	for range 2 {
		r := do(t, c, "POST", action, form, nil)
		if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?ok=replied") {
			t.Fatalf("reply = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
		}
	}
	got := agentReplies(t, tb, key)
	if len(got) != 1 || got[0].AgentName != "Grace" || got[0].Text != "Hello Ada, Grace here." || got[0].State != bot.StateAgent {
		t.Fatalf("agent replies = %+v, want one by Grace", got)
	}
	conv, _ := tb.store.Conversation(context.Background(), key)
	if conv.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent", conv.State)
	}
	trs, _ := tb.store.Transitions(context.Background(), key)
	if last := trs[len(trs)-1]; last.Actor != "Grace" || last.Reason != "answered on the dashboard" {
		t.Fatalf("last transition = %+v", last)
	}
	page = do(t, c, "GET", convURL+"?ok=replied", nil, nil)
	if !strings.Contains(page.body, "Reply queued") || strings.Contains(page.body, `id="action-claim"`) {
		t.Fatal("after the reply: no confirmation, or Claim still offered")
	}
	// Without the CSRF token nothing is sent.
	if r := do(t, c, "POST", action, url.Values{"text": {"forged"}, "agent": {"Mallory"}}, nil); r.status != http.StatusForbidden {
		t.Fatalf("reply without CSRF = %d, want 403", r.status)
	}
	// An empty reply is refused.
	if r := do(t, c, "POST", action, url.Values{"csrf": {csrf}, "text": {"  "}}, nil); r.status != http.StatusBadRequest {
		t.Fatalf("empty reply = %d, want 400", r.status)
	}
	// The same form key for another text is refused, not sent.
	form.Set("text", "Something else")
	if r := do(t, c, "POST", action, form, nil); !strings.HasSuffix(r.header.Get("Location"), "?err=reused") {
		t.Fatalf("reused form = %d to %q", r.status, r.header.Get("Location"))
	}
	if got := agentReplies(t, tb, key); len(got) != 1 {
		t.Fatalf("%d agent replies, want 1", len(got))
	}
}

// TestClaimAndBotOwned: Claim takes an escalation for the session's name
// (asked on the form when the session has none); a bot-owned conversation
// has no reply box and a reply to it is refused; another agent's claim is
// reported.
func TestClaimAndBotOwned(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	in := customerWrites(t, tb.store, "c-cl", "e-cl", "Refund", "I want a human")
	escalate(t, tb.store, in)
	key := in.Conversation.Key
	convURL := tb.srv.URL + "/admin/conversations/" + url.PathEscape(key)

	anon := client(t)
	csrf := login(t, tb, anon) // signed in without a name
	page := do(t, anon, "GET", convURL, nil, nil)
	if !strings.Contains(page.body, `placeholder="your name (the customer sees it)"`) {
		t.Fatal("a session without a name is not asked for one")
	}
	if r := do(t, anon, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"claim"}}, nil); r.status != http.StatusBadRequest {
		t.Fatalf("claim without a name = %d, want 400", r.status)
	}
	r := do(t, anon, "POST", convURL, url.Values{"csrf": {csrf}, "action": {"claim"}, "agent": {"Linus"}}, nil)
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?ok=agent") {
		t.Fatalf("claim = %d to %q", r.status, r.header.Get("Location"))
	}
	if page := do(t, anon, "GET", convURL, nil, nil); !strings.Contains(page.body, `class="agent-name">Linus<`) {
		t.Fatal("the name given on the form is not kept in the session")
	}
	esc, _ := tb.store.ListEscalations(context.Background(), "claimed", 10)
	if len(esc) != 1 || esc[0].ClaimedBy != "Linus" {
		t.Fatalf("claimed escalations = %+v", esc)
	}
	// Grace's stale page still shows Claim.
	grace := client(t)
	gcsrf := loginAs(t, tb, grace, "Grace")
	r = do(t, grace, "POST", convURL, url.Values{"csrf": {gcsrf}, "action": {"claim"}}, nil)
	if !strings.HasSuffix(r.header.Get("Location"), "?err=claimed") {
		t.Fatalf("second claim = %d to %q", r.status, r.header.Get("Location"))
	}
	// Hand back: the bot owns it; no reply box, and a reply is refused.
	r = do(t, grace, "POST", convURL, url.Values{"csrf": {gcsrf}, "action": {"handback"}}, nil)
	if !strings.HasSuffix(r.header.Get("Location"), "?ok=bot") {
		t.Fatalf("hand back = %d to %q", r.status, r.header.Get("Location"))
	}
	trs, _ := tb.store.Transitions(context.Background(), key)
	if last := trs[len(trs)-1]; last.Actor != "Grace" {
		t.Fatalf("hand back stored as %q, want Grace", last.Actor)
	}
	page = do(t, grace, "GET", convURL, nil, nil)
	if strings.Contains(page.body, `id="reply-form"`) || !strings.Contains(page.body, `id="reply-closed"`) {
		t.Fatal("a bot-owned conversation offers the reply box")
	}
	r = do(t, grace, "POST", convURL+"/replies", url.Values{"csrf": {gcsrf}, "text": {"hi"}}, nil)
	if !strings.HasSuffix(r.header.Get("Location"), "?err=notyours") {
		t.Fatalf("reply to a bot-owned conversation = %d to %q", r.status, r.header.Get("Location"))
	}
	if got := agentReplies(t, tb, key); len(got) != 0 {
		t.Fatalf("refused reply stored: %+v", got)
	}
	// A bearer request names the agent itself.
	escalateAgain := do(t, grace, "POST", convURL, url.Values{"csrf": {gcsrf}, "action": {"escalate"}}, nil)
	if !strings.HasSuffix(escalateAgain.header.Get("Location"), "?ok=escalated") {
		t.Fatalf("escalate = %q", escalateAgain.header.Get("Location"))
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	if r := do(t, client(t), "POST", convURL+"/replies", url.Values{"text": {"From a script"}, "agent": {"Ops"}}, bearer); !strings.HasSuffix(r.header.Get("Location"), "?ok=replied") {
		t.Fatalf("bearer reply = %d to %q", r.status, r.header.Get("Location"))
	}
	if got := agentReplies(t, tb, key); len(got) != 1 || got[0].AgentName != "Ops" {
		t.Fatalf("agent replies = %+v", got)
	}
}

func TestLoginNameChecked(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	c := client(t)
	form := do(t, c, "GET", tb.srv.URL+"/admin/login", nil, nil)
	r := do(t, c, "POST", tb.srv.URL+"/admin/login", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {token}, "name": {strings.Repeat("x", bot.MaxAgentNameLen+1)}}, nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("login with a long name = %d, want 400", r.status)
	}
}
