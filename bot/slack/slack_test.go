package slack_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	"go.uber.org/goleak"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
	"github.com/supportbot/supportbot/bot/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// slacktest's websocket hub: the pending-message pump ranges over a
		// channel that is never closed (one per Socket Mode test server).
		goleak.IgnoreTopFunction("github.com/slack-go/slack/slacktest.handlePendingMessages"),
	)
}

const (
	testSecret  = "test-signing-secret"
	testChannel = "C0HANDOFF"
	botUserID   = "UBOT"
	botID       = "BBOT"
)

// agents known to the fake users.info.
var agents = map[string]string{"UALICE": "Alice", "UBOB": "Bob", "UCAROL": "Carol"}

// message is one chat.postMessage, chat.update or chat.postEphemeral seen
// by the fake Slack.
type message struct {
	Channel, TS, ThreadTS, User, Text string
	Metadata                          string // the metadata JSON as sent
	Blocks                            string // the blocks JSON as sent
	Broadcast                         bool   // reply_broadcast: shown in the channel too
}

// failure is a canned error response for the next call of a method.
type failure struct {
	status     int
	retryAfter string
	apiError   string
}

// fakeSlack is slacktest with our own handlers for the methods supportbot
// calls: unique ts per post (slacktest's are per second), recorded calls,
// and no leaked goroutine per post (slacktest's default chat.postMessage
// queues every post for a websocket that may never read it).
type fakeSlack struct {
	*slacktest.Server

	mu         sync.Mutex
	start      int64 // unix seconds of the fake's start, the base of its ts
	seq        int
	posts      []message
	updates    []message
	ephemerals []message
	userInfo   map[string]int
	fail       map[string]failure
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{userInfo: map[string]int{}, fail: map[string]failure{}, start: time.Now().Unix()}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.handle("chat.postMessage", f.postMessage))
		c.Handle("/chat.update", f.handle("chat.update", f.update))
		c.Handle("/chat.postEphemeral", f.handle("chat.postEphemeral", f.postEphemeral))
		c.Handle("/users.info", f.handle("users.info", f.usersInfo))
		c.Handle("/conversations.history", f.handle("conversations.history", f.history))
		c.Handle("/auth.test", f.handle("auth.test", func(w http.ResponseWriter, _ url.Values) {
			writeJSON(w, map[string]any{"ok": true, "user_id": botUserID, "bot_id": botID, "user": "supportbot", "team_id": "T1"})
		}))
	})
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

// failNext makes the next call of method fail.
func (f *fakeSlack) failNext(method string, fl failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = fl
}

func (f *fakeSlack) handle(method string, h func(http.ResponseWriter, url.Values)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer xoxb-test" && r.Form.Get("token") != "xoxb-test" {
			writeJSON(w, map[string]any{"ok": false, "error": "not_authed"})
			return
		}
		f.mu.Lock()
		fl, failing := f.fail[method]
		delete(f.fail, method)
		f.mu.Unlock()
		if failing {
			switch {
			case fl.apiError != "":
				writeJSON(w, map[string]any{"ok": false, "error": fl.apiError})
			default:
				if fl.retryAfter != "" {
					w.Header().Set("Retry-After", fl.retryAfter)
				}
				http.Error(w, "failing", fl.status)
			}
			return
		}
		h(w, r.Form)
	}
}

func (f *fakeSlack) nextTS() string {
	f.seq++
	// Slack's ts is the post's unix time with a per-channel sequence; the
	// fake's start time keeps "oldest" filters meaningful.
	return fmt.Sprintf("%d.%06d", f.start, f.seq)
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, v url.Values) {
	f.mu.Lock()
	m := message{Channel: v.Get("channel"), TS: f.nextTS(), ThreadTS: v.Get("thread_ts"), Text: v.Get("text"), Blocks: v.Get("blocks"),
		Broadcast: v.Get("reply_broadcast") == "true", Metadata: v.Get("metadata")}
	f.posts = append(f.posts, m)
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
}

