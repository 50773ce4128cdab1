package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/web"
)

// webConfig is testConfig with one web trigger "web" whose secret is left
// empty, as in the shipped config.yaml: Open generates it.
func webConfig(t *testing.T) Config {
	t.Helper()
	cfg := testConfig(t, "http://127.0.0.1:1/unused")
	zero := time.Duration(0)
	cfg.Triggers = []triggers.Config{{Name: "web", Kind: "web", Burst: &zero, Reply: triggers.ReplyConfig{Kind: "web"}}}
	return cfg
}

type chatSession struct {
	VisitorID   string `json:"visitor_id"`
	Token       string `json:"token"`
	StreamToken string `json:"stream_token"`
}

func newChatSession(t *testing.T, base string) chatSession {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/chat/web/session", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s chatSession
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK || s.Token == "" {
		t.Fatalf("session = %d %+v %v", resp.StatusCode, s, err)
	}
	return s
}

func chatSay(t *testing.T, base string, s chatSession, id, text string) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"id": id, "text": text})
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/web", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.VisitorHeader, s.VisitorID)
	req.Header.Set(web.TokenHeader, s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

type chatEvent struct {
	Event, ID string
	Line      struct {
		ID        string    `json:"id"`
		Author    string    `json:"author"`
		AgentName string    `json:"agent_name"`
		Kind      string    `json:"kind"`
		Text      string    `json:"text"`
		State     bot.State `json:"state"`
	}
}

// chatStream reads /chat/web/events in the background, as EventSource does.
type chatStream struct {
	events chan chatEvent
}

func openChatStream(t *testing.T, base string, s chatSession, lastEventID string) *chatStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/chat/web/events?visitor="+s.VisitorID+"&token="+s.StreamToken, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	client := &http.Client{}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("events = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cs := &chatStream{events: make(chan chatEvent, 100)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(cs.events)
		sc := bufio.NewScanner(resp.Body)
		var cur chatEvent
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "":
				if cur.Event != "" {
					cs.events <- cur
				}
				cur = chatEvent{}
			case "event":
				cur.Event = v
			case "id":
				cur.ID = v
			case "data":
				_ = json.Unmarshal([]byte(v), &cur.Line)
			}
		}
	})
	t.Cleanup(func() {
		resp.Body.Close()
		wg.Wait()
		client.CloseIdleConnections()
	})
	return cs
}

