package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
)

// clickOn is a block_actions payload for a button with value on the
// message msgTS in the thread threadTS.
func clickOn(action, value, user, channel, msgTS, threadTS string) []byte {
	clickSeq.Lock()
	clickSeq.n++
	n := clickSeq.n
	clickSeq.Unlock()
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": fmt.Sprintf("trig-faq-%d", n), "api_app_id": "A1",
		"team":      map[string]any{"id": "T1", "domain": "example"},
		"user":      map[string]any{"id": user, "name": strings.ToLower(agents[user]), "username": strings.ToLower(agents[user])},
		"channel":   map[string]any{"id": channel, "name": "handoffs"},
		"container": map[string]any{"type": "message", "message_ts": msgTS, "thread_ts": threadTS, "channel_id": channel, "is_ephemeral": false},
		"message":   map[string]any{"type": "message", "ts": msgTS, "thread_ts": threadTS, "text": "Relayed to the customer ✓"},
		"actions": []map[string]any{{"action_id": action, "block_id": "relay_actions", "value": value,
			"type": "button", "action_ts": fmt.Sprintf("1700000200.%06d", n), "text": map[string]any{"type": "plain_text", "text": action}}},
	})
	return b
}

// buttonValue returns the value of the button actionID in blocks.
func buttonValue(t *testing.T, raw, actionID string) string {
	t.Helper()
	for _, b := range blocksOf(t, raw).BlockSet {
		if a, ok := b.(*slackapi.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slackapi.ButtonBlockElement); ok && btn.ActionID == actionID {
					return btn.Value
				}
			}
		}
	}
	t.Fatalf("no %s button in %s", actionID, raw)
	return ""
}

// relayNotices returns the bot's posts in thread th that carry the Save as
// FAQ button.
func (b *testBundle) relayNotices(t *testing.T, th bot.Thread) []message {
	t.Helper()
	posts, _, _ := b.fake.snapshot()
	var out []message
	for _, p := range posts {
		if p.ThreadTS == th.TS && p.Blocks != "" && slices.Contains(actionIDs(t, p.Blocks), slack.ActionSaveFAQ) {
			out = append(out, p)
		}
	}
	return out
}

// mustRelay escalates conv, relays one agent reply from Alice and returns
// the conversation, its thread, the reply and its notice.
func (b *testBundle) mustRelay(t *testing.T, conv, text string) (string, bot.Thread, bot.StoredReply, message) {
	t.Helper()
	key, th := b.mustEscalate(t, conv, escalation(conv))
	b.sendEvent(t, threadReply("Ev-"+conv, th, "1700000300.000001", "UALICE", text, nil))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	replies := b.agentReplies(t, key)
	notices := b.relayNotices(t, th)
	if len(replies) != 1 || len(notices) != 1 {
		t.Fatalf("replies %+v, notices %+v; want one of each", replies, notices)
	}
	return key, th, replies[0], notices[0]
}

func TestRelayPostsSaveAsFAQ(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th, r, notice := b.mustRelay(t, "c-40", "Your refund is on its way.")
	if notice.Channel != th.Channel || notice.Broadcast || notice.Text != "Relayed to the customer ✓" {
		t.Fatalf("notice = %+v", notice)
	}
	if got := buttonValue(t, notice.Blocks, slack.ActionSaveFAQ); got != r.ID {
		t.Fatalf("Save as FAQ value = %q, want the reply id %q", got, r.ID)
	}

	// The same message through another delivery (a new event id), and a
	// note: neither posts another notice.
	b.sendEvent(t, threadReply("Ev-c-40-again", th, "1700000300.000001", "UALICE", "Your refund is on its way.", nil))
	b.sendEvent(t, threadReply("Ev-c-40-note", th, "1700000300.000002", "UALICE", "// checked with billing", nil))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := b.relayNotices(t, th); len(n) != 1 {
		t.Fatalf("%d notices, want 1", len(n))
	}
	if got := b.agentReplies(t, key); len(got) != 1 {
		t.Fatalf("%d replies, want 1", len(got))
	}
}