// history answers conversations.history as Slack documents it: the
// channel's top-level messages (thread replies only when broadcast), newest
// first, from oldest on; metadata only with include_all_metadata.
func (f *fakeSlack) history(w http.ResponseWriter, v url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	oldest, _ := strconv.ParseFloat(cmp.Or(v.Get("oldest"), "0"), 64)
	msgs := []map[string]any{}
	for i := len(f.posts) - 1; i >= 0; i-- {
		m := f.posts[i]
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if m.Channel != v.Get("channel") || (m.ThreadTS != "" && !m.Broadcast) || ts < oldest {
			continue
		}
		out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": botID}
		if m.Metadata != "" && v.Get("include_all_metadata") == "1" {
			out["metadata"] = json.RawMessage(m.Metadata)
		}
		msgs = append(msgs, out)
	}
	writeJSON(w, map[string]any{"ok": true, "messages": msgs, "has_more": false})
}

func (f *fakeSlack) update(w http.ResponseWriter, v url.Values) {
	f.mu.Lock()
	m := message{Channel: v.Get("channel"), TS: v.Get("ts"), Text: v.Get("text"), Blocks: v.Get("blocks")}
	f.updates = append(f.updates, m)
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
}

func (f *fakeSlack) postEphemeral(w http.ResponseWriter, v url.Values) {
	f.mu.Lock()
	m := message{Channel: v.Get("channel"), User: v.Get("user"), ThreadTS: v.Get("thread_ts"), Text: v.Get("text")}
	m.TS = f.nextTS()
	f.ephemerals = append(f.ephemerals, m)
	f.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "message_ts": m.TS})
}

func (f *fakeSlack) usersInfo(w http.ResponseWriter, v url.Values) {
	id := v.Get("user")
	f.mu.Lock()
	f.userInfo[id]++
	f.mu.Unlock()
	name, ok := agents[id]
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
		"id": id, "name": strings.ToLower(name), "real_name": name + " Example",
		"profile": map[string]any{"display_name": name, "real_name": name + " Example"},
	}})
}

func (f *fakeSlack) snapshot() (posts, updates, ephemerals []message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]message(nil), f.posts...), append([]message(nil), f.updates...), append([]message(nil), f.ephemerals...)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// testBundle is one Escalator on a real SQLite store and a fake Slack,
// with its HTTP endpoints served by httptest.
type testBundle struct {
	store *sqlite.Store
	fake  *fakeSlack
	esc   *slack.Escalator
	web   *httptest.Server
	cfg   slack.Config
	now   time.Time
}

