package webchat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/web"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type testBundle struct {
	store   *sqlite.Store
	trigger *web.Trigger
	hub     *webchat.Hub
	chat    *webchat.Chat
	srv     *httptest.Server
	client  *http.Client
}

// setup serves a chat for the web trigger "site" in front of the real
// intake, on a real store. configure adjusts the chat and its HTTP server
// before they start.
func setup(t *testing.T, configure func(*webchat.Chat, *http.Server)) *testBundle {
	t.Helper()
	tb := &testBundle{}
	tb.store = sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	if err := tb.store.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.store.Close() })
	noBurst := time.Duration(0) // the process job is due at once
	e, err := triggers.Kinds{web.Kind: web.New}.Build(triggers.Config{Name: "site", Kind: web.Kind, Secret: testSecret, Burst: &noBurst})
	if err != nil {
		t.Fatal(err)
	}
	tb.trigger = e.Trigger.(*web.Trigger)
	set := triggers.NewSet()
	set.Put(e)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	intake := &server.Server{Triggers: set, Intake: tb.store, Now: time.Now, Logger: logger}
	tb.hub = &webchat.Hub{}
	tb.chat = &webchat.Chat{
		Hub: tb.hub, Store: tb.store, Intake: intake.Handler(), Audit: tb.store.Audit, Revocations: tb.store,
		PerVisitor: triggers.RateConfig{Rate: 0.001, Burst: 3}, Logger: logger,
	}
	tb.chat.Add("site", tb.trigger)
	tb.srv = httptest.NewUnstartedServer(nil)
	if configure != nil {
		configure(tb.chat, tb.srv.Config)
	}
	if err := tb.chat.Init(); err != nil {
		t.Fatal(err)
	}
	tb.srv.Config.Handler = tb.chat.Handler()
	tb.srv.Start()
	// The hub closes first, as Main does, so that streams end and the
	// server's Close does not wait for them.
	t.Cleanup(tb.srv.Close)
	t.Cleanup(tb.hub.Close)
	tb.client = &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(tb.client.CloseIdleConnections)
	return tb
}

// session is a visitor's session as the chat page gets it.
type session struct {
	VisitorID string    `json:"visitor_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	HookURL   string    `json:"hook_url"`
	EventsURL string    `json:"events_url"`
	// StreamToken is the short-lived token of the events URL.
	StreamToken string `json:"stream_token"`
}

func (tb *testBundle) mustSession(t *testing.T) session {
	t.Helper()
	resp, s := tb.postSession(t, `{}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("session status=%d, want 200", resp.StatusCode)
	}
	return s
}

func (tb *testBundle) postSession(t *testing.T, body string, mutate func(*http.Request)) (*http.Response, session) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat/site/session", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if mutate != nil {
		mutate(req)
	}
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s session
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return resp, s
}

