package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/browsertest"
)

// quickReplies waits until the last line of the log offers n quick replies
// and returns their texts.
func quickReplies(t *testing.T, b *browsertest.Browser, n int) []string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const q = [...document.querySelectorAll('#log .quick button')].map(b => b.textContent);
		return q.length === %d ? q : false; })()`, n)
	return browsertest.Get(t, b, chromedp.Poll[[]string](js, chromedp.WithPollingTimeout(20*time.Second)))
}

// waitNoQuickReplies waits until the page shows no quick replies.
func waitNoQuickReplies(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	browsertest.Get(t, b, chromedp.Poll[bool](`document.querySelectorAll('#log .quick').length === 0`, chromedp.WithPollingTimeout(20*time.Second)))
}

// visitorID is the chat page's visitor id, from its localStorage.
func visitorID(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	type stored struct {
		VisitorID string `json:"visitor_id"`
	}
	s := browsertest.Get(t, b, chromedp.Evaluate[stored](`JSON.parse(localStorage.getItem('supportbot.chat.web'))`))
	if s.VisitorID == "" {
		shotFatalf(t, b, "no session in localStorage")
	}
	return s.VisitorID
}

// TestWebChatCSATInBrowser: the answer asks "Did that answer your
// question?" with Yes and No as buttons; Yes, pressed from the keyboard,
// resolves the conversation; the page offers the 1–5 rating, which the
// visitor gives with a comment; the page thanks them (after a reload too),
// and the dashboard shows the rating on the conversation and the CSAT on
// the overview.
func TestWebChatCSATInBrowser(t *testing.T) {
	b := browsertest.New(t)
	cfg := webConfig(t)
	cfg.Server.AdminToken = "csat-admin-t0ken"
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()

	b.Run(t,
		chromedp.Navigate(base+"/chat"),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	chatSend(t, b, "How do I reset my password?")
	if got := waitLines(t, b, "li.bot", 1); !strings.Contains(got, "Forgot password") || !strings.HasSuffix(got, "Did that answer your question?") {
		shotFatalf(t, b, "answer=%q, want the password answer and the confirm question", got)
	}
	if got := quickReplies(t, b, 2); strings.Join(got, "/") != "Yes/No" {
		shotFatalf(t, b, "quick replies=%q, want Yes/No", got)
	}
	if visible := browsertest.Get(t, b, chromedp.Evaluate[bool](`!document.getElementById('rating').hidden`)); visible {
		shotFatalf(t, b, "the rating is offered before the conversation is resolved")
	}

	// Yes from the keyboard: focus the button, press Enter.
	b.Run(t,
		chromedp.Focus(chromedp.CSS(`#log .quick button:first-child`)),
		chromedp.KeyEvent(kb.Enter),
	)
	if got := waitLines(t, b, "li.customer", 2); got != "Yes" {
		shotFatalf(t, b, "the visitor's line after the button=%q, want Yes", got)
	}
	if got := waitLines(t, b, "li.bot", 2); got != "You're welcome! Glad I could help." {
		shotFatalf(t, b, "closing=%q", got)
	}
	waitNoQuickReplies(t, b)
	b.Run(t, chromedp.WaitVisible(chromedp.ID("rating-form")))
	if got := browsertest.Get(t, b, chromedp.Evaluate[string](`document.getElementById('status').dataset.state`)); got != "resolved" {
		shotFatalf(t, b, "status state=%q, want resolved", got)
	}

	const comment = `Quick <b>and</b> <img src=x onerror=alert(1)> clear`
	b.Run(t,
		chromedp.Click(chromedp.CSS(`#rating .score[data-score="4"]`)),
		chromedp.SendKeys(chromedp.ID("rating-comment"), comment),
		chromedp.Click(chromedp.ID("rating-send")),
		chromedp.WaitVisible(chromedp.ID("rating-thanks")),
		chromedp.WaitNotVisible(chromedp.ID("rating-form")),
	)
	key := "web/" + visitorID(t, b)
	rt, err := m.Store.Rating(context.Background(), key)
	if err != nil || rt.Score != 4 || rt.Comment != comment {
		shotFatalf(t, b, "stored rating = %+v, %v; want 4 with the comment", rt, err)
	}
	// A reload of the resolved, rated conversation thanks again, and asks
	// nothing.
	b.Run(t,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.WaitVisible(chromedp.ID("rating-thanks")),
	)
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('#log .quick').length`)); n != 0 {
		shotFatalf(t, b, "after reload %d quick replies, want none (the question was answered)", n)
	}
	checkNoInjection(t, b)

	// The dashboard shows the rating and the CSAT.
	b.Run(t,
		chromedp.Navigate(base+"/admin/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("token"), cfg.Server.AdminToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("csat")),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("csat"))); got != "100%" {
		shotFatalf(t, b, "overview CSAT=%q, want 100%%", got)
	}
	b.Run(t,
		chromedp.Navigate(base+"/admin/conversations/"+url.PathEscape(key)),
		chromedp.WaitVisible(chromedp.ID("conv-rating")),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("rating-score"))); got != "4 / 5" {
		shotFatalf(t, b, "conversation rating=%q, want 4 / 5", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("rating-comment"))); got != comment {
		shotFatalf(t, b, "conversation rating comment=%q, want it as typed", got)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('#conv-rating img, #conv-rating b').length`)); n != 0 {
		shotFatalf(t, b, "the comment became %d elements", n)
	}
	if d := b.Dialogs(); len(d) != 0 {
		shotFatalf(t, b, "the pages opened dialogs: %q", d)
	}
}

// TestWebChatChoiceInBrowser: a close call of two FAQ entries is asked as
// two buttons; clicking one answers with that entry, and the buttons go.
func TestWebChatChoiceInBrowser(t *testing.T) {
	b := browsertest.New(t)
	m := mustOpenMain(t, webConfig(t))
	b.Run(t,
		chromedp.Navigate(m.Server.URL()+"/chat"),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	chatSend(t, b, "How can I get a refund for my last invoice?")
	if got := waitLines(t, b, "li.bot", 1); !strings.HasPrefix(got, "Did you mean: ") {
		shotFatalf(t, b, "reply=%q, want the close call asked", got)
	}
	opts := quickReplies(t, b, 2)
	pick := -1
	for i, o := range opts {
		if strings.Contains(strings.ToLower(o), "refund") {
			pick = i
		}
	}
	if pick < 0 {
		shotFatalf(t, b, "options=%q, want the refunds entry among them", opts)
	}
	b.Run(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#log .quick button:nth-child(%d)`, pick+1))))
	if got := waitLines(t, b, "li.customer", 2); got != opts[pick] {
		shotFatalf(t, b, "the visitor's line after the click=%q, want %q", got, opts[pick])
	}
	if got := waitLines(t, b, "li.bot", 2); !strings.Contains(got, "refunded") || !strings.HasSuffix(got, "Did that answer your question?") {
		shotFatalf(t, b, "answer to the pick=%q, want the refunds entry and the confirm question", got)
	}
	// The close call's buttons are gone; the confirm question's are there.
	if got := quickReplies(t, b, 2); strings.Join(got, "/") != "Yes/No" {
		shotFatalf(t, b, "quick replies after the pick=%q, want only Yes/No", got)
	}
	c, err := m.Store.Conversation(context.Background(), "web/"+visitorID(t, b))
	if err != nil || len(c.Choice) != 0 || !c.ConfirmPending || c.State != bot.StateBot {
		shotFatalf(t, b, "conversation after the pick = %+v, %v", c, err)
	}
	checkNoInjection(t, b)
}
