package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// kbLearner is a bot.FAQLearner over a fixed knowledge base and the real
// store, as the service wires one.
type kbLearner struct {
	store   *sqlite.Store
	entries map[string]bot.FAQEntry
}

func (l kbLearner) FAQEntry(id string) (bot.FAQEntry, error) {
	e, ok := l.entries[id]
	if !ok {
		return e, fmt.Errorf("entry %q: %w", id, bot.ErrNotFound)
	}
	return e, nil
}

func (l kbLearner) LearnExample(ctx context.Context, replyID, entryID, by string) (bot.FAQSuggestion, bool, error) {
	return l.store.LearnExample(ctx, replyID, entryID, by)
}

// choose is a block_actions payload for a choice of value in the hand-off's
// static_select actionID.
func choose(action, value, user string, th bot.Thread) []byte {
	clickSeq.Lock()
	clickSeq.n++
	n := clickSeq.n
	clickSeq.Unlock()
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": fmt.Sprintf("trig-select-%d", n), "api_app_id": "A1",
		"team":      map[string]any{"id": "T1", "domain": "example"},
		"user":      map[string]any{"id": user, "name": strings.ToLower(agents[user]), "username": strings.ToLower(agents[user])},
		"channel":   map[string]any{"id": th.Channel, "name": "handoffs"},
		"container": map[string]any{"type": "message", "message_ts": th.TS, "channel_id": th.Channel, "is_ephemeral": false},
		"message":   map[string]any{"type": "message", "ts": th.TS, "text": "hand-off"},
		"actions": []map[string]any{{"action_id": action, "block_id": "handoff_actions", "type": "static_select",
			"selected_option": map[string]any{"value": value, "text": map[string]any{"type": "plain_text", "text": value}},
			"action_ts":       fmt.Sprintf("1700000400.%06d", n)}},
	})
	return b
}

// faqMenuOptions returns the option values of the Send FAQ answer menu in
// blocks, and whether there is one.
func faqMenuOptions(t *testing.T, raw string) ([]string, bool) {
	t.Helper()
	for _, b := range blocksOf(t, raw).BlockSet {
		a, ok := b.(*slackapi.ActionBlock)
		if !ok {
			continue
		}
		for _, el := range a.Elements.ElementSet {
			if sel, ok := el.(*slackapi.SelectBlockElement); ok && sel.ActionID == slack.ActionSendFAQ {
				var vals []string
				for _, o := range sel.Options {
					vals = append(vals, o.Value)
				}
				return vals, true
			}
		}
	}
	return nil, false
}

func (b *testBundle) withFAQ() kbLearner {
	l := kbLearner{store: b.store, entries: map[string]bot.FAQEntry{
		"refund-policy": {ID: "refund-policy", Question: "What is your refund policy?", Answer: "Refunds within 30 days, to the card you paid with."},
		"shipping":      {ID: "shipping", Question: "When will my order arrive?", Answer: "In 3-5 days."},
	}}
	b.esc.FAQ = l
	return l
}

// TestSendFAQAnswer: choosing an entry in the hand-off's menu sends its
// answer as the agent's reply (claiming the conversation), learns the
// customer's question as a pending example of the entry, and shows it on
// the hand-off; a repeated choice sends and learns nothing twice.
func TestSendFAQAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withFAQ()
	key, th := b.mustEscalate(t, "c-70", escalation("c-70"))
	posts, _, _ := b.fake.snapshot()
	opts, ok := faqMenuOptions(t, posts[0].Blocks)
	if !ok || !slices.Equal(opts, []string{"refund-policy", "shipping"}) {
		t.Fatalf("hand-off menu = %v, %v; want the two entries considered", opts, ok)
	}

	b.sendClick(t, choose(slack.ActionSendFAQ, "refund-policy", "UALICE", th))
	b.sendClick(t, choose(slack.ActionSendFAQ, "refund-policy", "UALICE", th)) // a double choice
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	replies := b.agentReplies(t, key)
	if len(replies) != 1 {
		t.Fatalf("%d agent replies, want 1: %+v", len(replies), replies)
	}
	if r := replies[0]; r.Text != "Refunds within 30 days, to the card you paid with." || r.AgentName != "Alice" {
		t.Fatalf("reply = %+v", r)
	}
	if c := b.conversation(t, key); c.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent (claimed by the reply)", c.State)
	}
	ctx := context.Background()
	pending, err := b.store.PendingExamples(ctx, "refund-policy")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("%d example suggestions, want 1: %+v", len(pending), pending)
	}
	if sg := pending[0]; sg.Question != "I want a refund please" || sg.SuggestedBy != "Alice" || sg.ReplyID != replies[0].ID || sg.ConversationKey != key {
		t.Fatalf("learned example = %+v", sg)
	}
	_, updates, _ := b.fake.snapshot()
	last := updates[len(updates)-1]
	if txt := decodedText(t, last.Blocks); !strings.Contains(txt, "FAQ answer `refund-policy` sent.") || !strings.Contains(txt, "Claimed by @Alice") {
		t.Fatalf("updated hand-off:\n%s", txt)
	}
}

// An entry gone from the knowledge base, or a conversation no longer with
// people, sends nothing and says why to the agent only.
func TestSendFAQAnswerRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := b.withFAQ()
	key, th := b.mustEscalate(t, "c-71", escalation("c-71"))
	delete(l.entries, "shipping")
	b.sendClick(t, choose(slack.ActionSendFAQ, "shipping", "UBOB", th))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := b.store.ChangeState(context.Background(), bot.StateChange{Key: key, To: bot.StateResolved, Actor: "Bob", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	b.sendClick(t, choose(slack.ActionSendFAQ, "refund-policy", "UBOB", th))
	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := b.agentReplies(t, key); len(got) != 0 {
		t.Fatalf("replies sent: %+v", got)
	}
	_, _, eph := b.fake.snapshot()
	if len(eph) != 2 || !strings.Contains(eph[0].Text, "no longer in the knowledge base") || !strings.Contains(eph[1].Text, "resolved") {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if pending, _ := b.store.PendingExamples(context.Background(), ""); len(pending) != 0 {
		t.Fatalf("examples learned: %+v", pending)
	}
}

// Without a knowledge base wired in, hand-offs have no menu.
func TestNoFAQMenu(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustEscalate(t, "c-72", escalation("c-72"))
	posts, _, _ := b.fake.snapshot()
	if _, ok := faqMenuOptions(t, posts[0].Blocks); ok {
		t.Fatal("hand-off has a Send FAQ answer menu without a knowledge base")
	}
}