// say posts a chat message as the page does and returns the status.
func (tb *testBundle) say(t *testing.T, s session, id, text string) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"id": id, "text": text})
	req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/hooks/site", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.VisitorHeader, s.VisitorID)
	req.Header.Set(web.TokenHeader, s.Token)
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// claim claims the next job of kind, failing when there is none.
func (tb *testBundle) claim(t *testing.T, kind string) *bot.Job {
	t.Helper()
	jobs, err := tb.store.ClaimJobs(context.Background(), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var found *bot.Job
	for _, j := range jobs {
		if j.Kind == kind && found == nil {
			found = j
			continue
		}
		_ = tb.store.ReleaseJob(context.Background(), j.ID, time.Now())
	}
	if found == nil {
		t.Fatalf("no %s job to claim among %d", kind, len(jobs))
	}
	return found
}

// mustAnswer records the visitor's message (sent through the chat) and the
// bot's answer, as the engine does, and marks the answer sent unless
// deliver is false. It returns the answer's reply.
func (tb *testBundle) mustAnswer(t *testing.T, s session, clientID, question, replyID, answer string, deliver bool) bot.Reply {
	t.Helper()
	ctx := context.Background()
	resp, body := tb.say(t, s, clientID, question)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("say status=%d %v, want 202", resp.StatusCode, body)
	}
	inboxID, err := sqlite.ParseEventRef(body["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	job := tb.claim(t, bot.JobProcess)
	in, err := tb.store.RecordInbound(ctx, inboxID, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := bot.Reply{
		ID: replyID, Trigger: "site", ConversationKey: in.Conversation.Key, ConversationID: s.VisitorID,
		Kind: bot.ReplyAnswer, Author: bot.AuthorBot, Text: answer, State: bot.StateBot, CreatedAt: time.Now().UTC(),
	}
	if err := tb.store.ApplyDecision(ctx, bot.Outcome{
		JobID: job.ID, ConversationKey: r.ConversationKey, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: answer}, Replies: []bot.Reply{r},
	}); err != nil {
		t.Fatal(err)
	}
	if deliver {
		tb.markSent(t, r.ID)
	}
	return r
}

// queueAgentReply queues an agent's reply as the Slack relay does and
// returns it as the worker hands it to the reply channel.
func (tb *testBundle) queueAgentReply(t *testing.T, key, id, text string) bot.Reply {
	t.Helper()
	r := bot.Reply{ID: id, ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: "Grace", Text: text, CreatedAt: time.Now().UTC()}
	if queued, err := tb.store.QueueAgentReply(context.Background(), "test:"+id, r); err != nil || !queued {
		t.Fatalf("queue agent reply = %v, %v", queued, err)
	}
	prepared, send, err := tb.store.PrepareReply(context.Background(), id)
	if err != nil || !send {
		t.Fatalf("prepare reply = %v, %v", send, err)
	}
	return prepared
}

func (tb *testBundle) markSent(t *testing.T, replyID string) {
	t.Helper()
	job := tb.claim(t, bot.JobDeliver)
	if err := tb.store.MarkReplySent(context.Background(), job.ID, replyID); err != nil {
		t.Fatal(err)
	}
}

type sseEvent struct {
	Event, ID, Data string
	Comment         bool
}

// stream is an open event stream read in the background.
type stream struct {
	resp   *http.Response
	events chan sseEvent
}

// openStream GETs url as EventSource does; lastEventID "" sends none.
func (tb *testBundle) openStream(t *testing.T, url, lastEventID string) *stream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	client := &http.Client{} // no timeout: the stream is long-lived
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s = %d %s, want 200", url, resp.StatusCode, b)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/event-stream"; got != want {
		t.Fatalf("Content-Type=%q, want %q", got, want)
	}
	s := &stream{resp: resp, events: make(chan sseEvent, 100)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur != (sseEvent{}) {
					s.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				s.events <- sseEvent{Comment: true, Data: line}
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "event":
					cur.Event = v
				case "id":
					cur.ID = v
				case "data":
					cur.Data = v
				case "retry":
				default:
					t.Errorf("unexpected stream line %q", line)
				}
			}
		}
	})
	t.Cleanup(func() {
		resp.Body.Close()
		wg.Wait()
		client.CloseIdleConnections()
	})
	return s
}

// next returns the next event that is not a comment.
func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatal("stream ended, want an event")
			}
			if !e.Comment {
				return e
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
		}
	}
}

// ended waits for the stream to end.
func (s *stream) ended(t *testing.T) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("stream still open after 5s")
		}
	}
}

func eventsURL(tb *testBundle, s session) string {
	return tb.srv.URL + "/chat/site/events?visitor=" + s.VisitorID + "&token=" + s.StreamToken
}

func decodeLine(t *testing.T, e sseEvent) webchat.Event {
	t.Helper()
	var line webchat.Event
	if err := json.Unmarshal([]byte(e.Data), &line); err != nil {
		t.Fatalf("event data %q: %v", e.Data, err)
	}
	return line
}

