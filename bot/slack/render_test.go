package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	names := map[string]string{"U1": "Alice"}
	mention := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Hello there", "Hello there"},
		{"entities", "a &lt;b&gt; &amp; c &amp;lt;", "a <b> & c &lt;"},
		{"link with label", "see <https://x.example/a?b=1&amp;c=2|the docs>", "see the docs (https://x.example/a?b=1&c=2)"},
		{"bare link", "<https://x.example>", "https://x.example"},
		{"link label equal to url", "<https://x.example|https://x.example>", "https://x.example"},
		{"mailto", "<mailto:ada@example.com|ada@example.com>", "ada@example.com"},
		{"user mention", "thanks <@U1>", "thanks @Alice"},
		{"unknown user", "thanks <@U9>", "thanks @U9"},
		{"user mention with label", "<@U2|bob>", "@bob"},
		{"channel", "see <#C1|billing>", "see #billing"},
		{"special", "<!here> <!channel> <!subteam^S1|@support>", "@here @channel @support"},
		{"date", "<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"relay prefix", "&gt;&gt; hi", ">> hi"},
		{"unclosed", "a < b", "a < b"},
	} {
		if got := plainText(tc.in, mention); got != tc.want {
			t.Errorf("%s: plainText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestOneLineAndQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"newlines collapse", "Eve\n*Reason*\r\nfake", "Eve *Reason* fake"},
		{"escape", "<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"},
		{"controls and bidi", "a\x00b\u202Ec\u2066d", "abcd"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"spaces", "  a \t  b  ", "a b"},
	} {
		if got := oneLine(tc.in, 100); got != tc.want {
			t.Errorf("%s: oneLine(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	if got, want := quote("one\n> two\r\n<!here>", 100), ">one\n>&gt; two\n>&lt;!here&gt;"; got != want {
		t.Errorf("quote = %q, want %q", got, want)
	}
	if got := quote(" \n ", 10); got != "" {
		t.Errorf("quote(blank) = %q", got)
	}
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"héllo wörld", 5, "héll…"},
		{"short", 5, "short"},
		{"a<b", 3, "a…"}, // never half an entity
		{"a<b", 5, "a…"},
		{"a<b", 6, "a&lt;b"},
		{"abc", 0, ""},
	} {
		if got := escapeMax(tc.in, tc.max); got != tc.want {
			t.Errorf("escapeMax(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	if got, want := quote("line one\nline two\nline three", 14), ">line one\n>li…"; got != want {
		t.Errorf("quote cut = %q, want %q", got, want)
	}
	if got := code("a`b\nc"); got != "a'b c" {
		t.Errorf("code = %q", got)
	}
}

func TestLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://h.example/t/1?a=1&b=2", "<https://h.example/t/1?a=1&amp;b=2|L>"},
		{"https://h.example/t/1?x=a|b>c<d", "<https://h.example/t/1?x=a%7Cb%3Ec%3Cd|L>"},
		{"javascript:alert(1)", ""},
		{"https://user:pw@h.example/", ""},
		{"/relative", ""},
		{"https://h.example/a b", "<https://h.example/a%20b|L>"},
		{"https://h.example/\n<!channel>", ""},
	} {
		if got := link(tc.in, "L"); got != tc.want {
			t.Errorf("link(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Every block stays inside Slack's limits even with huge inputs.
func TestRenderHandoffLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<&>", 20000)
	e := bot.Escalation{
		ConversationKey: "chat/" + long[:200], Trigger: "chat", ConversationID: long, Subject: long, URL: "https://x.example/" + long,
		Customer: bot.Customer{Name: long, Email: long, Unverified: true}, Reason: long, Detail: long, Summary: long, Draft: long, Rejected: long,
	}
	for i := range 20 {
		e.Candidates = append(e.Candidates, bot.Candidate{ID: long, Question: long, Score: float64(i)})
		e.Recent = append(e.Recent, bot.Turn{Author: bot.AuthorCustomer, Text: long})
	}
	blocks, text := renderHandoff(e, handoffView{State: bot.StateEscalated, Hint: handoffHint(Config{}.withDefaults()), ConversationURL: "https://s.example/" + long})
	if n := utf8.RuneCountInString(text); n > 3000 {
		t.Errorf("fallback text is %d characters", n)
	}
	if len(blocks) > 50 {
		t.Errorf("%d blocks", len(blocks))
	}
	for _, b := range blocks {
		raw, _ := json.Marshal(b)
		var v struct {
			Text   *slackapi.TextBlockObject   `json:"text"`
			Fields []*slackapi.TextBlockObject `json:"fields"`
		}
		_ = json.Unmarshal(raw, &v)
		if v.Text != nil {
			if n := utf8.RuneCountInString(v.Text.Text); n > 3000 {
				t.Errorf("%s block text is %d characters", b.BlockType(), n)
			}
		}
		for _, f := range v.Fields {
			if n := utf8.RuneCountInString(f.Text); n > 2000 {
				t.Errorf("field is %d characters", n)
			}
		}
		if v.Text != nil {
			if err := v.Text.Validate(); err != nil {
				t.Errorf("%s text invalid: %v", b.BlockType(), err)
			}
		}
	}
}

func TestFatalSocketError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("invalid_auth"), true},
		{slackapi.SlackErrorResponse{Err: "token_revoked"}, true},
		{fmt.Errorf("open: %w", slackapi.StatusCodeError{Code: http.StatusNotFound}), true},
		{slackapi.StatusCodeError{Code: http.StatusBadGateway}, false},
		{errors.New("dial tcp: connection refused"), false},
	} {
		if got := fatalSocketError(tc.err); got != tc.want {
			t.Errorf("fatalSocketError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRelayable(t *testing.T) {
	t.Parallel()
	base := messageEvent{Type: "message", User: "U1", Channel: "C1", TS: "2.0", ThreadTS: "1.0", Text: "hi"}
	for _, tc := range []struct {
		name string
		mod  func(*messageEvent)
		want bool
	}{
		{"thread reply", func(*messageEvent) {}, true},
		{"broadcast", func(e *messageEvent) { e.Subtype = "thread_broadcast" }, true},
		{"bot", func(e *messageEvent) { e.BotID = "B1" }, false},
		{"bot_message", func(e *messageEvent) { e.Subtype = "bot_message" }, false},
		{"changed", func(e *messageEvent) { e.Subtype = "message_changed" }, false},
		{"deleted", func(e *messageEvent) { e.Subtype = "message_deleted" }, false},
		{"join", func(e *messageEvent) { e.Subtype = "channel_join" }, false},
		{"root", func(e *messageEvent) { e.ThreadTS = "" }, false},
		{"thread parent", func(e *messageEvent) { e.ThreadTS = e.TS }, false},
		{"no user", func(e *messageEvent) { e.User = "" }, false},
		{"other type", func(e *messageEvent) { e.Type = "app_mention" }, false},
	} {
		ev := base
		tc.mod(&ev)
		if got := ev.relayable(); got != tc.want {
			t.Errorf("%s: relayable = %v, want %v", tc.name, got, tc.want)
		}
	}
	var nilEv *messageEvent
	if nilEv.relayable() {
		t.Error("nil event relayable")
	}
}

// Nothing untrusted can form Slack markup once escaped, and the
// conversions never panic.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"<!channel>", "a\nb", "<https://x|y>", "&lt;", "\xff\u202E", strings.Repeat("é", 500)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{oneLine(s, 300), quote(s, 300), code(s)} {
			if strings.ContainsAny(out, "<>") && !strings.HasPrefix(out, ">") {
				t.Fatalf("markup survived: %q → %q", s, out)
			}
			if strings.Contains(strings.ReplaceAll(out, "\n>", "\n"), "<") {
				t.Fatalf("< survived: %q → %q", s, out)
			}
		}
		if strings.Contains(oneLine(s, 300), "\n") {
			t.Fatalf("oneLine kept a line break: %q", s)
		}
		_ = plainText(s, func(id string) string { return id })
		_ = link(s, s)
	})
}

func TestRenderRejectedAnswer(t *testing.T) {
	t.Parallel()
	e := bot.Escalation{ConversationKey: "chat/c", Trigger: "chat", ConversationID: "c", Reason: bot.ReasonAnswerRejected,
		Rejected: "Use the reset link on the sign-in page."}
	blocks, _ := renderHandoff(e, handoffView{State: bot.StateEscalated})
	raw, _ := json.Marshal(blocks)
	if !strings.Contains(string(raw), "Answer the customer rejected") || !strings.Contains(string(raw), "Use the reset link on the sign-in page.") {
		t.Fatalf("hand-off blocks do not show the rejected answer: %s", raw)
	}
	blocks, _ = renderHandoff(bot.Escalation{ConversationKey: "chat/c", Reason: bot.ReasonOutOfScope}, handoffView{State: bot.StateEscalated})
	if raw, _ := json.Marshal(blocks); strings.Contains(string(raw), "Answer the customer rejected") {
		t.Fatalf("a hand-off with no rejected answer shows the section: %s", raw)
	}
}
