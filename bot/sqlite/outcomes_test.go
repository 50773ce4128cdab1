package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

func TestOutcomeStats(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	// One conversation handed off and never claimed.
	escKey := mustEscalate(t, s, "esc")
	// One answered by the bot, then quiet.
	if _, err := s.Ingest(ctx, event("ans", "e-ans", "how do I reset my password"), bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	var job *bot.Job
	for _, j := range jobs {
		if j.Kind == bot.JobProcess {
			job = j
		}
	}
	in, err := s.RecordInbound(ctx, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyDecision(ctx, bot.Outcome{
		JobID: job.ID, ConversationKey: in.Conversation.Key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "Use the link."},
		Replies:  []bot.Reply{{ID: "r-ans", ConversationKey: in.Conversation.Key, Kind: bot.ReplyAnswer, Author: bot.AuthorBot, Text: "Use the link.", State: bot.StateBot}},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ResolveIdle(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("resolve idle = %d, %v; want 1 (the escalated one is not bot-owned)", n, err)
	}
	since := time.Now().Add(-time.Hour)
	// Right after: the resolution has not held for the window yet.
	got, err := s.OutcomeStats(ctx, since, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.OutcomeStats{Conversations: 2, HandedOff: 1}); got != want {
		t.Fatalf("at once: %+v, want %+v", got, want)
	}
	s.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	got, err = s.OutcomeStats(ctx, since, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.OutcomeStats{Conversations: 2, ResolvedByBot: 1, HandedOff: 1, Abandoned: 1}); got != want {
		t.Fatalf("after the window: %+v, want %+v", got, want)
	}
	// An agent claims the escalation three days on: no longer abandoned,
	// and its wait is the time to claim.
	s.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: escKey, To: bot.StateAgent, Actor: "grace"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.OutcomeStats(ctx, since, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got.Claimed != 1 || got.Abandoned != 0 || got.ClaimP50 != got.ClaimMax || got.ClaimP90 != got.ClaimMax ||
		got.ClaimMax < 71*time.Hour || got.ClaimMax > 73*time.Hour {
		t.Fatalf("after the claim: %+v, want one claim after about 72h", got)
	}
}

// mustTurn ingests one customer message and records it, as the process job
// does, returning the inbound and the job to apply the decision with.
func mustTurn(t *testing.T, s *sqlite.Store, conv, id, text string) (*bot.Inbound, int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Ingest(ctx, event(conv, id, text), bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind != bot.JobProcess {
			continue
		}
		p, err := bot.DecodePayload[bot.ProcessPayload](j)
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.RecordInbound(ctx, p.InboxID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return in, j.ID
	}
	t.Fatalf("no process job for %s", id)
	return nil, 0
}

func TestApplyDecisionActsAndConfirmation(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	conv := func() *bot.Conversation {
		t.Helper()
		c, err := s.Conversation(ctx, "chat/c")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	reply := func(id, kind string, st bot.State, opts ...string) bot.Reply {
		return bot.Reply{ID: id, ConversationKey: "chat/c", Kind: kind, Author: bot.AuthorBot, Text: id, State: st, Options: opts}
	}

	// A question the bot could not answer, handed back.
	in, job := mustTurn(t, s, "c", "m1", "something odd")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: in.Conversation.Key, MessageIDs: []int64{in.MessageID},
		Decision:   bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope},
		Escalation: &bot.Escalation{ConversationKey: "chat/c", Reason: bot.ReasonOutOfScope},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: "chat/c", From: bot.StateEscalated, To: bot.StateBot, Actor: "grace", Reason: "hand back"}); err != nil {
		t.Fatal(err)
	}
	// A greeting is not a turn: it answers nothing.
	in, job = mustTurn(t, s, "c", "m1b", "hi")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: "chat/c", MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "r-hi0", Source: "act"}, Act: "greeting",
		Replies: []bot.Reply{reply("r-hi0", bot.ReplyAnswer, bot.StateBot)},
	}); err != nil {
		t.Fatal(err)
	}
	if c := conv(); c.Answered || c.ConfirmPending || c.State != bot.StateBot {
		t.Fatalf("after the first greeting: %+v", c)
	}
	// An answer that asks for confirmation.
	in, job = mustTurn(t, s, "c", "m2", "how do I reset my password")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: "chat/c", MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "r-ans"}, Answered: true, Confirm: true,
		Replies: []bot.Reply{reply("r-ans", bot.ReplyAnswer, bot.StateBot, "Yes", "No")},
	}); err != nil {
		t.Fatal(err)
	}
	if c := conv(); !c.Answered || !c.ConfirmPending || c.FailedTurns != 0 {
		t.Fatalf("after the answer: %+v", c)
	}
	r, send, err := s.PrepareReply(ctx, "r-ans")
	if err != nil || !send || len(r.Options) != 2 || r.Options[0] != "Yes" {
		t.Fatalf("prepared reply = %+v, %v, %v; want its options", r, send, err)
	}
	// A greeting leaves the question standing.
	in, job = mustTurn(t, s, "c", "m3", "hello")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: "chat/c", MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "r-hi", Source: "act"}, Act: "greeting",
		Replies: []bot.Reply{reply("r-hi", bot.ReplyAnswer, bot.StateBot)},
	}); err != nil {
		t.Fatal(err)
	}
	if c := conv(); !c.Answered || !c.ConfirmPending || c.State != bot.StateBot {
		t.Fatalf("after the greeting: %+v", c)
	}
	// Yes: resolved as confirmed, the closing still sent.
	in, job = mustTurn(t, s, "c", "m4", "yes")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: "chat/c", MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "r-bye", Source: "act"}, Act: "yes", Resolve: bot.ResolutionConfirmed,
		Replies: []bot.Reply{reply("r-bye", bot.ReplyClosing, bot.StateResolved)},
	}); err != nil {
		t.Fatal(err)
	}
	if c := conv(); c.State != bot.StateResolved || c.Answered || c.ConfirmPending {
		t.Fatalf("after yes: %+v", c)
	}
	if _, send, err := s.PrepareReply(ctx, "r-bye"); err != nil || !send {
		t.Fatalf("closing: send %v, %v; want it sent", send, err)
	}
	since := time.Now().Add(-time.Hour)
	st, err := s.OutcomeStats(ctx, since, 24*time.Hour)
	if err != nil || st.Confirmed != 1 {
		t.Fatalf("outcomes = %+v, %v; want one confirmed", st, err)
	}
	// The customer comes back: no longer a confirmed resolution.
	mustTurn(t, s, "c", "m5", "one more thing")
	if st, err := s.OutcomeStats(ctx, since, 24*time.Hour); err != nil || st.Confirmed != 0 {
		t.Fatalf("after reopening: %+v, %v; want none confirmed", st, err)
	}
}