// next returns the next event, skipping those of the kinds in skip.
func (cs *chatStream) next(t *testing.T, skip ...string) chatEvent {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e, ok := <-cs.events:
			if !ok {
				t.Fatal("stream ended, want an event")
			}
			if !containsString(skip, e.Event) {
				return e
			}
		case <-deadline:
			t.Fatal("no event within 15s")
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestWebChatAnswerEscalateAndAgent runs the web chat through the real
// Main: a visitor's FAQ question is answered on the stream, a request for a
// person gets the hand-off reply, an agent's reply relayed as from Slack
// arrives live, and a reconnect with Last-Event-ID replays what was missed.
func TestWebChatAnswerEscalateAndAgent(t *testing.T) {
	m := mustOpenMain(t, webConfig(t))
	base := m.Server.URL()
	s := newChatSession(t, base)
	key := "web/" + s.VisitorID
	st := openChatStream(t, base, s, "")
	if e := st.next(t); e.Event != "ready" || e.ID != "-" {
		t.Fatalf("first event %+v, want ready with cursor -", e)
	}

	if resp, body := chatSay(t, base, s, "m-1", "How do I reset my password?"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("say = %d %v, want 202", resp.StatusCode, body)
	}
	answer := st.next(t)
	if answer.Event != "reply" || answer.Line.Author != "bot" || answer.Line.Kind != bot.ReplyAnswer ||
		!strings.Contains(answer.Line.Text, "Forgot password") || answer.ID != answer.Line.ID {
		t.Fatalf("answer = %+v, want the FAQ's password answer", answer)
	}

	if resp, _ := chatSay(t, base, s, "m-2", "I want to talk to a human"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("say = %d, want 202", resp.StatusCode)
	}
	handoff := st.next(t, "state") // the status line's own event comes first
	if handoff.Line.Kind != bot.ReplyHandoff || !strings.Contains(handoff.Line.Text, "A person from our team will reply") ||
		handoff.Line.State != bot.StateEscalated {
		t.Fatalf("hand-off = %+v", handoff)
	}

	// An agent answers in the Slack thread; the relay queues the reply and
	// the web channel streams it.
	queued, err := m.Store.QueueAgentReply(context.Background(), "slack:C1:1.0001", bot.Reply{
		ID: "rpl_agent_1", ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent,
		AgentName: "Grace", Text: "Hi, Grace here. <b>Let me check.</b>", CreatedAt: time.Now().UTC(),
	})
	if err != nil || !queued {
		t.Fatalf("queue agent reply = %v, %v", queued, err)
	}
	agent := st.next(t, "state")
	if agent.ID != "rpl_agent_1" || agent.Line.Author != "agent" || agent.Line.AgentName != "Grace" ||
		agent.Line.Text != "Hi, Grace here. <b>Let me check.</b>" || agent.Line.State != bot.StateAgent {
		t.Fatalf("agent reply = %+v", agent)
	}

	// A page that saw only the answer replays the hand-off and the agent's
	// reply, then is ready at the agent's reply.
	st2 := openChatStream(t, base, s, answer.ID)
	for _, want := range []string{handoff.ID, "rpl_agent_1"} {
		if e := st2.next(t); e.Event != "reply" || e.ID != want {
			t.Fatalf("replay = %+v, want reply %s", e, want)
		}
	}
	if e := st2.next(t); e.Event != "ready" || e.ID != "rpl_agent_1" || e.Line.State != bot.StateAgent {
		t.Fatalf("after replay %+v, want ready at rpl_agent_1 in state agent", e)
	}

	// A new page gets the transcript: the visitor's lines and the replies.
	st3 := openChatStream(t, base, s, "")
	var got []string
	for {
		e := st3.next(t)
		if e.Event == "ready" {
			break
		}
		got = append(got, e.Line.Author+":"+e.Line.ID)
	}
	want := []string{"customer:c:m-1", "bot:" + answer.ID, "customer:c:m-2", "bot:" + handoff.ID, "agent:rpl_agent_1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("transcript = %v, want %v", got, want)
	}

	// The visitor writes while people own the conversation: the bot stays
	// silent and the message waits for the agent.
	if resp, _ := chatSay(t, base, s, "m-3", "thanks, I'll wait"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("say = %d, want 202", resp.StatusCode)
	}
	conv, err := m.Store.Conversation(context.Background(), key)
	if err != nil || conv.State != bot.StateAgent {
		t.Fatalf("conversation = %+v, %v; want state agent", conv, err)
	}
}

func TestWebChatRateLimits(t *testing.T) {
	cfg := webConfig(t)
	cfg.WebChat.PerVisitor = triggers.RateConfig{Rate: 0.001, Burst: 2}
	cfg.Triggers[0].PerIP = triggers.RateConfig{Rate: 0.001, Burst: 4}
	m := mustOpenMain(t, cfg)
	base := m.Server.URL()
	a := newChatSession(t, base)
	for i, id := range []string{"a1", "a2"} {
		if resp, body := chatSay(t, base, a, id, "hello"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("message %d = %d %v, want 202", i, resp.StatusCode, body)
		}
	}
	resp, body := chatSay(t, base, a, "a3", "hello")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("3rd message of one visitor = %d %v (Retry-After %q), want 429 with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body["error"].(string), "visitor") {
		t.Fatalf("429 body = %v, want it to say the visitor's limit", body)
	}
	// New visitors from the same address: the trigger's per-IP limit (4)
	// still applies, counted by the intake (2 used above).
	b := newChatSession(t, base)
	for i, id := range []string{"b1", "b2"} {
		if resp, _ := chatSay(t, base, b, id, "hello"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("visitor b message %d = %d, want 202", i, resp.StatusCode)
		}
	}
	c := newChatSession(t, base)
	resp, body = chatSay(t, base, c, "c1", "hello")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || strings.Contains(body["error"].(string), "visitor") {
		t.Fatalf("over the per-IP limit = %d %v, want the intake's 429", resp.StatusCode, body)
	}
}

func TestWebChatConfig(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "web trigger with webhook reply", mutate: func(c *Config) {
			c.Triggers[0].Reply = triggers.ReplyConfig{Kind: "webhook", URL: "https://example.com/r"}
		}, wantErr: "triggers[0] (web).reply.kind: a web trigger replies on its chat page: use web"},
		{name: "web reply on a standard trigger", mutate: func(c *Config) {
			c.Triggers[0].Kind = "standard"
		}, wantErr: "triggers[0] (web).reply.kind: web needs a trigger of kind web"},
		{name: "web reply with a url", mutate: func(c *Config) {
			c.Triggers[0].Reply.URL = "https://example.com/r"
		}, wantErr: "reply.url: not used by reply kind web"},
		{name: "bad frame ancestor", mutate: func(c *Config) {
			c.WebChat.FrameAncestors = []string{"https://ok.example.com", "https://x.example.com; script-src *"}
		}, wantErr: `webchat.frame_ancestors[1]: "https://x.example.com; script-src *" is not an origin`},
		{name: "short session", mutate: func(c *Config) { c.WebChat.SessionTTL = time.Second }, wantErr: "webchat.session_ttl: must be at least 1m"},
		{name: "negative rate", mutate: func(c *Config) { c.WebChat.PerVisitor.Rate = -1 }, wantErr: "webchat.per_visitor.rate: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := webConfig(t)
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
			m := NewMain(cfg, discardLogger())
			if err := m.Open(context.Background()); err == nil {
				_ = m.Close()
				t.Fatal("Open() = nil, want a configuration error")
			}
		})
	}
	// Without a web trigger the webchat keys are not checked, and /chat is
	// not served.
	cfg := testConfig(t, "http://127.0.0.1:1/unused")
	cfg.WebChat = WebChatConfig{}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() without a web trigger = %v", err)
	}
	m := mustOpenMain(t, cfg)
	resp, err := http.Get(m.Server.URL() + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/chat without a web trigger = %d, want 404", resp.StatusCode)
	}
}

// TestWebChatCloseEndsStreams: shutting down does not wait for open reply
// streams (they would hold the HTTP server's Shutdown to its timeout).
func TestWebChatCloseEndsStreams(t *testing.T) {
	m := mustOpenMain(t, webConfig(t))
	base := m.Server.URL()
	s := newChatSession(t, base)
	st := openChatStream(t, base, s, "")
	st.next(t) // ready
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close() = %v", err)
		}
	case <-time.After(m.Config.Server.ShutdownTimeout / 2):
		t.Fatalf("Close() still running after %v with a stream open", time.Since(start))
	}
	for range st.events { // the stream has ended: the channel closes
	}
}
