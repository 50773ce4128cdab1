package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/faq"
	"github.com/supportbot/supportbot/faq/acts"
	"github.com/supportbot/supportbot/triggers"
)

// chatMessage is a native message.created event with its own message id.
func chatMessage(conv, id, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":         "message.created",
		"conversation": map[string]string{"id": conv, "subject": "Help"},
		"customer":     map[string]string{"id": "u-7", "name": "Ada"},
		"message":      map[string]string{"id": id, "text": text},
	})
	return b
}

// say posts one customer message and returns the bot's reply to it.
func say(t *testing.T, rc *receiver, url, conv, id, text string) replyEvent {
	t.Helper()
	if status, body := post(t, url, id, chatMessage(conv, id, text), nil); status != http.StatusAccepted {
		t.Fatalf("post %q = %d %v", text, status, body)
	}
	ev := rc.next(t)
	if ev.Conversation.ID != conv {
		t.Fatalf("reply to %q went to conversation %q", text, ev.Conversation.ID)
	}
	return ev
}

func TestEndToEndConversationActs(t *testing.T) {
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	yes := true
	confirm := cfg.Triggers[0]
	confirm.Name, confirm.Confirm = "confirm", &yes
	cfg.Triggers = append(cfg.Triggers, confirm)
	m := mustOpenMain(t, cfg)
	url := m.Server.URL() + "/hooks/chat"
	ctx := context.Background()

	// Answer, then thanks: a closing, not an escalation, and a confirmed resolution.
	ans := say(t, rc, url, "c-thanks", "t1", "How do I reset my password?")
	if ans.State != "bot" || !strings.Contains(strings.ToLower(ans.Message.Text), "password") {
		t.Fatalf("answer = %+v", ans)
	}
	closing := say(t, rc, url, "c-thanks", "t2", "thanks, that worked!")
	if closing.State != "resolved" || closing.Message.Text != worker.DefaultClosingText {
		t.Fatalf("reply to thanks = %+v, want the closing with the conversation resolved", closing)
	}
	trs, err := m.Store.Transitions(ctx, "chat/c-thanks")
	if err != nil || len(trs) != 1 || trs[0].To != bot.StateResolved || trs[0].Reason != bot.ResolutionConfirmed {
		t.Fatalf("transitions = %+v, %v; want one, resolved as confirmed", trs, err)
	}

	// "Hi there" gets a greeting; the question that follows later is answered.
	hi := say(t, rc, url, "c-hi", "h1", "Hi there")
	if hi.State != "bot" || hi.Message.Text != worker.DefaultGreetingText {
		t.Fatalf("reply to hi = %+v", hi)
	}
	time.Sleep(50 * time.Millisecond) // a later message, not the same burst
	q := say(t, rc, url, "c-hi", "h2", "How do I reset my password?")
	if q.State != "bot" || q.Message.Author != "bot" || q.Message.Text != ans.Message.Text {
		t.Fatalf("reply to the question after hi = %+v, want the password answer", q)
	}

	// Answer, then "that didn't help": escalated with the rejected answer.
	say(t, rc, url, "c-rej", "r1", "How do I reset my password?")
	handoff := say(t, rc, url, "c-rej", "r2", "that didn't help, it still doesn't work")
	if handoff.State != "escalated" {
		t.Fatalf("reply to the rejection = %+v, want the hand-off", handoff)
	}
	esc, err := m.Store.LatestEscalation(ctx, "chat/c-rej")
	if err != nil || esc.Reason != bot.ReasonAnswerRejected || esc.Rejected != ans.Message.Text {
		t.Fatalf("escalation = %+v, %v; want answer_rejected with the answer", esc, err)
	}

	// The confirm question, answered yes.
	curl := m.Server.URL() + "/hooks/confirm"
	asked := say(t, rc, curl, "c-conf", "k1", "How do I reset my password?")
	if !strings.HasSuffix(asked.Message.Text, "\n\n"+worker.DefaultConfirmText) {
		t.Fatalf("answer %q does not ask whether it helped", asked.Message.Text)
	}
	replies, err := m.Store.Replies(ctx, "confirm/c-conf")
	if err != nil || len(replies) != 1 || strings.Join(replies[0].Options, "/") != "Yes/No" {
		t.Fatalf("replies = %+v, %v; want Yes/No options", replies, err)
	}
	if r := say(t, rc, curl, "c-conf", "k2", "yes"); r.State != "resolved" {
		t.Fatalf("reply to yes = %+v", r)
	}

	get := scrapeMetrics(t, m.Server.URL())
	if got := get("supportbot_conversation_outcomes", map[string]string{"outcome": "confirmed"}); got != 2 {
		t.Fatalf("confirmed outcomes = %v, want 2", got)
	}
	if got := get("supportbot_decisions_total", map[string]string{"reason": bot.ReasonAnswerRejected}); got != 1 {
		t.Fatalf("answer_rejected decisions = %v, want 1", got)
	}
}

