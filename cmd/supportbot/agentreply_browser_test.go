package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/browsertest"
	"github.com/supportbot/supportbot/triggers"
)

// TestDashboardReplyInBrowser: an operator who signed in as Grace writes a
// reply on an escalated conversation's page in headless Chromium; the
// customer's reply webhook gets it once, from agent Grace, and the
// conversation is Grace's. A Chatwoot customer gets hers through
// Chatwoot's API, once, signed with Grace's name.
func TestDashboardReplyInBrowser(t *testing.T) {
	b := browsertest.New(t)
	rc := newReceiver(t)
	api := newChatwootFake(t)
	cfg := testConfig(t, rc.URL)
	cfg.Server.AdminToken = "dash-admin-t0ken"
	zero := time.Duration(0)
	cfg.Triggers = append(cfg.Triggers, triggers.Config{
		Name: "cw", Kind: "chatwoot", Secret: "cw-secret", Burst: &zero,
		Reply: triggers.ReplyConfig{Kind: "chatwoot", BaseURL: api.URL, AccountID: "1", APIAccessToken: "cw-token"},
	})
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()

	post(t, base+"/hooks/chat", "msg_b1", nativeEvent("dash-reply", "I want to talk to a human"), nil)
	if ev := rc.next(t); ev.State != "escalated" {
		t.Fatalf("hand-off reply = %+v", ev)
	}
	b.Run(t,
		chromedp.Navigate(base+"/admin/conversations/chat%2Fdash-reply"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("token"), cfg.Server.AdminToken),
		chromedp.SendKeys(chromedp.ID("name"), "Grace"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("reply-form")),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS("#reply-form .agent-name"))); got != "Grace" {
		t.Fatalf("replying as %q, want the name given at sign-in", got)
	}
	const text = "Hi Ada, Grace here: your password is reset."
	b.Run(t,
		chromedp.SendKeys(chromedp.ID("reply-text"), text),
		chromedp.Click(chromedp.ID("reply-send")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	ev := rc.next(t)
	if ev.Conversation.ID != "dash-reply" || ev.Message.Author != "agent" || ev.Message.Agent == nil ||
		ev.Message.Agent.Name != "Grace" || ev.Message.Text != text || ev.State != "agent" {
		t.Fatalf("customer got %+v", ev)
	}
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.ID("conv-state"))); got != "agent" {
		t.Fatalf("state on the page after the reply = %q", got)
	}
	transcript := browsertest.Get(t, b, chromedp.Text(chromedp.ID("transcript")))
	if !strings.Contains(transcript, "agent (Grace)") || !strings.Contains(transcript, text) {
		t.Fatalf("transcript does not show Grace's reply:\n%s", transcript)
	}
	quiet(t, rc.ch, 500*time.Millisecond, "the reply was sent twice")
	if c, err := m.Store.Conversation(context.Background(), "chat/dash-reply"); err != nil || c.State != bot.StateAgent {
		t.Fatalf("stored conversation: %+v, %v", c, err)
	}

	// A Chatwoot customer is answered the same way, through Chatwoot's API.
	human := bytes.Replace(fixture(t, "chatwoot", "message_created.json"), []byte("How do I reset my password?"), []byte("I want to talk to a human"), 1)
	if s := sendChatwoot(t, base+"/hooks/cw", "d-b1", human); s != http.StatusAccepted {
		t.Fatalf("chatwoot hand-off = %d", s)
	}
	api.next(t) // the hand-off message
	api.next(t) // the conversation opened for the inbox's agents
	b.Run(t,
		chromedp.Navigate(base+"/admin/conversations/cw%2F10"),
		chromedp.WaitVisible(chromedp.ID("reply-form")),
		chromedp.SendKeys(chromedp.ID("reply-text"), "Grace here, from the dashboard."),
		chromedp.Click(chromedp.ID("reply-send")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if call := api.next(t); call != "POST /api/v1/accounts/1/conversations/10/messages content=grace_here,_from_the_dashboard.\n\n—_grace" {
		t.Fatalf("chatwoot call = %q", call)
	}
	quiet(t, api.ch, 500*time.Millisecond, "unexpected Chatwoot call")
	if d := b.Dialogs(); len(d) != 0 {
		t.Fatalf("the pages opened dialogs: %q", d)
	}
}