// A relay whose notice could not be posted (Slack down) is retried by the
// notice's own job, without relaying the reply twice.
func TestRelayNoticeRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-41", escalation("c-41"))
	b.sendEvent(t, threadReply("Ev-c-41", th, "1700000310.000001", "UALICE", "Done.", nil))
	ctx := context.Background()
	h := b.esc.Handlers()
	jobs, err := b.store.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != slack.JobEvent {
		t.Fatalf("jobs = %+v, %v", jobs, err)
	}
	if _, err := h[slack.JobEvent].Handle(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	// Run again, as after a crash before completing: nothing new.
	if _, err := h[slack.JobEvent].Handle(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.store.CompleteJob(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	b.fake.failNext("chat.postMessage", failure{status: http.StatusServiceUnavailable})
	jobs, err = b.store.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var notices []*bot.Job
	for _, j := range jobs {
		if j.Kind == slack.JobRelayNotice {
			notices = append(notices, j)
		}
	}
	if len(notices) != 1 {
		t.Fatalf("jobs = %+v; want one notice job", jobs)
	}
	if _, err := h[slack.JobRelayNotice].Handle(ctx, notices[0]); err == nil || bot.IsPermanent(err) {
		t.Fatalf("notice during a 503: %v, want a retryable error", err)
	}
	if _, err := h[slack.JobRelayNotice].Handle(ctx, notices[0]); err != nil {
		t.Fatal(err)
	}
	if n := b.relayNotices(t, th); len(n) != 1 {
		t.Fatalf("%d notices, want 1", len(n))
	}
	if got := b.agentReplies(t, key); len(got) != 1 {
		t.Fatalf("%d replies, want 1", len(got))
	}
}

func TestSaveAsFAQOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th, r, notice := b.mustRelay(t, "c-42", "Refunds take 5 days: <https://example.com/refunds|details>.")
	for _, user := range []string{"UBOB", "UBOB", "UCAROL"} { // a double click, then someone else
		b.sendClick(t, clickOn(slack.ActionSaveFAQ, r.ID, user, th.Channel, notice.TS, th.TS))
	}
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx := context.Background()
	list, err := b.store.ListSuggestions(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d suggestions, want 1: %+v", len(list), list)
	}
	sg := list[0]
	if sg.ConversationKey != key || sg.ReplyID != r.ID || sg.Status != bot.SuggestionPending ||
		sg.Question != "I want a refund please" || sg.Answer != "Refunds take 5 days: details (https://example.com/refunds)." ||
		sg.AgentName != "Alice" || sg.SuggestedBy != "Bob" {
		t.Fatalf("suggestion = %+v", sg)
	}
	_, updates, eph := b.fake.snapshot()
	if len(eph) != 0 {
		t.Fatalf("ephemerals = %+v", eph)
	}
	last := updates[len(updates)-1]
	text := decodedText(t, last.Blocks)
	if last.TS != notice.TS || len(actionIDs(t, last.Blocks)) != 0 ||
		!strings.Contains(text, "Relayed to the customer") ||
		!strings.Contains(text, fmt.Sprintf("Suggested for the FAQ by @Bob (#%d), waiting for review.", sg.ID)) {
		t.Fatalf("notice after the click: %+v\n%s", last, text)
	}

	// Once approved, a late click shows the entry and changes nothing.
	if err := b.store.DecideSuggestion(ctx, sg.ID, true, "admin", "refund-time"); err != nil {
		t.Fatal(err)
	}
	b.sendClick(t, clickOn(slack.ActionSaveFAQ, r.ID, "UALICE", th.Channel, notice.TS, th.TS))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	_, updates, _ = b.fake.snapshot()
	if text := decodedText(t, updates[len(updates)-1].Blocks); !strings.Contains(text, "approved as `refund-time`") {
		t.Fatalf("notice after approval: %s", text)
	}
	if got, _ := b.store.Suggestion(ctx, sg.ID); got.Status != bot.SuggestionApproved || got.SuggestedBy != "Bob" {
		t.Fatalf("suggestion after a late click = %+v", got)
	}
}

// A forged or stale value (the bot's hand-off, an unknown reply) records
// nothing and tells the clicker.
func TestSaveAsFAQRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, th, _, notice := b.mustRelay(t, "c-43", "Done.")
	for _, value := range []string{"r-handoff-c-43", "rpl_unknown"} {
		b.sendClick(t, clickOn(slack.ActionSaveFAQ, value, "UBOB", th.Channel, notice.TS, th.TS))
	}
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if list, _ := b.store.ListSuggestions(context.Background(), "", 10); len(list) != 0 {
		t.Fatalf("suggestions = %+v, want none", list)
	}
	_, _, eph := b.fake.snapshot()
	if len(eph) != 2 || eph[0].User != "UBOB" || eph[0].ThreadTS != th.TS || !strings.Contains(eph[0].Text, "cannot be saved") {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

func TestReannounce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, th := b.mustEscalate(t, "c-44", escalation("c-44"))
	ctx := context.Background()
	esc, err := b.store.LatestEscalation(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b.esc.Now = func() time.Time { return esc.CreatedAt.Add(15*time.Minute + 40*time.Second) }

	for _, tc := range []struct{ mention, want string }{
		{"S0SUPPORT", "Still unclaimed after 15 min* — <!subteam^S0SUPPORT>\nAda Lovelace · Refund for order 1234"},
		{"here", "Still unclaimed after 15 min* — <!here>\n"},
		{"", "Still unclaimed after 15 min*\nAda Lovelace"},
	} {
		if err := b.esc.Reannounce(ctx, esc, th, tc.mention); err != nil {
			t.Fatal(err)
		}
		posts, _, _ := b.fake.snapshot()
		p := posts[len(posts)-1]
		if p.Channel != th.Channel || p.ThreadTS != th.TS || !p.Broadcast {
			t.Fatalf("re-announce posted to %s thread %q broadcast %v; want the hand-off's thread, broadcast", p.Channel, p.ThreadTS, p.Broadcast)
		}
		if !strings.Contains(p.Text, tc.want) {
			t.Errorf("mention %q: text = %q, want it to contain %q", tc.mention, p.Text, tc.want)
		}
	}

	// Customer text cannot mention anyone.
	evil := esc
	evil.Customer.Name = "Eve <!channel>"
	if err := b.esc.Reannounce(ctx, evil, th, ""); err != nil {
		t.Fatal(err)
	}
	posts, _, _ := b.fake.snapshot()
	if p := posts[len(posts)-1]; strings.Contains(p.Text, "<!channel>") || !strings.Contains(p.Text, "Eve &lt;!channel&gt;") {
		t.Fatalf("text = %q", p.Text)
	}

	// Nothing to post: claimed meanwhile, no thread.
	n := len(posts)
	claimed := esc
	claimed.Status = "claimed"
	if err := b.esc.Reannounce(ctx, claimed, th, "here"); err != nil {
		t.Fatal(err)
	}
	if err := b.esc.Reannounce(ctx, esc, bot.Thread{}, "here"); err != nil {
		t.Fatal(err)
	}
	if posts, _, _ := b.fake.snapshot(); len(posts) != n {
		t.Fatalf("%d posts, want %d", len(posts), n)
	}

	// Errors in the job classes.
	if err := b.esc.Reannounce(ctx, esc, th, "<!everyone>"); !bot.IsPermanent(err) {
		t.Fatalf("bad mention: %v, want permanent", err)
	}
	b.fake.failNext("chat.postMessage", failure{status: http.StatusTooManyRequests, retryAfter: "4"})
	if d, ok := bot.RetryDelay(b.esc.Reannounce(ctx, esc, th, "")); !ok || d != 4*time.Second {
		t.Fatalf("429: %v %v, want retry after 4s", d, ok)
	}
	b.fake.failNext("chat.postMessage", failure{apiError: "channel_not_found"})
	if err := b.esc.Reannounce(ctx, esc, th, ""); !bot.IsPermanent(err) {
		t.Fatalf("channel_not_found: %v, want permanent", err)
	}
}

func TestMentionMarkup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: ""},
		{in: "S0123ABC", want: "<!subteam^S0123ABC>"},
		{in: "@S0123ABC", want: "<!subteam^S0123ABC>"},
		{in: "subteam^S0123ABC", want: "<!subteam^S0123ABC>"},
		{in: "U024BE7LH", want: "<@U024BE7LH>"},
		{in: "W024BE7LH", want: "<@W024BE7LH>"},
		{in: "here", want: "<!here>"},
		{in: "@here", want: "<!here>"},
		{in: "!channel", want: "<!channel>"},
		{in: "everyone", bad: true},
		{in: "<!subteam^S1>", bad: true},
		{in: "s0123abc", bad: true},
		{in: "C0123", bad: true},
		{in: "S1> <!channel", bad: true},
		{in: "support-team", bad: true},
	} {
		got, err := slack.MentionMarkup(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("MentionMarkup(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
