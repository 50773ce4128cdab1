package sqlite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// mustEscalate stores a conversation and escalates it through the same path
// the engine uses.
func mustEscalate(t *testing.T, s *sqlite.Store, conv string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Ingest(ctx, event(conv, "e-"+conv, "human please"), bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	in, err := s.RecordInbound(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := in.Conversation.Key
	err = s.ApplyDecision(ctx, bot.Outcome{
		JobID: jobs[0].ID, ConversationKey: key, MessageIDs: []int64{in.MessageID},
		Decision:   bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested},
		Escalation: &bot.Escalation{ConversationKey: key, Reason: bot.ReasonHumanRequested},
		Replies:    []bot.Reply{{ID: "r-handoff", ConversationKey: key, Kind: bot.ReplyHandoff, Author: bot.AuthorBot, Text: "a person will reply", State: bot.StateEscalated}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestClaimRaceFirstWins(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	key := mustEscalate(t, s, "c")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, agent := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: agent})
		}()
	}
	wg.Wait()
	var wins int
	var winner string
	var ce *sqlite.ClaimError
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			winner = []string{"alice", "bob"}[i]
		case errors.As(err, &ce) && errors.Is(err, bot.ErrConflict):
		default:
			t.Fatalf("claim err = %v", err)
		}
	}
	if wins != 1 || ce == nil || ce.ClaimedBy != winner {
		t.Fatalf("wins = %d, claim error = %v; want exactly one winner named in the other's error", wins, ce)
	}
	c, err := s.Conversation(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent", c.State)
	}
	// The winner claiming again is harmless.
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: winner}); err != nil {
		t.Fatalf("second claim by the holder: %v", err)
	}
	trs, err := s.Transitions(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	last := trs[len(trs)-1]
	if last.To != bot.StateAgent || last.Actor != winner || last.Reason != "claimed" {
		t.Fatalf("last transition = %+v", last)
	}
}

func TestAgentReplyOnceAndHandBack(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	key := mustEscalate(t, s, "c")
	ctx := context.Background()
	r := bot.Reply{ID: "r-agent-1", ConversationKey: key, Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: "Alice", Text: "Done!"}
	for i, want := range []bool{true, false} {
		if i == 1 {
			r.ID = "r-agent-2" // a redelivery gets a new id, and is still dropped
		}
		queued, err := s.QueueAgentReply(ctx, "slack:C1:1700000000.000100", r)
		if err != nil {
			t.Fatal(err)
		}
		if queued != want {
			t.Fatalf("delivery %d queued = %v, want %v", i, queued, want)
		}
	}
	c, _ := s.Conversation(ctx, key)
	if c.State != bot.StateAgent {
		t.Fatalf("answering in the thread should claim: state %s", c.State)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateBot, Actor: "Alice", Reason: "handed back"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateBot, Actor: "Alice", Reason: "handed back"}); err != nil {
		t.Fatalf("second hand back: %v", err)
	}
	c, _ = s.Conversation(ctx, key)
	if c.State != bot.StateBot {
		t.Fatalf("state = %s, want bot", c.State)
	}
	esc, err := s.ListEscalations(ctx, "returned", 10)
	if err != nil || len(esc) != 1 {
		t.Fatalf("returned escalations = %+v, %v", esc, err)
	}
	replies, err := s.Replies(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var agent int
	for _, r := range replies {
		if r.Kind == bot.ReplyAgent {
			agent++
			if r.State != bot.StateAgent {
				t.Fatalf("agent reply state = %s, want agent", r.State)
			}
		}
	}
	if agent != 1 {
		t.Fatalf("%d agent replies stored, want 1", agent)
	}
}

// A decision for a conversation that left the bot state meanwhile is
// refused with bot.ErrConflict, so the engine neither counts nor sends it.
func TestApplyDecisionConflictWhenEscalated(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	key := mustEscalate(t, s, "c")
	ctx := context.Background()
	err := s.ApplyDecision(ctx, bot.Outcome{
		ConversationKey: key,
		Decision:        bot.Decision{Action: bot.ActionAnswer, Answer: "late answer"},
		Replies:         []bot.Reply{{ID: "r-late", ConversationKey: key, Kind: bot.ReplyAnswer, Author: bot.AuthorBot, Text: "late answer", State: bot.StateBot}},
	})
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("ApplyDecision on an escalated conversation = %v, want bot.ErrConflict", err)
	}
	msgs, err := s.Messages(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Text == "late answer" {
			t.Fatalf("the dropped decision's reply was stored: %+v", m)
		}
	}
}