func TestAskShowsActs(t *testing.T) {
	for _, text := range []string{"thanks!", "thank you so much that worked", "hello", "hi there", "ok", "bye", "yes", "great"} {
		var out, errOut strings.Builder
		code := run(context.Background(), []string{"ask", text, "--faq", "../../faq/kb", "--config", "../../config.yaml"}, strings.NewReader(""), &out, &errOut)
		if code != 0 {
			t.Fatalf("ask %q: exit %d: %s", text, code, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "act:") || strings.Contains(out.String(), "decision:   escalate") {
			t.Fatalf("ask %q:\n%s\nwant the act, not an escalation", text, out.String())
		}
	}
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"ask", "hi, how do I reset my password?", "--faq", "../../faq/kb", "--config", "../../config.yaml"}, strings.NewReader(""), &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "entry:      password-reset") {
		t.Fatalf("ask greeting+question: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

func TestConversationConfig(t *testing.T) {
	cfg, err := LoadConfig("", false)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Conversation.Acts || cfg.Conversation.Greeting != worker.DefaultGreetingText || cfg.Conversation.ConfirmText != worker.DefaultConfirmText {
		t.Fatalf("conversation defaults = %+v", cfg.Conversation)
	}
	no := false
	for _, tc := range []struct {
		cfg  triggers.Config
		want bool
	}{
		{triggers.Config{Kind: "web"}, true},
		{triggers.Config{Kind: "zendesk"}, false},
		{triggers.Config{Kind: "web", Confirm: &no}, false},
	} {
		if got := triggerSettings(tc.cfg).Confirm; got != tc.want {
			t.Errorf("confirm for %+v = %v, want %v", tc.cfg, got, tc.want)
		}
	}
	bad := cfg
	bad.Conversation.ConfirmText = ""
	bad.Conversation.ActsFile = "/does/not/exist"
	err = bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "conversation.confirm_text: required") || !strings.Contains(err.Error(), "conversation.acts_file") {
		t.Fatalf("Validate = %v, want both keys named", err)
	}
	if s, ok := kbActReply(nil, acts.Greeting); ok || s != "" {
		t.Fatalf("no knowledge base: %q, %v", s, ok)
	}
	kb := &faq.KB{Entries: []faq.Entry{
		{ID: "password-reset", Answer: "Use the link.", Tags: []string{"account"}},
		{ID: "hello", Answer: "Welcome to Acme!", Tags: []string{"greeting"}},
		{ID: "thanks", Answer: "Anytime!"},
	}}
	for act, want := range map[acts.Act]string{acts.Greeting: "Welcome to Acme!", acts.Thanks: "Anytime!", acts.Goodbye: ""} {
		if got, _ := kbActReply(kb, act); got != want {
			t.Errorf("kbActReply(%s) = %q, want %q", act, got, want)
		}
	}
	if o := describeAct(cfg.Conversation, kb, acts.Greeting); !strings.Contains(o.Otherwise, "Welcome to Acme!") {
		t.Errorf("ask shows %+v, want the entry's greeting", o)
	}
}

// TestActsBeforeTheLLM runs with llm.mode always: acts are answered without
// a call to the model, questions still reach it.
func TestActsBeforeTheLLM(t *testing.T) {
	var calls atomic.Int64
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":{"message":"down"}}`, http.StatusInternalServerError)
	}))
	t.Cleanup(llm.Close)
	rc := newReceiver(t)
	cfg := testConfig(t, rc.URL)
	cfg.LLM.Mode, cfg.LLM.BaseURL, cfg.LLM.APIKey, cfg.LLM.MaxRetries = "always", llm.URL, "sk-test", 0
	m := mustOpenMain(t, cfg)
	url := m.Server.URL() + "/hooks/chat"

	if r := say(t, rc, url, "c-llm", "l1", "hello"); r.Message.Text != worker.DefaultGreetingText {
		t.Fatalf("reply to hello = %+v", r)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d model calls for a greeting", n)
	}
	if r := say(t, rc, url, "c-llm", "l2", "How do I reset my password?"); r.State != "bot" {
		t.Fatalf("reply to the question = %+v, want the local answer when the model is down", r)
	}
	asked := calls.Load()
	if asked == 0 {
		t.Fatal("the question never reached the model")
	}
	if r := say(t, rc, url, "c-llm", "l3", "thank you so much that worked"); r.State != "resolved" {
		t.Fatalf("reply to thanks = %+v", r)
	}
	if n := calls.Load(); n != asked {
		t.Fatalf("thanks cost %d more model calls", n-asked)
	}
}