func TestEventsReplayAndLive(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	key := "site/" + s.VisitorID
	r1 := tb.mustAnswer(t, s, "m-1", "How do I reset my password?", "rpl_1", "Click Forgot password.", true)
	r2 := tb.mustAnswer(t, s, "m-2", "<script>alert(1)</script>", "rpl_2", "Anything else?", true)

	// A new page gets the whole transcript, the customer's lines included,
	// then ready with the last reply as its cursor.
	st := tb.openStream(t, eventsURL(tb, s), "")
	want := []struct{ event, id, author, text string }{
		{"customer", "", "customer", "How do I reset my password?"},
		{"reply", r1.ID, "bot", r1.Text},
		{"customer", "", "customer", "<script>alert(1)</script>"},
		{"reply", r2.ID, "bot", r2.Text},
	}
	for i, w := range want {
		e := st.next(t)
		line := decodeLine(t, e)
		if e.Event != w.event || e.ID != w.id || line.Author != w.author || line.Text != w.text {
			t.Fatalf("event %d = %+v %+v, want %+v", i, e, line, w)
		}
	}
	if e := st.next(t); e.Event != "ready" || e.ID != r2.ID || !strings.Contains(e.Data, `"state":"bot"`) {
		t.Fatalf("after the replay: %+v, want ready with id %s and state bot", e, r2.ID)
	}
	if got, want := tb.hub.Subscribers(key), 1; got != want {
		t.Fatalf("Subscribers=%d, want %d", got, want)
	}

	// Live: a reply delivered through the web channel reaches the page.
	d := &webchat.Deliverer{Hub: tb.hub}
	live := tb.queueAgentReply(t, key, "rpl_3", "I can help.")
	if err := d.Deliver(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	e := st.next(t)
	if line := decodeLine(t, e); e.Event != "reply" || e.ID != "rpl_3" || line.AgentName != "Grace" || line.Author != "agent" || line.Text != "I can help." {
		t.Fatalf("live event=%+v %+v", e, line)
	}
	// A delivery retry of the same reply is not shown twice.
	if err := d.Deliver(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), tb.queueAgentReply(t, key, "rpl_4", "Done.")); err != nil {
		t.Fatal(err)
	}
	if e := st.next(t); e.ID != "rpl_4" {
		t.Fatalf("after a repeated delivery got %+v, want rpl_4 (the repeat dropped)", e)
	}

	// Reconnecting with Last-Event-ID replays only what was missed: r2 from
	// the store; rpl_3 and rpl_4 were published but are not marked sent yet
	// (the worker records that after Deliver returns), so they come from the
	// hub's recent events.
	st2 := tb.openStream(t, eventsURL(tb, s), r1.ID)
	for _, id := range []string{r2.ID, "rpl_3", "rpl_4"} {
		if e := st2.next(t); e.Event != "reply" || e.ID != id {
			t.Fatalf("replay after %s: got %+v, want reply %s", r1.ID, e, id)
		}
	}
	if e := st2.next(t); e.Event != "ready" || e.ID != "rpl_4" {
		t.Fatalf("got %+v, want ready with id rpl_4", e)
	}
	tb.markSent(t, "rpl_3")

	// The query parameter after= is the cursor of a page that opened a new
	// EventSource; at the end nothing is replayed.
	st3 := tb.openStream(t, eventsURL(tb, s)+"&after=rpl_4", "")
	if e := st3.next(t); e.Event != "ready" || e.ID != "rpl_4" {
		t.Fatalf("after the last reply: %+v, want only ready", e)
	}
}

func TestEventsReplayFromStoreAfterRestart(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	r1 := tb.mustAnswer(t, s, "m-1", "first", "rpl_a", "answer one", true)
	r2 := tb.mustAnswer(t, s, "m-2", "second", "rpl_b", "answer two", true)
	// Not delivered yet (queued): never replayed.
	tb.mustAnswer(t, s, "m-3", "third", "rpl_c", "answer three", false)

	// Nothing was published to the hub: the replay is the store's.
	st := tb.openStream(t, eventsURL(tb, s), r1.ID)
	if e := st.next(t); e.ID != r2.ID || e.Event != "reply" {
		t.Fatalf("got %+v, want reply %s", e, r2.ID)
	}
	if e := st.next(t); e.Event != "ready" || e.ID != r2.ID {
		t.Fatalf("got %+v, want ready %s (the queued reply is not shown)", e, r2.ID)
	}

	// Last-Event-ID "-": the page had the transcript before any reply.
	st2 := tb.openStream(t, eventsURL(tb, s), "-")
	for _, id := range []string{r1.ID, r2.ID} {
		if e := st2.next(t); e.ID != id || e.Event != "reply" {
			t.Fatalf("got %+v, want reply %s and no customer lines", e, id)
		}
	}

	// A new conversation has nothing yet: ready with the start cursor.
	other := tb.mustSession(t)
	st3 := tb.openStream(t, eventsURL(tb, other), "")
	if e := st3.next(t); e.Event != "ready" || e.ID != "-" || !strings.Contains(e.Data, `"state":""`) {
		t.Fatalf("new conversation: %+v, want ready with id -", e)
	}
}

