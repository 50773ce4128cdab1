package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/internal/browsertest"
)

// waitStatus waits until the chat's status line reads want.
func waitStatus(t *testing.T, b *browsertest.Browser, want string) {
	t.Helper()
	js := fmt.Sprintf(`document.getElementById('status').textContent === %q`, want)
	ok := browsertest.Get(t, b, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(15*time.Second)))
	if !ok {
		got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("status")))
		shotFatalf(t, b, "status=%q, want %q", got, want)
	}
}

// TestWebChatStatusInBrowser: the chat opens with the greeting; its status
// line follows the conversation: the assistant, waiting for a person after
// the hand-off, the agent's name once claimed (before any reply), resolved;
// and each line says who wrote it.
func TestWebChatStatusInBrowser(t *testing.T) {
	b := browsertest.New(t)
	cfg := webConfig(t)
	cfg.Server.AdminToken = "chat-admin-t0ken"
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()

	b.Run(t,
		chromedp.Navigate(base+"/chat"),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`#log li:first-child.greeting .text`))); got != webchat.DefaultGreeting {
		shotFatalf(t, b, "first line=%q, want the greeting", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`#log li.greeting .who`))); got != "Assistant (bot)" {
		shotFatalf(t, b, "greeting from %q, want Assistant (bot)", got)
	}
	waitStatus(t, b, "Online")

	chatSend(t, b, "I want to talk to a human")
	waitLines(t, b, "li.handoff", 1)
	waitStatus(t, b, "Waiting for a person from our team")

	type stored struct {
		VisitorID string `json:"visitor_id"`
	}
	session := browsertest.Get(t, b, chromedp.Evaluate[stored](`JSON.parse(localStorage.getItem('supportbot.chat.web'))`))
	key := "web/" + session.VisitorID
	// Claimed on the dashboard: no reply yet, and the visitor sees who has it.
	if _, err := m.Store.ChangeState(context.Background(), bot.StateChange{Key: key, To: bot.StateAgent, Actor: "Grace"}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, "Chatting with Grace")
	if got := browsertest.Get(t, b, chromedp.Evaluate[string](`document.getElementById('status').dataset.state`)); got != "agent" {
		shotFatalf(t, b, "data-state=%q, want agent", got)
	}
	// A page opened now, before Grace has written, still names her.
	b.Run(t,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	waitStatus(t, b, "Chatting with Grace")

	status, _, out := replyPost(t, base, cfg.Server.AdminToken, url.PathEscape(key), "", `{"text":"Hi, Grace here.","agent":"Grace"}`)
	if status != http.StatusCreated {
		t.Fatalf("agent reply = %d %v", status, out)
	}
	if got := waitLines(t, b, "li.agent", 1); got != "Hi, Grace here." {
		shotFatalf(t, b, "agent line=%q", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`#log li.agent .who`))); got != "Grace" {
		shotFatalf(t, b, "agent line from %q, want Grace", got)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`#log li.handoff .who`))); got != "Assistant (bot)" {
		shotFatalf(t, b, "hand-off from %q, want Assistant (bot)", got)
	}

	// Resolved through the admin API, without a closing message.
	if s, body := adminDo(t, "POST", base+"/admin/api/conversations/"+url.PathEscape(key), cfg.Server.AdminToken, `{"state":"resolved","actor":"Grace"}`); s != http.StatusOK {
		t.Fatalf("resolve = %d %v", s, body)
	}
	waitStatus(t, b, "Resolved · write again if you need more help")

	// A new page of the same visitor starts from the stored state.
	b.Run(t,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	waitStatus(t, b, "Resolved · write again if you need more help")
}
