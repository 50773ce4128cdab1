package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

func TestIngestSlackOnce(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	payload := []byte(`{"type":"event_callback","event_id":"Ev1"}`)
	for i, want := range []bool{false, true} {
		dup, err := s.IngestSlack(ctx, "Ev1", "slack_event", "slack:C1:1.000001", payload)
		if err != nil {
			t.Fatal(err)
		}
		if dup != want {
			t.Fatalf("delivery %d duplicate = %v, want %v", i, dup, want)
		}
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Kind != "slack_event" || jobs[0].QueueKey != "slack:C1:1.000001" || string(jobs[0].Payload) != string(payload) {
		t.Fatalf("jobs = %+v, want one slack_event job with the payload", jobs)
	}
	if _, err := s.IngestSlack(ctx, "", "slack_event", "q", payload); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestLatestEscalationAndHolder(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	if _, err := s.LatestEscalation(ctx, "chat/none"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("missing escalation err = %v, want ErrNotFound", err)
	}
	key := mustEscalate(t, s, "c")
	e, err := s.LatestEscalation(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if e.ConversationKey != key || e.Reason != bot.ReasonHumanRequested || e.Status != "open" {
		t.Fatalf("escalation = %+v", e)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: "bob"})
	var h interface{ Holder() string }
	if !errors.As(err, &h) || h.Holder() != "alice" {
		t.Fatalf("claim err = %v, want a Holder() naming alice", err)
	}
	var ce *sqlite.ClaimError
	if !errors.As(err, &ce) {
		t.Fatalf("claim err = %T", err)
	}
}