func TestEventsAuth(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	other := tb.mustSession(t)
	expired, _ := tb.trigger.Issue(s.VisitorID, time.Now().Add(-web.DefaultSessionTTL-time.Minute))
	tests := []struct {
		name string
		url  string
		want int
	}{
		{name: "no session", url: "/chat/site/events", want: http.StatusUnauthorized},
		{name: "token of another visitor", url: "/chat/site/events?visitor=" + s.VisitorID + "&token=" + other.Token, want: http.StatusUnauthorized},
		{name: "expired token", url: "/chat/site/events?visitor=" + s.VisitorID + "&token=" + expired, want: http.StatusUnauthorized},
		{name: "garbage", url: "/chat/site/events?visitor=x&token=y", want: http.StatusUnauthorized},
		{name: "unknown trigger", url: "/chat/nope/events?visitor=" + s.VisitorID + "&token=" + s.Token, want: http.StatusNotFound},
		{name: "POST", url: "/chat/site/events", want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.name == "POST" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, tb.srv.URL+tt.url, nil)
			resp, err := tb.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status=%d, want %d", resp.StatusCode, tt.want)
			}
		})
	}

	// The session cookie is accepted in place of the query parameters.
	resp, _ := tb.postSession(t, `{}`, nil)
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sb_chat_site" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/chat/site" {
		t.Fatalf("session cookie=%+v, want HttpOnly, SameSite=Lax, Path=/chat/site", ck)
	}
	req, _ := http.NewRequest(http.MethodGet, tb.srv.URL+"/chat/site/events", nil)
	req.AddCookie(ck)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := tb.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream with the cookie=%d, want 200", resp.StatusCode)
	}
}

// The stream outlives the server's read and write timeouts, and keeps the
// connection alive with comments.
func TestEventsOutliveServerTimeouts(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, srv *http.Server) {
		c.Heartbeat = 50 * time.Millisecond
		srv.ReadTimeout, srv.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	})
	s := tb.mustSession(t)
	st := tb.openStream(t, eventsURL(tb, s), "")
	if e := st.next(t); e.Event != "ready" {
		t.Fatalf("got %+v, want ready", e)
	}
	start := time.Now()
	heartbeats := 0
	for time.Since(start) < 700*time.Millisecond {
		select {
		case e, ok := <-st.events:
			if !ok {
				t.Fatalf("stream ended after %v, past the server's timeouts", time.Since(start))
			}
			if e.Comment {
				heartbeats++
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no heartbeat within 2s")
		}
	}
	if heartbeats < 3 {
		t.Fatalf("%d heartbeats in 700ms at 50ms, want several", heartbeats)
	}
	tb.hub.Publish("site/"+s.VisitorID, webchat.Event{ID: "rpl_late", Author: bot.AuthorBot, Text: "still here"})
	if e := st.next(t); e.ID != "rpl_late" {
		t.Fatalf("got %+v after the timeouts, want rpl_late", e)
	}
}

func TestEventsEndOnShutdown(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	st := tb.openStream(t, eventsURL(tb, s), "")
	if e := st.next(t); e.Event != "ready" {
		t.Fatalf("got %+v, want ready", e)
	}
	tb.hub.Close()
	st.ended(t)
	req, _ := http.NewRequest(http.MethodGet, eventsURL(tb, s), nil)
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after shutdown: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := tb.hub.Subscribers("site/" + s.VisitorID); got != 0 {
		t.Fatalf("Subscribers after shutdown=%d, want 0", got)
	}
}