func setup(t *testing.T, mod ...func(*slack.Config)) *testBundle {
	t.Helper()
	fake := newFakeSlack(t)
	store := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	if err := store.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	cfg := slack.Config{
		BotToken: "xoxb-test", SigningSecret: testSecret, Channel: testChannel,
		APIURL: fake.GetAPIURL(), PublicURL: "https://support.example.com",
	}
	for _, m := range mod {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	esc := slack.New(cfg, store, hc, slog.New(slog.NewTextHandler(t.Output(), nil)))
	web := httptest.NewServer(esc.Handler())
	t.Cleanup(web.Close)
	t.Cleanup(func() { hc.CloseIdleConnections() })
	t.Cleanup(func() { _ = esc.Close() })
	return &testBundle{store: store, fake: fake, esc: esc, web: web, cfg: cfg, now: time.Now()}
}

// escalation is the hand-off packet the tests escalate with.
func escalation(conv string) bot.Escalation {
	return bot.Escalation{
		Trigger: "chat", ConversationID: conv, Subject: "Refund for order 1234",
		URL:      "https://helpdesk.example.com/tickets/1234?a=1&b=2",
		Customer: bot.Customer{ID: "u-7", Name: "Ada Lovelace", Email: "ada@example.com"},
		Reason:   bot.ReasonSensitiveTopic, Detail: "topic: refund",
		Summary:    "Customer wants a refund for a late order.",
		Candidates: []bot.Candidate{{ID: "refund-policy", Question: "What is your refund policy?", Score: 0.61}, {ID: "shipping", Question: "When will my order arrive?", Score: 0.42}},
		Draft:      "Our refund policy allows returns within 30 days.",
		Recent:     []bot.Turn{{Author: bot.AuthorCustomer, Text: "Where is my order?"}, {Author: bot.AuthorBot, Text: "It ships in 2 days."}, {Author: bot.AuthorCustomer, Text: "I want a refund please"}},
		CreatedAt:  time.Now().UTC(),
	}
}

// mustEscalate stores a conversation, escalates it through the store path
// the engine uses, and runs its escalate job (Escalate + MarkAnnounced). It
// returns the conversation key and the hand-off's thread.
func (b *testBundle) mustEscalate(t *testing.T, conv string, e bot.Escalation) (string, bot.Thread) {
	t.Helper()
	ctx := context.Background()
	ev := bot.Event{
		Trigger: "chat", ID: "e-" + conv, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv, Subject: e.Subject, URL: e.URL},
		Customer:     e.Customer,
		Message:      bot.MessageRef{ID: "m-" + conv, Text: "I want a refund please"},
		ReceivedAt:   time.Now().UTC(),
	}
	rc, err := b.store.Ingest(ctx, ev, bot.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inboxID, err := sqlite.ParseEventRef(rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := b.store.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != bot.JobProcess {
		t.Fatalf("claim process job = %v, %v", jobs, err)
	}
	in, err := b.store.RecordInbound(ctx, inboxID, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := in.Conversation.Key
	e.ConversationKey = key
	err = b.store.ApplyDecision(ctx, bot.Outcome{
		JobID: jobs[0].ID, ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision:   bot.Decision{Action: bot.ActionEscalate, Reason: e.Reason, Draft: e.Draft},
		Escalation: &e,
		Replies: []bot.Reply{{ID: "r-handoff-" + conv, ConversationKey: key, Kind: bot.ReplyHandoff,
			Author: bot.AuthorBot, Text: "a person will reply", State: bot.StateEscalated}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.runJobs(t)
	c, err := b.store.Conversation(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackThreadTS == "" {
		t.Fatal("escalation was not announced")
	}
	return key, bot.Thread{Channel: c.SlackChannel, TS: c.SlackThreadTS}
}

// runJobs runs every runnable job until none is left, the way the worker
// would: escalate jobs through Escalate + MarkAnnounced, Slack jobs through
// the Escalator's handlers; other kinds (deliver) are completed unrun. It
// returns the errors of failed jobs, which are dead-lettered.
func (b *testBundle) runJobs(t *testing.T) []error {
	t.Helper()
	ctx := context.Background()
	handlers := b.esc.Handlers()
	var errs []error
	for {
		jobs, err := b.store.ClaimJobs(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return errs
		}
		for _, j := range jobs {
			var err error
			switch {
			case j.Kind == bot.JobEscalate:
				p, perr := bot.DecodePayload[bot.EscalatePayload](j)
				if perr != nil {
					t.Fatal(perr)
				}
				se, gerr := b.store.Escalation(ctx, p.EscalationID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				var th bot.Thread
				if th, err = b.esc.Escalate(ctx, se.Escalation); err == nil {
					if err := b.store.MarkAnnounced(ctx, j.ID, p.EscalationID, th); err != nil {
						t.Fatal(err)
					}
					continue
				}
			case handlers[j.Kind] != nil:
				_, err = handlers[j.Kind].Handle(ctx, j)
			}
			if err != nil {
				errs = append(errs, err)
				if derr := b.store.DiscardJob(ctx, j.ID, err.Error()); derr != nil {
					t.Fatal(derr)
				}
				continue
			}
			if err := b.store.CompleteJob(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sign computes Slack's v0 request signature.
func sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends body to the Escalator's endpoint path, signed with secret at ts.
func (b *testBundle) post(t *testing.T, path, contentType string, body []byte, secret string, ts int64) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.web.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sign(secret, ts, body))
	resp, err := b.web.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// sendEvent posts a signed Events API delivery and wants 200.
func (b *testBundle) sendEvent(t *testing.T, body []byte) {
	t.Helper()
	if code, out := b.post(t, "/slack/events", "application/json", body, testSecret, time.Now().Unix()); code != http.StatusOK {
		t.Fatalf("POST /slack/events = %d %s", code, out)
	}
}

// sendClick posts a signed block_actions interaction and wants 200.
func (b *testBundle) sendClick(t *testing.T, payload []byte) {
	t.Helper()
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	if code, out := b.post(t, "/slack/interactions", "application/x-www-form-urlencoded", body, testSecret, time.Now().Unix()); code != http.StatusOK {
		t.Fatalf("POST /slack/interactions = %d %s", code, out)
	}
}

// threadReply is an event_callback for a message in a thread.
func threadReply(eventID string, th bot.Thread, ts, user, text string, extra map[string]any) []byte {
	ev := map[string]any{
		"type": "message", "channel": th.Channel, "user": user, "text": text,
		"ts": ts, "thread_ts": th.TS, "event_ts": ts, "channel_type": "channel",
	}
	for k, v := range extra {
		ev[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"token": "ignored", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
		"event_id": eventID, "event_time": 1700000000, "event": ev,
	})
	return b
}

var clickSeq struct {
	sync.Mutex
	n int
}

// click is a block_actions payload for a button on the hand-off message.
func click(action, key, user string, th bot.Thread) []byte {
	clickSeq.Lock()
	clickSeq.n++
	n := clickSeq.n
	clickSeq.Unlock()
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": fmt.Sprintf("trig-%d", n), "api_app_id": "A1",
		"team":         map[string]any{"id": "T1", "domain": "example"},
		"user":         map[string]any{"id": user, "name": strings.ToLower(agents[user]), "username": strings.ToLower(agents[user])},
		"channel":      map[string]any{"id": th.Channel, "name": "handoffs"},
		"container":    map[string]any{"type": "message", "message_ts": th.TS, "channel_id": th.Channel, "is_ephemeral": false},
		"message":      map[string]any{"type": "message", "ts": th.TS, "text": "hand-off"},
		"response_url": "https://hooks.slack.com/actions/T1/1/x",
		"actions": []map[string]any{{"action_id": action, "block_id": "handoff_actions", "value": key,
			"type": "button", "action_ts": fmt.Sprintf("1700000100.%06d", n), "text": map[string]any{"type": "plain_text", "text": action}}},
	})
	return b
}

// blocksOf decodes a recorded blocks JSON.
func blocksOf(t *testing.T, raw string) slackapi.Blocks {
	t.Helper()
	var bl slackapi.Blocks
	if err := json.Unmarshal([]byte(raw), &bl); err != nil {
		t.Fatalf("decode blocks: %v\n%s", err, raw)
	}
	return bl
}

// actionIDs lists the button action ids in blocks.
func actionIDs(t *testing.T, raw string) []string {
	t.Helper()
	var ids []string
	for _, b := range blocksOf(t, raw).BlockSet {
		if a, ok := b.(*slackapi.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok {
					ids = append(ids, btn.ActionID)
				}
			}
		}
	}
	return ids
}

// decodedText is the raw blocks JSON with JSON escapes undone (\u003c → <),
// so that assertions see what Slack sees.
func decodedText(t *testing.T, raw string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		case string:
			sb.WriteString(x)
			sb.WriteString("\n")
		}
	}
	walk(v)
	return sb.String()
}

// Notice posts a plain message in the channel, outside any thread; a
// failure is classified like the other calls.
func TestNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if err := b.esc.Notice(ctx, "Escalation budget: 3 hand-offs are waiting"); err != nil {
		t.Fatal(err)
	}
	posts, _, _ := b.fake.snapshot()
	if len(posts) != 1 || posts[0].Channel != testChannel || posts[0].ThreadTS != "" || posts[0].Text != "Escalation budget: 3 hand-offs are waiting" {
		t.Fatalf("posts = %+v, want the notice in %s, not in a thread", posts, testChannel)
	}
	b.fake.failNext("chat.postMessage", failure{status: http.StatusTooManyRequests, retryAfter: "7"})
	err := b.esc.Notice(ctx, "again")
	if d, ok := bot.RetryDelay(err); !ok || d != 7*time.Second {
		t.Fatalf("Notice on a 429 = %v, want a retry after 7s", err)
	}
}

// A hand-off post carries metadata naming its escalation, and FindHandoff
// finds it again (a retried escalate job then does not post twice); another
// escalation's post does not match.
func TestFindHandoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := escalation("c-find")
	e.ConversationKey = "chat/c-find"
	if _, found, err := b.esc.FindHandoff(ctx, e); err != nil || found {
		t.Fatalf("FindHandoff before any post = %v, %v; want not found", found, err)
	}
	th, err := b.esc.Escalate(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	other := e
	other.CreatedAt = e.CreatedAt.Add(time.Second)
	if _, err := b.esc.Escalate(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, found, err := b.esc.FindHandoff(ctx, e)
	if err != nil || !found || got != th {
		t.Fatalf("FindHandoff = %+v, %v, %v; want %+v", got, found, err, th)
	}
	b.fake.failNext("conversations.history", failure{status: http.StatusTooManyRequests, retryAfter: "3"})
	if _, _, err := b.esc.FindHandoff(ctx, e); err == nil {
		t.Fatal("FindHandoff on a 429 = nil, want an error to retry")
	}
}
