package webchat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/internal/ratelimit"
	"github.com/supportbot/supportbot/triggers/web"
)

// mustAnswerWithOptions records the visitor's message and a bot answer
// with quick replies, marked sent.
func (tb *testBundle) mustAnswerWithOptions(t *testing.T, s session, clientID, question, replyID, answer string, opts []string) bot.Reply {
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
		Options: opts,
	}
	if err := tb.store.ApplyDecision(ctx, bot.Outcome{
		JobID: job.ID, ConversationKey: r.ConversationKey, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: answer}, Replies: []bot.Reply{r}, Answered: true, Confirm: true,
	}); err != nil {
		t.Fatal(err)
	}
	tb.markSent(t, r.ID)
	return r
}

// TestEventsCarryOptions: a reply's quick replies reach the page live and
// in the replay of a page that reconnects.
func TestEventsCarryOptions(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	s := tb.mustSession(t)
	yesNo := []string{"Yes", "No"}
	r := tb.mustAnswerWithOptions(t, s, "m-1", "How do I reset my password?", "rpl_1", "Click Forgot password.\n\nDid that answer your question?", yesNo)

	st := tb.openStream(t, eventsURL(tb, s), "")
	st.next(t) // the customer's line
	e := st.next(t)
	if line := decodeLine(t, e); e.ID != r.ID || !slices.Equal(line.Options, yesNo) {
		t.Fatalf("replayed reply = %+v %+v, want the options", e, line)
	}
	st.next(t) // ready

	live := r
	live.ID, live.Options = "rpl_2", []string{"Where can I find my invoices?", "How do I get a refund?"}
	if err := (&webchat.Deliverer{Hub: tb.hub}).Deliver(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	if line := decodeLine(t, st.next(t)); !slices.Equal(line.Options, live.Options) {
		t.Fatalf("live reply = %+v, want the options", line)
	}
	if ev := webchat.ReplyEvent(bot.Reply{ID: "x", Text: "no options"}); ev.Options != nil {
		t.Fatalf("ReplyEvent without options = %+v", ev)
	}
	data, _ := json.Marshal(webchat.ReplyEvent(bot.Reply{ID: "x", Text: "t"}))
	if strings.Contains(string(data), "options") {
		t.Fatalf("event %s: want no options key when there are none", data)
	}
}

// rate posts a rating as the page does.
func (tb *testBundle) rate(t *testing.T, s session, body string, mutate func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat/site/rating", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.VisitorHeader, s.VisitorID)
	req.Header.Set(web.TokenHeader, s.Token)
	if mutate != nil {
		mutate(req)
	}
	resp, err := tb.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestRating(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) {
		c.PerVisitor = ratelimit.Config{Rate: 0.001, Burst: 8}
	})
	ctx := context.Background()
	s := tb.mustSession(t)
	key := "site/" + s.VisitorID

	if code, _ := tb.rate(t, s, `{"score":5}`, nil); code != http.StatusNotFound {
		t.Fatalf("rating before any message = %d, want 404", code)
	}
	tb.mustAnswer(t, s, "m-1", "How do I reset my password?", "rpl_1", "Click Forgot password.", true)
	if code, _ := tb.rate(t, s, `{"score":5}`, nil); code != http.StatusConflict {
		t.Fatalf("rating an open conversation = %d, want 409", code)
	}
	if _, err := tb.store.ChangeState(ctx, bot.StateChange{Key: key, From: bot.StateBot, To: bot.StateResolved, Actor: bot.ActorCustomer, Reason: bot.ResolutionConfirmed}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		body   string
		mutate func(*http.Request)
		want   int
	}{
		{"no session", `{"score":5}`, func(r *http.Request) { r.Header.Del(web.TokenHeader) }, http.StatusUnauthorized},
		{"another visitor's token", `{"score":5}`, func(r *http.Request) { r.Header.Set(web.VisitorHeader, "someone-else") }, http.StatusUnauthorized},
		{"cross-site", `{"score":5}`, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"a form post", `score=5`, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, http.StatusUnsupportedMediaType},
		{"score 0", `{"score":0}`, nil, http.StatusBadRequest},
		{"score 6", `{"score":6,"comment":"great"}`, nil, http.StatusBadRequest},
		{"not an object", `[5]`, nil, http.StatusBadRequest},
	} {
		if code, body := tb.rate(t, s, tc.body, tc.mutate); code != tc.want {
			t.Fatalf("%s: status %d %v, want %d", tc.name, code, body, tc.want)
		}
	}
	if _, err := tb.store.Rating(ctx, key); err == nil {
		t.Fatal("a refused rating was stored")
	}
	if code, body := tb.rate(t, s, `{"score":4,"comment":"<b>quick</b>"}`, nil); code != http.StatusOK || body["score"] != float64(4) {
		t.Fatalf("rating = %d %v, want 200", code, body)
	}
	rt, err := tb.store.Rating(ctx, key)
	if err != nil || rt.Score != 4 || rt.Comment != "<b>quick</b>" {
		t.Fatalf("stored rating = %+v, %v", rt, err)
	}
	// A page that opens on the resolved conversation learns it is rated.
	st := tb.openStream(t, eventsURL(tb, s)+"&after=rpl_1", "")
	if e := st.next(t); e.Event != "ready" || !strings.Contains(e.Data, `"state":"resolved"`) || !strings.Contains(e.Data, `"rating":4`) {
		t.Fatalf("ready = %+v, want resolved with rating 4", e)
	}
	// The per-visitor limit applies: its 8 requests are spent by now
	// (one message, nine ratings, minus the refusals before the limit).
	var last int
	for range 3 {
		last, _ = tb.rate(t, s, `{"score":5}`, nil)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("rating over the limit = %d, want 429", last)
	}
}
