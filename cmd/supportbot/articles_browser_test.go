package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/browsertest"
)

// TestWebChatArticleLinkInBrowser: in the web chat an article answer's
// source is a clickable link to the article (the reply carries it as a
// Markdown link), opened in a new tab without the page's referrer or
// opener. A Markdown link to anything but http(s) — javascript: — stays
// text, and so does markup.
func TestWebChatArticleLinkInBrowser(t *testing.T) {
	b := browsertest.New(t)
	cfg := webConfig(t)
	cfg.Knowledge.Articles = mustArticles(t)
	m := mustOpenMain(t, cfg)

	b.Run(t,
		chromedp.Navigate(m.Server.URL()+"/chat"),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="true"]`)),
	)
	chatSend(t, b, "How do I pair my SolarPump with the app?")
	got := waitLines(t, b, "li.bot", 1)
	if !strings.HasPrefix(got, "This article answers it: Pairing the SolarPump") || !strings.Contains(got, "Source: Pairing the SolarPump with the mobile app") ||
		strings.Contains(got, "](") {
		shotFatalf(t, b, "answer=%q, want the passage and a source link", got)
	}
	type link struct{ Href, Text, Target, Rel string }
	links := browsertest.Get(t, b, chromedp.Evaluate[[]link](`Array.from(document.querySelectorAll('#log li.bot .text a')).map(a =>
		({Href: a.href, Text: a.textContent, Target: a.target, Rel: a.rel}))`))
	want := link{Href: "https://help.example.com/articles/101-solarpump-pairing", Text: "Pairing the SolarPump with the mobile app",
		Target: "_blank", Rel: "noopener noreferrer nofollow"}
	if len(links) != 1 || links[0] != want {
		shotFatalf(t, b, "links=%+v, want %+v", links, want)
	}

	// An agent's line with a javascript: link and markup: only the https
	// link is an element.
	type stored struct {
		VisitorID string `json:"visitor_id"`
	}
	session := browsertest.Get(t, b, chromedp.Evaluate[stored](`JSON.parse(localStorage.getItem('supportbot.chat.web'))`))
	const agentText = `Try [x](javascript:alert(1)) or [y](JAVASCRIPT:alert(2)) or [<img src=x onerror=alert(3)>](https://example.com/a) or [z](data:text/html,hi)`
	if queued, err := m.Store.QueueAgentReply(context.Background(), "slack:C1:2.0001", bot.Reply{
		ID: "rpl_browser_links", ConversationKey: "web/" + session.VisitorID, Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: "Grace", Text: agentText, CreatedAt: time.Now().UTC(),
	}); err != nil || !queued {
		shotFatalf(t, b, "queue agent reply = %v, %v", queued, err)
	}
	want2 := `Try [x](javascript:alert(1)) or [y](JAVASCRIPT:alert(2)) or <img src=x onerror=alert(3)> or [z](data:text/html,hi)`
	if got := waitLines(t, b, "li.agent", 1); got != want2 {
		shotFatalf(t, b, "agent line=%q, want %q", got, want2)
	}
	links = browsertest.Get(t, b, chromedp.Evaluate[[]link](`Array.from(document.querySelectorAll('#log li.agent .text a')).map(a =>
		({Href: a.href, Text: a.textContent, Target: a.target, Rel: a.rel}))`))
	if len(links) != 1 || links[0].Href != "https://example.com/a" || links[0].Text != "<img src=x onerror=alert(3)>" {
		shotFatalf(t, b, "agent links=%+v, want the https one only, its text as text", links)
	}
	checkNoInjection(t, b)

	// The customer's own lines are never links.
	chatSend(t, b, "see [here](https://example.com/phish)")
	waitLines(t, b, "li.customer", 2)
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('#log li.customer a').length`)); n != 0 {
		shotFatalf(t, b, "%d links in the customer's lines", n)
	}
}
