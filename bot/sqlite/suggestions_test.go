package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// mustCustomerWrites ingests a customer message and records it in its
// conversation, the way the process job does.
func mustCustomerWrites(t *testing.T, s *sqlite.Store, conv, id, text string) *bot.Inbound {
	t.Helper()
	ctx := context.Background()
	rc, err := s.Ingest(ctx, event(conv, id, text), bot.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inboxID, err := sqlite.ParseEventRef(rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.RecordInbound(ctx, inboxID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// mustAgentReply relays an agent's answer and returns its reply id.
func mustAgentReply(t *testing.T, s *sqlite.Store, key, id, agent, text string) string {
	t.Helper()
	queued, err := s.QueueAgentReply(context.Background(), "test:"+id, bot.Reply{
		ID: id, ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: agent, Text: text,
	})
	if err != nil || !queued {
		t.Fatalf("queue agent reply = %v, %v", queued, err)
	}
	return id
}

func TestSuggestionSourceQuestion(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c") // customer "human please", then the bot's hand-off
	mustCustomerWrites(t, s, "c", "e-2", "my invoice shows the wrong VAT number")
	first := mustAgentReply(t, s, key, "r-1", "Alice", "Let me check.")
	second := mustAgentReply(t, s, key, "r-2", "Alice", "Fixed: download it again from Billing.")
	mustCustomerWrites(t, s, "c", "e-3", "thanks! and how do I add a second user?")
	third := mustAgentReply(t, s, key, "r-3", "Bob", "Settings, Team, Invite.")

	for _, tc := range []struct {
		reply string
		want  bot.FAQSuggestion
	}{
		// The hand-off notice between the customer's lines is skipped.
		{first, bot.FAQSuggestion{ReplyID: first, ConversationKey: key, AgentName: "Alice",
			Question: "human please\nmy invoice shows the wrong VAT number", Answer: "Let me check."}},
		// A second agent line answers the same question.
		{second, bot.FAQSuggestion{ReplyID: second, ConversationKey: key, AgentName: "Alice",
			Question: "human please\nmy invoice shows the wrong VAT number", Answer: "Fixed: download it again from Billing."}},
		// After an agent's answer, only the newer question counts.
		{third, bot.FAQSuggestion{ReplyID: third, ConversationKey: key, AgentName: "Bob",
			Question: "thanks! and how do I add a second user?", Answer: "Settings, Team, Invite."}},
	} {
		got, err := s.SuggestionSource(ctx, tc.reply)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SuggestionSource(%s) mismatch (-want +got):\n%s", tc.reply, diff)
		}
	}

	if _, err := s.SuggestionSource(ctx, "r-none"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("unknown reply: %v, want ErrNotFound", err)
	}
	var ve *bot.ValidationError
	if _, err := s.SuggestionSource(ctx, "r-handoff"); !errors.As(err, &ve) {
		t.Fatalf("the bot's hand-off: %v, want a validation error", err)
	}
}

// A bot answer ends the question: what the bot answered before the
// escalation is not part of it.
func TestSuggestionSourceStopsAtBotAnswer(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	in := mustCustomerWrites(t, s, "c", "e-1", "how do I reset my password?")
	key := in.Conversation.Key
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	if err := s.ApplyDecision(ctx, bot.Outcome{
		JobID: jobs[0].ID, ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "Use the reset link."},
		Replies:  []bot.Reply{{ID: "r-answer", ConversationKey: key, Kind: bot.ReplyAnswer, Author: bot.AuthorBot, Text: "Use the reset link.", State: bot.StateBot}},
	}); err != nil {
		t.Fatal(err)
	}
	mustCustomerWrites(t, s, "c", "e-2", "the link has expired, I want a person")
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, From: bot.StateBot, To: bot.StateEscalated, Actor: bot.ActorBot, Reason: bot.ReasonHumanRequested}); err != nil {
		t.Fatal(err)
	}
	r := mustAgentReply(t, s, key, "r-agent", "Alice", "I sent you a new link.")
	got, err := s.SuggestionSource(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Question != "the link has expired, I want a person" {
		t.Fatalf("question = %q", got.Question)
	}
}

func TestSuggestFAQOncePerReply(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	now := time.Now().UTC().Truncate(time.Millisecond).Add(time.Minute)
	s.Now = func() time.Time { return now }
	r1 := mustAgentReply(t, s, key, "r-1", "Alice", "Answer one.")
	r2 := mustAgentReply(t, s, key, "r-2", "Alice", "Answer two.")

	src, err := s.SuggestionSource(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	src.SuggestedBy = "Bob"
	id1, created, err := s.SuggestFAQ(ctx, src)
	if err != nil || !created {
		t.Fatalf("first suggestion = %d, %v, %v", id1, created, err)
	}
	// A double click, even by someone else, changes nothing.
	src.SuggestedBy = "Carol"
	if id, created, err := s.SuggestFAQ(ctx, src); err != nil || created || id != id1 {
		t.Fatalf("second suggestion = %d, %v, %v; want %d, false", id, created, err, id1)
	}
	got, err := s.Suggestion(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.FAQSuggestion{ID: id1, Kind: bot.SuggestionEntry, ConversationKey: key, ReplyID: r1, Question: "human please", Answer: "Answer one.",
		AgentName: "Alice", SuggestedBy: "Bob", Status: bot.SuggestionPending, CreatedAt: now}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("suggestion mismatch (-want +got):\n%s", diff)
	}

	src2, _ := s.SuggestionSource(ctx, r2)
	src2.SuggestedBy = "Alice"
	id2, created, err := s.SuggestFAQ(ctx, src2)
	if err != nil || !created || id2 == id1 {
		t.Fatalf("suggestion of another reply = %d, %v, %v", id2, created, err)
	}
	list, err := s.ListSuggestions(ctx, bot.SuggestionPending, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != id2 || list[1].ID != id1 {
		t.Fatalf("pending = %+v, want both, newest first", list)
	}

	var ve *bot.ValidationError
	for _, bad := range []bot.FAQSuggestion{
		{ConversationKey: key, Question: "q", Answer: "a", SuggestedBy: "x"},
		{ReplyID: "r-9", ConversationKey: key, Question: " ", Answer: "a", SuggestedBy: "x"},
		{ReplyID: "r-9", ConversationKey: key, Question: "q", Answer: "a"},
	} {
		if _, _, err := s.SuggestFAQ(ctx, bad); !errors.As(err, &ve) {
			t.Errorf("SuggestFAQ(%+v) = %v, want a validation error", bad, err)
		}
	}
	if _, err := s.ListSuggestions(ctx, "maybe", 10); !errors.As(err, &ve) {
		t.Fatalf("unknown status: %v", err)
	}
	if _, err := s.Suggestion(ctx, 999); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestDecideSuggestionOnce(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	now := time.Now().UTC().Truncate(time.Millisecond).Add(time.Minute)
	s.Now = func() time.Time { return now }
	var ids []int64
	for _, r := range []string{"r-1", "r-2"} {
		mustAgentReply(t, s, key, r, "Alice", "Answer "+r)
		src, err := s.SuggestionSource(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		src.SuggestedBy = "Alice"
		id, _, err := s.SuggestFAQ(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}

	var ve *bot.ValidationError
	if err := s.DecideSuggestion(ctx, ids[0], true, "admin", ""); !errors.As(err, &ve) {
		t.Fatalf("approve without an entry id: %v", err)
	}
	if err := s.DecideSuggestion(ctx, ids[0], true, "", "faq-1"); !errors.As(err, &ve) {
		t.Fatalf("approve without a decider: %v", err)
	}
	now = now.Add(time.Hour)
	if err := s.DecideSuggestion(ctx, ids[0], true, "admin", "how-do-i-x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DecideSuggestion(ctx, ids[1], false, "admin", "ignored"); err != nil {
		t.Fatal(err)
	}
	// Decided once: a second decision, either way, is a conflict.
	for _, approve := range []bool{true, false} {
		if err := s.DecideSuggestion(ctx, ids[0], approve, "other", "x"); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("second decision (approve=%v) = %v, want ErrConflict", approve, err)
		}
	}
	if err := s.DecideSuggestion(ctx, 999, false, "admin", ""); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	got, err := s.Suggestion(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bot.SuggestionApproved || got.EntryID != "how-do-i-x" || got.DecidedBy != "admin" || !got.DecidedAt.Equal(now) {
		t.Fatalf("approved = %+v", got)
	}
	got, _ = s.Suggestion(ctx, ids[1])
	if got.Status != bot.SuggestionRejected || got.EntryID != "" || got.DecidedBy != "admin" {
		t.Fatalf("rejected = %+v", got)
	}
	for status, want := range map[string]int{"": 2, bot.SuggestionPending: 0, bot.SuggestionApproved: 1, bot.SuggestionRejected: 1} {
		list, err := s.ListSuggestions(ctx, status, 0)
		if err != nil || len(list) != want {
			t.Errorf("ListSuggestions(%q) = %d, %v; want %d", status, len(list), err, want)
		}
	}
}

func TestSuggestExamples(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	rid := mustAgentReply(t, s, key, "r-1", "Alice", "Settings, then Reset password.")
	list := []bot.FAQSuggestion{
		{EntryID: "reset", Question: "I forgot my password", SuggestedBy: "model"},
		{EntryID: "reset", Question: "  i FORGOT   my password ", SuggestedBy: "model"}, // the same, folded
		{EntryID: "billing", Question: "I forgot my password", SuggestedBy: "model"},    // another entry
		{EntryID: "reset", Question: "human please", ConversationKey: key, ReplyID: rid, SuggestedBy: "Alice"},
	}
	ids, created, err := s.SuggestExamples(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bool{true, false, true, true}, created); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}
	if ids[1] != ids[0] {
		t.Fatalf("ids = %v: the folded duplicate should find the first", ids)
	}
	// A retried job (same reply) stores nothing new.
	again, created, err := s.SuggestExamples(ctx, list[3:])
	if err != nil || created[0] || again[0] != ids[3] {
		t.Fatalf("retry = %v, %v, %v; want %d, false", again, created, err, ids[3])
	}
	pending, err := s.PendingExamples(ctx, "reset")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pending), 2; got != want {
		t.Fatalf("pending examples of reset = %d, want %d", got, want)
	}
	if got := pending[1]; got.Kind != bot.SuggestionExample || got.ReplyID != rid || got.ConversationKey != key || got.EntryID != "reset" {
		t.Fatalf("learned example = %+v", got)
	}
	if err := s.DecideSuggestion(ctx, ids[0], false, "op", ""); err != nil {
		t.Fatal(err)
	}
	// A rejected phrasing is not suggested again.
	if _, created, err := s.SuggestExamples(ctx, list[:1]); err != nil || created[0] {
		t.Fatalf("rejected phrasing suggested again: %v, %v", created, err)
	}
	if all, err := s.PendingExamples(ctx, ""); err != nil || len(all) != 2 {
		t.Fatalf("all pending examples = %d, %v; want 2", len(all), err)
	}
	if _, _, err := s.SuggestExamples(ctx, []bot.FAQSuggestion{{Question: "x", SuggestedBy: "m"}}); err == nil {
		t.Fatal("an example without an entry was stored")
	}
}

func TestSaveAugment(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	if done, err := s.AugmentDone(ctx, "h1"); err != nil || done {
		t.Fatalf("AugmentDone before = %v, %v", done, err)
	}
	n, err := s.SaveAugment(ctx, bot.AugmentRecord{Hash: "h1", EntryID: "reset", Model: "m", PromptTokens: 10, CompletionTokens: 5},
		[]bot.FAQSuggestion{
			{EntryID: "reset", Question: "lost my password", SuggestedBy: "augment"},
			{EntryID: "reset", Question: "Lost my password", SuggestedBy: "augment"},
		})
	if err != nil || n != 1 {
		t.Fatalf("SaveAugment = %d, %v; want 1", n, err)
	}
	if done, err := s.AugmentDone(ctx, "h1"); err != nil || !done {
		t.Fatalf("AugmentDone after = %v, %v", done, err)
	}
}
