package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/browsertest"
)

// waitDeadLetter waits until a job of conversation conv is dead-lettered.
func waitDeadLetter(t *testing.T, m *Main, conv string) *bot.Job {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		jobs, err := m.Store.ListJobs(context.Background(), bot.JobFilter{State: bot.JobDiscarded})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if strings.HasPrefix(j.QueueKey, "chat/"+conv+"#") {
				return j
			}
		}
	}
	t.Fatalf("no dead letter for %s", conv)
	return nil
}

// TestDashboardInBrowser drives the dashboard in headless Chromium against
// the real service: login through the form, an escalation on the overview,
// a dead letter replayed with its button, hostile customer text shown as
// text, and a conversation resolved with its button.
func TestDashboardInBrowser(t *testing.T) {
	b := browsertest.New(t)

	rc := newReceiver(t)
	var gone atomic.Bool
	rc.status = func() int {
		if gone.Load() {
			return http.StatusGone // a refusal no retry can fix: dead-lettered at once
		}
		return 0
	}
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "dash-admin-t0ken"
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()
	hooks := base + "/hooks/chat"

	post(t, hooks, "msg_d1", nativeEvent("dash-human", "I want to talk to a human"), nil)
	if ev := rc.next(t); ev.Conversation.ID != "dash-human" || ev.State != "escalated" {
		t.Fatalf("hand-off reply = %+v", ev)
	}
	const hostile = `<script>alert(1)</script>`
	post(t, hooks, "msg_d2", nativeEvent("dash-xss", "Hi "+hostile+" <img src=x onerror=alert(2)>"), nil)
	if ev := rc.next(t); ev.Conversation.ID != "dash-xss" {
		t.Fatalf("reply to the hostile message = %+v", ev)
	}
	gone.Store(true)
	post(t, hooks, "msg_d3", nativeEvent("dash-gone", "How do I reset my password?"), nil)
	dead := waitDeadLetter(t, m, "dash-gone")
	gone.Store(false)

	// Any page without a session leads to the login form; a wrong token is
	// refused there.
	b.Run(t,
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("error"))); !strings.Contains(got, "Wrong admin token") {
		t.Fatalf("wrong token: error %q", got)
	}
	b.Run(t,
		chromedp.SendKeys(chromedp.ID("token"), cfg.Server.AdminToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("open-escalations")),
		chromedp.WaitVisible(chromedp.CSS(`#waiting tr[data-key="chat/dash-human"]`)),
	)
	if got := browsertest.Get(t, b, chromedp.Location()); got != base+"/admin/" {
		t.Fatalf("after login at %s, want the overview", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("dead-letters"))); got != "1" {
		t.Fatalf("overview shows %q dead letters, want 1", got)
	}
	// The page's script ran: the CSP nonce lets it in.
	if ready := browsertest.Get(t, b, chromedp.Evaluate[string](`document.documentElement.dataset.ready || ""`)); ready != "1" {
		t.Fatal("the dashboard script did not run under the page's CSP")
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart").length`)); n != 2 {
		t.Fatalf("%d charts on the overview, want 2", n)
	}

	// Replay the dead letter with its button: it leaves the list, and the
	// reply reaches the customer.
	row := fmt.Sprintf("#job-%d", dead.ID)
	b.Run(t,
		chromedp.Click(chromedp.CSS(`a[href="/admin/dead-letters"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.ID(fmt.Sprintf("replay-%d", dead.ID))),
		chromedp.WaitVisible(chromedp.ID("flash")),
		chromedp.WaitNotPresent(chromedp.CSS(row)),
	)
	if ev := rc.next(t); ev.Conversation.ID != "dash-gone" {
		t.Fatalf("replayed reply = %+v", ev)
	}

	// Hostile customer text is text: in the DOM as typed, no script runs.
	b.Run(t,
		chromedp.Navigate(base+"/admin/conversations?q=dash-xss"),
		chromedp.WaitVisible(chromedp.CSS(`#conversations tr[data-key="chat/dash-xss"] a`)),
		chromedp.Click(chromedp.CSS(`#conversations tr[data-key="chat/dash-xss"] a`)),
		chromedp.WaitVisible(chromedp.ID("transcript")),
	)
	transcript := browsertest.Get(t, b, chromedp.Text(chromedp.ID("transcript")))
	if !strings.Contains(transcript, "Hi "+hostile+" <img src=x onerror=alert(2)>") {
		t.Fatalf("transcript does not show the customer's text as typed:\n%s", transcript)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll("#transcript script, #transcript img").length`)); n != 0 {
		t.Fatalf("the customer's text became %d elements", n)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`[...document.scripts].filter(s => s.textContent.includes("alert")).length`)); n != 0 {
		t.Fatal("a script with the customer's alert is in the page")
	}
	if d := b.Dialogs(); len(d) != 0 {
		t.Fatalf("the page opened dialogs: %q", d)
	}

	// Resolve the escalated conversation with its button.
	b.Run(t,
		chromedp.Navigate(base+"/admin/conversations?state=escalated"),
		chromedp.Click(chromedp.CSS(`#conversations tr[data-key="chat/dash-human"] a`)),
		chromedp.WaitVisible(chromedp.ID("action-resolve")),
		chromedp.SendKeys(chromedp.CSS(`form.action input[name=reason]`), "answered by phone"),
		chromedp.Click(chromedp.ID("action-resolve")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("conv-state"))); got != "resolved" {
		t.Fatalf("state after Resolve = %q", got)
	}
	if c, err := m.Store.Conversation(context.Background(), "chat/dash-human"); err != nil || c.State != bot.StateResolved {
		t.Fatalf("stored conversation after Resolve: %+v, %v", c, err)
	}
	if d := b.Dialogs(); len(d) != 0 {
		t.Fatalf("the pages opened dialogs: %q", d)
	}
}