// A page that goes away unsubscribes: no subscription outlives its request.
func TestEventsUnsubscribeOnDisconnect(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	key := "site/" + s.VisitorID
	st := tb.openStream(t, eventsURL(tb, s), "")
	st.next(t)
	if got := tb.hub.Subscribers(key); got != 1 {
		t.Fatalf("Subscribers=%d, want 1", got)
	}
	st.resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for tb.hub.Subscribers(key) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscription still open 5s after the client left")
		}
		// A publish makes the handler write, which fails on the closed
		// connection even where the close itself went unnoticed.
		tb.hub.Publish(key, webchat.Event{ID: "ping-" + time.Now().String(), Author: bot.AuthorBot, Text: "x"})
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSession(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	first := tb.mustSession(t)
	if !web.ValidVisitorID(first.VisitorID) || first.HookURL != "/hooks/site" || first.EventsURL != "/chat/site/events" {
		t.Fatalf("session=%+v", first)
	}
	if err := tb.trigger.CheckToken(first.VisitorID, first.Token, time.Now()); err != nil {
		t.Fatalf("issued token does not verify: %v", err)
	}

	// Resumed from the body (a page in a third-party frame).
	body, _ := json.Marshal(map[string]string{"visitor_id": first.VisitorID, "token": first.Token})
	if _, s := tb.postSession(t, string(body), nil); s.VisitorID != first.VisitorID {
		t.Fatalf("resumed visitor=%q, want %q", s.VisitorID, first.VisitorID)
	}
	// Resumed from the cookie.
	resp, _ := tb.postSession(t, `{}`, nil)
	ck := resp.Cookies()[0]
	resp, s := tb.postSession(t, ``, func(r *http.Request) { r.AddCookie(ck) })
	if resp.StatusCode != http.StatusOK || s.VisitorID != strings.Split(ck.Value, "~")[0] {
		t.Fatalf("cookie session=%d %+v, want the cookie's visitor", resp.StatusCode, s)
	}
	// A forged or foreign session is not resumed: a new visitor starts.
	other := tb.mustSession(t)
	forged, _ := json.Marshal(map[string]string{"visitor_id": first.VisitorID, "token": other.Token})
	if _, s := tb.postSession(t, string(forged), nil); s.VisitorID == first.VisitorID || s.VisitorID == other.VisitorID || s.VisitorID == "" {
		t.Fatalf("forged session resumed visitor %q", s.VisitorID)
	}

	refused := []struct {
		name   string
		body   string
		mutate func(*http.Request)
		want   int
	}{
		{name: "cross-site", body: `{}`, mutate: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, want: http.StatusForbidden},
		{name: "same-site other origin", body: `{}`, mutate: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, want: http.StatusForbidden},
		{name: "form post", body: `visitor_id=x`, mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, want: http.StatusUnsupportedMediaType},
		{name: "no content type", body: `{}`, mutate: func(r *http.Request) { r.Header.Del("Content-Type") }, want: http.StatusUnsupportedMediaType},
		{name: "not JSON", body: `{"visitor_id":`, want: http.StatusBadRequest},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := tb.postSession(t, tt.body, tt.mutate)
			if resp.StatusCode != tt.want {
				t.Fatalf("status=%d, want %d", resp.StatusCode, tt.want)
			}
			if len(resp.Cookies()) != 0 {
				t.Fatalf("a refused request set cookies %v", resp.Cookies())
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat/nope/session", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown trigger: %d, want 404", resp.StatusCode)
	}
}

