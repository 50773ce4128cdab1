package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// TestDeadLetterReplay: a callback that always fails dead-letters the reply
// after the configured attempts; once the callback is back, `supportbot dlq
// replay --all` delivers it, once.
func TestDeadLetterReplay(t *testing.T) {
	rc := newReceiver(t)
	var down atomic.Bool
	var attempts atomic.Int32
	down.Store(true)
	rc.status = func() int {
		attempts.Add(1)
		if down.Load() {
			return http.StatusInternalServerError
		}
		return 0
	}
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers.MaxAttempts = 3
	m := mustOpenMain(t, cfg)
	if status, _ := post(t, m.Server.URL()+"/hooks/chat", "msg_dlq", nativeEvent("c-dlq", "How do I reset my password?"), nil); status != http.StatusAccepted {
		t.Fatalf("post = %d", status)
	}
	waitFor(t, 15*time.Second, func() error {
		dead, err := m.Store.ListJobs(context.Background(), bot.JobFilter{State: bot.JobDiscarded})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 {
			return errors.New("reply never dead-lettered")
		}
		return nil
	})
	if got, want := attempts.Load(), int32(3); got != want {
		t.Fatalf("callback attempts = %d, want %d", got, want)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"dlq", "list", "--config", cfgPath}, nil, &out, io.Discard); code != 0 {
		t.Fatalf("dlq list exit %d", code)
	}
	if !strings.Contains(out.String(), "deliver") || !strings.Contains(out.String(), "500") {
		t.Fatalf("dlq list output:\n%s", out.String())
	}
	count := scrapeMetrics(t, m.Server.URL())
	if got := count("supportbot_upstream_errors_total", map[string]string{"upstream": "reply", "class": "error"}); got != 3 {
		t.Fatalf("reply-channel errors counted %v, want 3", got)
	}
	if got := count("supportbot_jobs_total", map[string]string{"kind": "deliver", "outcome": "discarded"}); got != 1 {
		t.Fatalf("dead-lettered deliveries counted %v, want 1", got)
	}
	down.Store(false)
	out.Reset()
	if code := run(context.Background(), []string{"dlq", "replay", "--all", "--config", cfgPath}, nil, &out, io.Discard); code != 0 {
		t.Fatalf("dlq replay exit %d: %s", code, out.String())
	}
	ev := rc.next(t)
	if ev.Conversation.ID != "c-dlq" {
		t.Fatalf("replayed reply = %+v", ev)
	}
	select {
	case ev := <-rc.ch:
		t.Fatalf("second reply %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestGracefulShutdownLosesNothing: replies in flight when the service is
// closed are finished or released, and a restart on the same database
// delivers everything that was acknowledged.
func TestGracefulShutdownLosesNothing(t *testing.T) {
	rc := newReceiver(t)
	var slow atomic.Bool
	slow.Store(true)
	gate := make(chan struct{})
	rc.status = func() int {
		if slow.Load() {
			<-gate // hold deliveries until shutdown has begun
			return http.StatusServiceUnavailable
		}
		return 0
	}
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.ShutdownTimeout = 200 * time.Millisecond
	m := NewMain(cfg, discardLogger())
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.FAQ.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		conv := "g-" + string(rune('a'+i))
		if status, _ := post(t, m.Server.URL()+"/hooks/chat", "msg_g"+conv, nativeEvent(conv, "Where is my invoice?"), nil); status != http.StatusAccepted {
			t.Fatalf("post %d = %d", i, status)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	time.Sleep(50 * time.Millisecond)
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	slow.Store(false)
	m2 := mustOpenMain(t, cfg)
	_ = m2
	got := map[string]bool{}
	for len(got) < n {
		got[rc.next(t).Conversation.ID] = true
	}
}

// TestSendCommand signs with the trigger's secret the way the service
// verifies it, for each kind send supports.
func TestSendCommand(t *testing.T) {
	rc := newReceiver(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", rc.URL)
	extra := `  - name: gh
    kind: hmac
    secret: "It's a Secret to Everybody"
    hmac: {header: X-Hub-Signature-256, prefix: "sha256="}
    reply: {kind: webhook, url: "` + rc.URL + `", secret: "` + testOutSecret + `"}
  - name: tok
    kind: token
    token: "t0ken-t0ken"
    reply: {kind: webhook, url: "` + rc.URL + `", secret: "` + testOutSecret + `"}
  - name: zd
    kind: zendesk
    secret: "zd-secret"
    reply: {kind: none}
  - name: ic
    kind: intercom
    secret: "ic-secret"
    reply: {kind: none}
  - name: hs
    kind: helpscout
    secret: "hs-secret"
    reply: {kind: none}
  - name: site
    kind: web
    secret: "site-chat-secret"
    reply: {kind: web}
`
	appendFile(t, cfgPath, extra)
	cfg, err := LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	m := mustOpenMain(t, cfg)
	for _, name := range []string{"chat", "gh", "tok"} {
		file := filepath.Join(dir, name+".json")
		if err := os.WriteFile(file, nativeEvent("send-"+name, "How do I reset my password?"), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"send", "--config", cfgPath, "--trigger", name, "--file", file, "--url", m.Server.URL()}, nil, &out, &errOut)
		if code != 0 || !strings.HasPrefix(out.String(), "202 ") {
			t.Fatalf("send %s: exit %d, out %q, err %q", name, code, out.String(), errOut.String())
		}
		if ev := rc.next(t); ev.Conversation.ID != "send-"+name {
			t.Fatalf("reply for %s = %+v", name, ev)
		}
	}
	// Vendor kinds are signed the vendor's way: their fixtures are accepted.
	for _, v := range []struct{ name, fixture string }{
		{"zd", "../../triggers/zendesk/testdata/trigger_comment.json"},
		{"ic", "../../triggers/intercom/testdata/conversation_user_created.json"},
		{"hs", "../../triggers/helpscout/testdata/convo_created.json"},
	} {
		var out, errOut bytes.Buffer
		args := []string{"send", "--config", cfgPath, "--trigger", v.name, "--file", v.fixture, "--url", m.Server.URL()}
		if v.name == "hs" {
			args = append(args, "--header", "X-HelpScout-Event: convo.created")
		}
		if code := run(context.Background(), args, nil, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "202 ") {
			t.Fatalf("send %s: exit %d, out %q, err %q", v.name, code, out.String(), errOut.String())
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"send", "--config", cfgPath, "--trigger", "nope", "--file", "x"}, nil, io.Discard, &errOut); code != 2 {
		t.Fatalf("unknown trigger: exit %d, want 2 (%s)", code, errOut.String())
	}
	// A web chat trigger takes visitor sessions, not signatures: send says
	// so instead of posting a request that can only get 401.
	errOut.Reset()
	webFile := filepath.Join(dir, "web.json")
	if err := os.WriteFile(webFile, []byte(`{"text":"hello"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"send", "--config", cfgPath, "--trigger", "site", "--file", webFile}, nil, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "/chat/site") {
		t.Fatalf("web trigger: exit %d, want 2 naming the chat page (%s)", code, errOut.String())
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestReplyCallbackOutage: while the reply callback answers 503, the
// replies of every conversation wait in the queue; when it is back they are
// all delivered without an operator, each once, in order per conversation.
func TestReplyCallbackOutage(t *testing.T) {
	rc := newReceiver(t)
	var down atomic.Bool
	var refused atomic.Int32
	down.Store(true)
	rc.status = func() int {
		if down.Load() {
			refused.Add(1)
			return http.StatusServiceUnavailable
		}
		return 0
	}
	cfg := testConfig(t, rc.URL)
	cfg.Workers.MaxAttempts = 50
	m := mustOpenMain(t, cfg)
	hooks := m.Server.URL() + "/hooks/chat"
	questions := []string{"How do I reset my password?", "Is there a free trial?", "How do I turn on two-factor authentication?"}
	const convs = 4
	perConv := len(questions)
	for i, q := range questions {
		for c := range convs {
			id := fmt.Sprintf("out-%d-%d", c, i)
			if status, _ := post(t, hooks, id, nativeEvent(fmt.Sprintf("c-out-%d", c), q), nil); status != http.StatusAccepted {
				t.Fatalf("post %s = %d", id, status)
			}
		}
	}
	// The outage lasts until every conversation's first reply was refused
	// more than once.
	waitFor(t, 15*time.Second, func() error {
		if n := refused.Load(); n < 2*convs {
			return fmt.Errorf("only %d refused deliveries", n)
		}
		return nil
	})
	select {
	case ev := <-rc.ch:
		t.Fatalf("a reply got through the outage: %+v", ev)
	default:
	}
	down.Store(false)
	got := map[string][]string{}
	for range convs * perConv {
		ev := rc.next(t)
		got[ev.Conversation.ID] = append(got[ev.Conversation.ID], ev.Message.Text)
	}
	// The answers of each conversation arrive in the order of its questions.
	marks := []string{"Forgot password", "14 days", "Two-factor authentication"}
	for c := range convs {
		answers := got[fmt.Sprintf("c-out-%d", c)]
		if len(answers) != perConv {
			t.Fatalf("conversation %d got %d answers, want %d", c, len(answers), perConv)
		}
		for i, mark := range marks {
			if !strings.Contains(answers[i], mark) {
				t.Fatalf("conversation %d answer %d = %q, want the one with %q", c, i+1, answers[i], mark)
			}
		}
	}
	select {
	case ev := <-rc.ch:
		t.Fatalf("extra reply after the outage: %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
	if dead, err := m.Store.ListJobs(t.Context(), bot.JobFilter{State: bot.JobDiscarded}); err != nil || len(dead) != 0 {
		t.Fatalf("dead letters after the outage: %d (%v)", len(dead), err)
	}
}
