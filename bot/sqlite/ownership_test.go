package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// mustProcessJob ingests ev and returns its process job's id and inbox id.
func mustProcessJob(t *testing.T, s *sqlite.Store, ev bot.Event) (jobID, inboxID int64) {
	t.Helper()
	ctx := context.Background()
	rc, err := s.Ingest(ctx, ev, bot.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inboxID, err = sqlite.ParseEventRef(rc.ID); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %d jobs, %v; want 1", len(jobs), err)
	}
	return jobs[0].ID, inboxID
}

func TestApplyOwnership(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	take := &bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk", Reason: bot.ReasonHelpdeskAssigned}
	sig := bot.Event{Trigger: "chat", ID: "s-1", Type: bot.EventOwnerChanged, Conversation: bot.ConversationRef{ID: "c-1"},
		Owner: take, ReceivedAt: time.Now().UTC()}

	// A plain message carries no signal and changes nothing.
	job, inbox := mustProcessJob(t, s, event("c-1", "m-1", "hi"))
	res, err := s.ApplyOwnership(ctx, job, inbox)
	if err != nil || res.Event.Owner != nil || res.Done {
		t.Fatalf("ApplyOwnership(message) = %+v, %v", res, err)
	}
	if err := s.CompleteJob(ctx, job); err != nil {
		t.Fatal(err)
	}

	// The assignment creates the conversation owned by the person, and
	// completes the job; applied again, it changes nothing.
	job, inbox = mustProcessJob(t, s, sig)
	res, err = s.ApplyOwnership(ctx, job, inbox)
	if err != nil || !res.Done || res.From != bot.StateBot || res.To != bot.StateAgent || res.Skipped != "" {
		t.Fatalf("ApplyOwnership(assigned) = %+v, %v", res, err)
	}
	if j, err := s.Job(ctx, job); err != nil || j.State != bot.JobCompleted {
		t.Fatalf("job = %+v, %v; want completed", j, err)
	}
	res, err = s.ApplyOwnership(ctx, job, inbox)
	if err != nil || res.Skipped != "unchanged" {
		t.Fatalf("ApplyOwnership(again) = %+v, %v; want unchanged", res, err)
	}
	c, err := s.Conversation(ctx, "chat/c-1")
	if err != nil || c.State != bot.StateAgent {
		t.Fatalf("conversation = %+v, %v; want agent", c, err)
	}
	ts, err := s.Transitions(ctx, "chat/c-1")
	if err != nil || len(ts) != 1 || ts[0].Actor != "zendesk" || ts[0].Reason != bot.ReasonHelpdeskAssigned {
		t.Fatalf("transitions = %+v, %v", ts, err)
	}

	// Solved in the helpdesk: resolved.
	sig.ID, sig.Owner = "s-2", &bot.OwnerChange{State: bot.StateResolved, Actor: "zendesk", Reason: bot.ReasonHelpdeskResolved}
	job, inbox = mustProcessJob(t, s, sig)
	if res, err = s.ApplyOwnership(ctx, job, inbox); err != nil || res.To != bot.StateResolved {
		t.Fatalf("ApplyOwnership(solved) = %+v, %v", res, err)
	}
	// Unassigned after it was solved: not allowed, nothing changes.
	sig.ID, sig.Owner = "s-3", &bot.OwnerChange{State: bot.StateBot, Actor: "zendesk", Reason: bot.ReasonHelpdeskUnassigned}
	job, inbox = mustProcessJob(t, s, sig)
	if res, err = s.ApplyOwnership(ctx, job, inbox); err != nil || res.Skipped != "not allowed" || res.To != bot.StateResolved {
		t.Fatalf("ApplyOwnership(unassigned) = %+v, %v", res, err)
	}
}

// The helpdesk shows the bot's replies, and agents' relayed replies signed
// with their name, as a person's: they are echoes, not a person.
func TestApplyOwnershipEcho(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	if _, err := s.Ingest(ctx, event("c-1", "m-1", "hi"), bot.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	if _, err := s.RecordInbound(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteJob(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueueAgentReply(ctx, "slack-1", bot.Reply{ID: "r-1", ConversationKey: "chat/c-1", Kind: bot.ReplyAgent,
		Author: bot.AuthorAgent, AgentName: "Grace", Text: "Try the reset link again."}); err != nil {
		t.Fatal(err)
	}
	if jobs, err = s.ClaimJobs(ctx, 10, time.Minute); err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	if err := s.MarkReplySent(ctx, jobs[0].ID, "r-1"); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		echo, skipped string
	}{
		{"Try the reset link again.\n\n— Grace", "echo"},
		{"Try the reset link again.", "echo"},
		{"Try the reset link again, and tell me if it works.", ""},
	} {
		ev := bot.Event{Trigger: "chat", ID: fmt.Sprintf("s-%d", i), Type: bot.EventOwnerChanged, Conversation: bot.ConversationRef{ID: "c-1"},
			Owner:      &bot.OwnerChange{State: bot.StateAgent, Actor: "chatwoot:Grace", Reason: bot.ReasonHelpdeskReplied, Echo: tc.echo},
			ReceivedAt: time.Now().UTC()}
		job, inbox := mustProcessJob(t, s, ev)
		res, err := s.ApplyOwnership(ctx, job, inbox)
		if err != nil || res.Skipped != tc.skipped {
			t.Fatalf("echo %q: %+v, %v; want skipped %q", tc.echo, res, err, tc.skipped)
		}
	}
}