// TestNewSessionsPerAddress: one address starts a bounded number of new
// chats (each costs a bucket in the per-visitor limit); a visitor who
// already has a session still resumes it.
func TestNewSessionsPerAddress(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	first := tb.mustSession(t)
	for i := 1; i < webchat.NewVisitorsPerIP.Burst; i++ {
		if resp, _ := tb.postSession(t, `{}`, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("new session %d = %d, want 200", i+1, resp.StatusCode)
		}
	}
	resp, _ := tb.postSession(t, `{}`, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || len(resp.Cookies()) != 0 {
		t.Fatalf("new session past the burst = %d (Retry-After %q, cookies %v), want 429 with Retry-After and no cookie",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Cookies())
	}
	body, _ := json.Marshal(map[string]string{"visitor_id": first.VisitorID, "token": first.Token})
	if resp, s := tb.postSession(t, string(body), nil); resp.StatusCode != http.StatusOK || s.VisitorID != first.VisitorID {
		t.Fatalf("resumed session = %d %+v, want the first visitor", resp.StatusCode, s)
	}
}

func TestHookPerVisitorLimit(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil) // burst 3, then a token every 1000s
	a := tb.mustSession(t)
	b := tb.mustSession(t)
	for i := range 3 {
		if resp, body := tb.say(t, a, "a-"+string(rune('0'+i)), "hello"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("message %d: %d %v, want 202", i, resp.StatusCode, body)
		}
	}
	resp, body := tb.say(t, a, "a-9", "hello again")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th message: %d %v, want 429", resp.StatusCode, body)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After=%q, want whole seconds >= 1", ra)
	}
	if !strings.Contains(body["error"].(string), "too many messages") {
		t.Fatalf("429 body=%v", body)
	}
	// A redelivery of an accepted message is limited too: the limit is on
	// requests, as the per-IP limit is.
	if resp, _ := tb.say(t, a, "a-0", "hello"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("retry while limited: %d, want 429", resp.StatusCode)
	}
	// Another visitor (same address) is not affected.
	if resp, body := tb.say(t, b, "b-1", "hi"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("other visitor: %d %v, want 202", resp.StatusCode, body)
	}
	// A forged session is not counted against the visitor it names, and
	// the intake refuses it.
	forged := session{VisitorID: b.VisitorID, Token: a.Token}
	if resp, _ := tb.say(t, forged, "f-1", "hi"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged session: %d, want 401", resp.StatusCode)
	}

	// The 429s are in the audit log, as the intake's own refusals are.
	var limited, unauthorized int
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := tb.store.ListAudit(context.Background(), bot.AuditFilter{Trigger: "site", Rejected: true})
		if err != nil {
			t.Fatal(err)
		}
		limited, unauthorized = 0, 0
		for _, e := range entries {
			switch e.Status {
			case http.StatusTooManyRequests:
				limited++
				if e.Error != "visitor rate limit exceeded" || e.Method != http.MethodPost {
					t.Fatalf("audit entry=%+v", e)
				}
			case http.StatusUnauthorized:
				unauthorized++
			}
		}
		if limited == 2 && unauthorized == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the audit log is written in the background
	}
	if limited != 2 || unauthorized != 1 {
		t.Fatalf("audit: %d 429s and %d 401s, want 2 and 1", limited, unauthorized)
	}
}

func TestHookMessages(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	resp, body := tb.say(t, s, "m-1", "How do I reset my password?")
	if resp.StatusCode != http.StatusAccepted || body["duplicate"] != false {
		t.Fatalf("say=%d %v, want 202", resp.StatusCode, body)
	}
	// The browser's retry of the same message is a duplicate.
	resp, body = tb.say(t, s, "m-1", "How do I reset my password?")
	if resp.StatusCode != http.StatusOK || body["duplicate"] != true {
		t.Fatalf("retry=%d %v, want 200 duplicate", resp.StatusCode, body)
	}
	resp, body = tb.say(t, s, "m-2", "   ")
	if resp.StatusCode != http.StatusBadRequest || body["field"] != "text" {
		t.Fatalf("blank=%d %v, want 400 naming text", resp.StatusCode, body)
	}
	resp, _ = tb.say(t, session{}, "m-3", "hi")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no session=%d, want 401", resp.StatusCode)
	}
}

