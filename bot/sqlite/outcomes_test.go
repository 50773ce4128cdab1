package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
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
	if err := s.Claim(ctx, escKey, "grace"); err != nil {
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
