package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/browsertest"
	"github.com/supportbot/supportbot/triggers"
)

// shotFatalf fails the test with a screenshot of the page, whose path the
// message names.
func shotFatalf(t *testing.T, b *browsertest.Browser, format string, args ...any) {
	t.Helper()
	path := b.Screenshot(t, "failure")
	t.Fatalf(format+"\nscreenshot: %s", append(args, path)...)
}

// chatSend types text into the chat page and sends it.
func chatSend(t *testing.T, b *browsertest.Browser, text string) {
	t.Helper()
	b.Run(t,
		chromedp.SetValue(chromedp.ID("text"), text),
		chromedp.Click(chromedp.ID("send")),
	)
}

// waitLines waits until the log shows at least n lines of the selector
// (e.g. "li.bot") and returns the text of the last one.
func waitLines(t *testing.T, b *browsertest.Browser, sel string, n int) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const l = document.querySelectorAll('#log %s .text'); return l.length >= %d ? l[l.length-1].textContent : false; })()`, sel, n)
	return browsertest.Get(t, b, chromedp.Poll[string](js, chromedp.WithPollingTimeout(20*time.Second)))
}

// TestWebChatInBrowser: a customer chats in headless Chromium with the real
// service. An FAQ question gets its answer, a request for a person gets the
// hand-off message, an agent's reply arrives live, hostile text from the
// customer or the agent renders as text, the per-visitor limit shows a
// notice, and a reload shows the same conversation.
func TestWebChatInBrowser(t *testing.T) {
	b := browsertest.New(t)
	cfg := webConfig(t)
	cfg.WebChat.PerVisitor = triggers.RateConfig{Rate: 0.001, Burst: 4}
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()

	b.Run(t,
		chromedp.Navigate(base+"/chat"),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("status"))); got != "Online" {
		shotFatalf(t, b, "status=%q, want Online", got)
	}

	chatSend(t, b, "How do I reset my password?")
	if got := waitLines(t, b, "li.bot", 1); !strings.Contains(got, "Forgot password") {
		shotFatalf(t, b, "bot answer=%q, want the FAQ's password answer", got)
	}
	if got := waitLines(t, b, "li.customer", 1); got != "How do I reset my password?" {
		shotFatalf(t, b, "customer line=%q", got)
	}

	chatSend(t, b, "I want to talk to a human")
	if got := waitLines(t, b, "li.handoff", 1); !strings.Contains(got, "A person from our team will reply here") {
		shotFatalf(t, b, "hand-off=%q", got)
	}

	// Hostile text from the customer is shown as text: no element, no
	// script, no dialog.
	const hostile = `<script>document.title='pwned'</script><img src=x onerror="document.body.dataset.pwned='yes'">`
	chatSend(t, b, hostile)
	if got := waitLines(t, b, "li.customer", 3); got != hostile {
		shotFatalf(t, b, "hostile customer line=%q, want it verbatim", got)
	}

	// The agent answers from Slack; the reply (hostile too) arrives live.
	type stored struct {
		VisitorID string `json:"visitor_id"`
	}
	session := browsertest.Get(t, b, chromedp.Evaluate[stored](`JSON.parse(localStorage.getItem('supportbot.chat.web'))`))
	if session.VisitorID == "" {
		shotFatalf(t, b, "no session in localStorage")
	}
	const agentText = `Hi, Grace here <img src=x onerror=alert(3)> let me look.`
	if queued, err := m.Store.QueueAgentReply(context.Background(), "slack:C1:2.0001", bot.Reply{
		ID: "rpl_browser_agent", ConversationKey: "web/" + session.VisitorID, Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: "Grace", Text: agentText, CreatedAt: time.Now().UTC(),
	}); err != nil || !queued {
		shotFatalf(t, b, "queue agent reply = %v, %v", queued, err)
	}
	if got := waitLines(t, b, "li.agent", 1); got != agentText {
		shotFatalf(t, b, "agent line=%q, want it verbatim", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`#log li.agent .who`))); got != "Grace" {
		shotFatalf(t, b, "agent name=%q, want Grace", got)
	}
	checkNoInjection(t, b)

	// Four messages were allowed; the fifth hits the per-visitor limit and
	// the page says so, keeping the text.
	chatSend(t, b, "one more thing")
	waitLines(t, b, "li.customer", 4)
	chatSend(t, b, "and another")
	b.Run(t, chromedp.WaitVisible(chromedp.ID("notice")))
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("notice"))); !strings.Contains(got, "too quickly") {
		shotFatalf(t, b, "notice=%q, want the rate-limit notice", got)
	}
	if got := browsertest.Get(t, b, chromedp.Value(chromedp.ID("text"))); got != "and another" {
		shotFatalf(t, b, "textarea=%q after a refused message, want the text kept", got)
	}

	// A reload resumes the session and shows the conversation again.
	b.Run(t,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	if got := waitLines(t, b, "li.agent", 1); got != agentText {
		shotFatalf(t, b, "after reload agent line=%q", got)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('#log li').length`)); n != 8 {
		shotFatalf(t, b, "after reload %d lines, want 8 (the greeting, 4 of the customer's, the answer, the hand-off, the agent's)", n)
	}
	if got := waitLines(t, b, "li.customer", 4); got != "one more thing" {
		shotFatalf(t, b, "after reload the last customer line=%q, want %q", got, "one more thing")
	}
	checkNoInjection(t, b)
}

// checkNoInjection fails if hostile text became markup or ran.
func checkNoInjection(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	type page struct {
		Imgs, Scripts int
		Title, Pwned  string
	}
	res := browsertest.Get(t, b, chromedp.Evaluate[page](`({
		Imgs: document.querySelectorAll('#log img').length,
		Scripts: document.querySelectorAll('#log script').length,
		Title: document.title, Pwned: document.body.dataset.pwned || ''})`))
	if res.Imgs != 0 || res.Scripts != 0 || res.Title == "pwned" || res.Pwned != "" {
		shotFatalf(t, b, "hostile text was rendered as HTML: %+v", res)
	}
	if d := b.Dialogs(); len(d) != 0 {
		shotFatalf(t, b, "the page opened dialogs %q", d)
	}
}

// TestWebChatWidgetInBrowser: a page of another origin includes the widget
// with one script tag; its button opens the chat in an iframe, which the
// frame_ancestors allow-list lets in, and the chat answers there.
func TestWebChatWidgetInBrowser(t *testing.T) {
	b := browsertest.New(t)
	var chatBase atomic.Value
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><h1>Shop</h1>
<script src="%s/chat/widget.js" data-trigger="web" async></script>`, chatBase.Load())
	}))
	t.Cleanup(site.Close)
	cfg := webConfig(t)
	cfg.WebChat.FrameAncestors = []string{site.URL}
	m := mustOpenMain(t, cfg)
	chatBase.Store(m.Server.URL())

	b.Run(t,
		chromedp.Navigate(site.URL),
		chromedp.WaitVisible(chromedp.CSS(`button[data-supportbot="launcher"]`)),
		chromedp.Click(chromedp.CSS(`button[data-supportbot="launcher"]`)),
		chromedp.WaitVisible(chromedp.CSS(`iframe[data-supportbot="chat"]`)),
	)
	frames := browsertest.Get(t, b, chromedp.Nodes(chromedp.CSS(`iframe[data-supportbot="chat"]`)))
	frame := frames[0]
	// inFrame polls js in the chat's frame until it returns a truthy
	// string. The frame loads on its own: until its document has a
	// JavaScript context, polling fails and is retried.
	inFrame := func(js string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(b.Context(), 20*time.Second)
			v, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingInFrame(frame), chromedp.WithPollingTimeout(20*time.Second)))
			cancel()
			if err == nil {
				return v
			}
			if time.Now().After(deadline) {
				shotFatalf(t, b, "poll in the chat frame: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			// The node taken before the frame loaded may hold the
			// about:blank document it replaced: take the frame again.
			frame = browsertest.Get(t, b, chromedp.Nodes(chromedp.CSS(`iframe[data-supportbot="chat"]`)))[0]
		}
	}
	inFrame(`document.body && document.body.dataset.ready === 'true' ? 'ready' : false`)
	inFrame(`(() => {
		document.getElementById('text').value = 'How do I reset my password?';
		document.getElementById('send').click();
		return 'sent';
	})()`)
	got := inFrame(`(() => { const l = document.querySelector('#log li.bot .text'); return l ? l.textContent : false; })()`)
	if !strings.Contains(got, "Forgot password") {
		shotFatalf(t, b, "answer in the widget=%q", got)
	}
}