func TestPageAndAssets(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) {
		c.Title = `Help <script>alert("t")</script>`
		c.FrameAncestors = []string{"https://www.example.com", "https://*.example.org:8443"}
	})
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := tb.client.Get(tb.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/chat/site")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page=%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, `<script>alert("t")`) || !strings.Contains(page, "Help &lt;script&gt;") {
		t.Fatalf("title not escaped in page:\n%s", page)
	}
	for _, want := range []string{`data-hook-url="/hooks/site"`, `data-events-url="/chat/site/events"`, `src="/chat/static/chat.js?v=`} {
		if !strings.Contains(page, want) {
			t.Fatalf("page lacks %s:\n%s", want, page)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'self' https://www.example.com https://*.example.org:8443"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %q", csp, want)
		}
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Fatalf("X-Frame-Options=%q with an allow-list, want none (it would forbid the listed origins)", xfo)
	}

	if resp, _ := get("/chat"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/chat/site" {
		t.Fatalf("/chat=%d to %q, want 302 to /chat/site", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get("/chat?embed=1"); resp.Header.Get("Location") != "/chat/site?embed=1" {
		t.Fatalf("/chat?embed=1 to %q", resp.Header.Get("Location"))
	}
	if resp, _ := get("/chat/nope"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown chat=%d, want 404", resp.StatusCode)
	}
	resp, js := get("/chat/widget.js")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		resp.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || !strings.Contains(js, "iframe") {
		t.Fatalf("widget.js=%d %v", resp.StatusCode, resp.Header)
	}
	resp, js = get("/chat/static/chat.js")
	if resp.StatusCode != http.StatusOK || !strings.Contains(js, "textContent") || strings.Contains(js, "innerHTML") {
		t.Fatalf("chat.js=%d; it must render with textContent and never innerHTML", resp.StatusCode)
	}
	resp, _ = get("/chat/static/chat.css")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("chat.css=%d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, tb.srv.URL+"/chat/static/chat.css", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("chat.css with its ETag=%d, want 304", resp.StatusCode)
	}
}

func TestPageSameOriginByDefault(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	resp, err := tb.client.Get(tb.srv.URL + "/chat/site")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'self'") {
		t.Fatalf("CSP=%q, want frame-ancestors 'self'", csp)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Fatalf("X-Frame-Options=%q, want SAMEORIGIN", got)
	}
}

func TestParseFrameAncestors(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{in: nil, want: "'self'"},
		{in: []string{"https://shop.example.com"}, want: "'self' https://shop.example.com"},
		{in: []string{"http://localhost:3000/", "https://*.example.com"}, want: "'self' http://localhost:3000 https://*.example.com"},
		{in: []string{"*"}, wantErr: true},
		{in: []string{"example.com"}, wantErr: true},
		{in: []string{"https://example.com/path"}, wantErr: true},
		{in: []string{"https://example.com; script-src *"}, wantErr: true},
		{in: []string{"https://example.com 'unsafe-inline'"}, wantErr: true},
		{in: []string{"javascript://example.com"}, wantErr: true},
		{in: []string{"https://user@example.com"}, wantErr: true},
		{in: []string{"https://example.com:99999"}, wantErr: true},
		{in: []string{"https://exa_mple.com"}, wantErr: true},
		{in: []string{"https://example.com?x"}, wantErr: true},
		{in: []string{"https://"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := webchat.ParseFrameAncestors(tt.in)
		if tt.wantErr {
			if err == nil || !strings.HasPrefix(err.Error(), "frame_ancestors[0]: ") {
				t.Fatalf("ParseFrameAncestors(%q)=%q, %v; want an error naming frame_ancestors[0]", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Fatalf("ParseFrameAncestors(%q)=%q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestInitRejectsBadConfig(t *testing.T) {
	for _, c := range []*webchat.Chat{
		{PerVisitor: triggers.RateConfig{Rate: -1}},
		{PerVisitor: triggers.RateConfig{Rate: 1, Burst: -1}},
		{FrameAncestors: []string{"nope"}},
	} {
		if err := c.Init(); err == nil {
			t.Fatalf("Init(%+v)=nil, want an error", c)
		}
	}
}