func TestRateConversation(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	in, job := mustTurn(t, s, "c", "m1", "how do I reset my password")
	if err := s.ApplyDecision(ctx, bot.Outcome{JobID: job, ConversationKey: in.Conversation.Key, MessageIDs: []int64{in.MessageID},
		Decision: bot.Decision{Action: bot.ActionAnswer, Answer: "Use the link."}, Answered: true,
	}); err != nil {
		t.Fatal(err)
	}
	rate := func(score int, comment string) error {
		return s.RateConversation(ctx, bot.Rating{ConversationKey: "chat/c", Score: score, Comment: comment})
	}
	if err := rate(5, ""); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("rating an open conversation: %v, want ErrConflict", err)
	}
	if err := s.RateConversation(ctx, bot.Rating{ConversationKey: "chat/nope", Score: 5}); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("rating an unknown conversation: %v, want ErrNotFound", err)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: "chat/c", From: bot.StateBot, To: bot.StateResolved, Actor: bot.ActorCustomer, Reason: bot.ResolutionConfirmed}); err != nil {
		t.Fatal(err)
	}
	var verr *bot.ValidationError
	for _, bad := range []bot.Rating{{Score: 0}, {Score: 6}, {Score: 3, Comment: strings.Repeat("x", bot.MaxRatingComment+1)}} {
		bad.ConversationKey = "chat/c"
		if err := s.RateConversation(ctx, bad); !errors.As(err, &verr) {
			t.Fatalf("RateConversation(%d, %d bytes) = %v, want a validation error", bad.Score, len(bad.Comment), err)
		}
	}
	if err := rate(2, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := rate(5, "sorted in a minute"); err != nil { // a second rating replaces the first
		t.Fatal(err)
	}
	r, err := s.Rating(ctx, "chat/c")
	if err != nil || r.Score != 5 || r.Comment != "sorted in a minute" {
		t.Fatalf("rating = %+v, %v", r, err)
	}
	st, err := s.OutcomeStats(ctx, time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil || st.Ratings != [5]int64{0, 0, 0, 0, 1} {
		t.Fatalf("outcome ratings = %v, %v; want one 5", st.Ratings, err)
	}
	if _, err := s.Rating(ctx, "chat/other"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("no rating: %v, want ErrNotFound", err)
	}
}
