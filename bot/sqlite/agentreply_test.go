package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// deliverJobs returns the reply ids of the queued deliver jobs.
func deliverJobs(t *testing.T, s *sqlite.Store) []string {
	t.Helper()
	jobs, err := s.ListJobs(context.Background(), bot.JobFilter{State: bot.JobQueued, Kind: bot.JobDeliver, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		p, err := bot.DecodePayload[bot.DeliverPayload](j)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ReplyID)
	}
	return ids
}

func TestAgentReplyClaimsEscalated(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	key := mustEscalate(t, s, "c")
	ctx := context.Background()
	before := len(deliverJobs(t, s))
	res, err := s.AgentReply(ctx, bot.AgentReply{ConversationKey: key, Agent: " Grace ", Text: " Fixed it for you. ", Via: "on the dashboard"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Claimed || res.Replayed || res.Reply.State != bot.StateAgent || res.Reply.AgentName != "Grace" ||
		res.Reply.Text != "Fixed it for you." || res.Reply.Author != bot.AuthorAgent || res.Reply.Kind != bot.ReplyAgent ||
		res.Reply.ConversationID != "c" || res.Reply.Trigger != "chat" {
		t.Fatalf("result = %+v", res)
	}
	if got := deliverJobs(t, s); len(got) != before+1 || got[0] != res.Reply.ID {
		t.Fatalf("deliver jobs = %v, want the reply %s queued", got, res.Reply.ID)
	}
	c, _ := s.Conversation(ctx, key)
	if c.State != bot.StateAgent {
		t.Fatalf("state = %s, want agent", c.State)
	}
	trs, _ := s.Transitions(ctx, key)
	if last := trs[len(trs)-1]; last.To != bot.StateAgent || last.Actor != "Grace" || last.Reason != "answered on the dashboard" {
		t.Fatalf("last transition = %+v", last)
	}
	esc, err := s.ListEscalations(ctx, "claimed", 10)
	if err != nil || len(esc) != 1 || esc[0].ClaimedBy != "Grace" {
		t.Fatalf("claimed escalations = %+v, %v", esc, err)
	}
	msgs, _ := s.Messages(ctx, key)
	if last := msgs[len(msgs)-1]; last.Author != bot.AuthorAgent || last.AgentName != "Grace" || last.Text != "Fixed it for you." {
		t.Fatalf("transcript ends with %+v", last)
	}

	// A second reply, by another agent, goes to the conversation as it is.
	res, err = s.AgentReply(ctx, bot.AgentReply{ConversationKey: key, Agent: "Linus", Text: "And one more thing."})
	if err != nil || res.Claimed || res.Reply.State != bot.StateAgent {
		t.Fatalf("second reply = %+v, %v", res, err)
	}
}

func TestAgentReplyRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// mustEscalate stores its event as the store's first: one store each.
	s, back := MustOpenStore(t), MustOpenStore(t)
	esc := mustEscalate(t, s, "esc")
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: esc, To: bot.StateResolved, Actor: "Grace", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	handed := mustEscalate(t, back, "back")
	if _, err := back.ChangeState(ctx, bot.StateChange{Key: handed, To: bot.StateBot, Actor: "Grace", Reason: "handed back"}); err != nil {
		t.Fatal(err)
	}
	before := len(deliverJobs(t, s)) + len(deliverJobs(t, back))
	var ve *bot.ValidationError
	for _, tc := range []struct {
		name  string
		a     bot.AgentReply
		check func(error) bool
	}{
		{"resolved", bot.AgentReply{ConversationKey: esc, Agent: "Grace", Text: "hi"}, func(err error) bool { return errors.Is(err, bot.ErrConflict) }},
		{"bot-owned", bot.AgentReply{ConversationKey: handed, Agent: "Grace", Text: "hi"}, func(err error) bool { return errors.Is(err, bot.ErrConflict) }},
		{"unknown", bot.AgentReply{ConversationKey: "chat/nope", Agent: "Grace", Text: "hi"}, func(err error) bool { return errors.Is(err, bot.ErrNotFound) }},
		{"empty text", bot.AgentReply{ConversationKey: handed, Agent: "Grace", Text: "  "}, func(err error) bool { return errors.As(err, &ve) && ve.Field == "text" }},
		{"long text", bot.AgentReply{ConversationKey: handed, Agent: "Grace", Text: string(make([]byte, bot.MaxTextLen+1))}, func(err error) bool { return errors.As(err, &ve) && ve.Field == "text" }},
		{"no agent", bot.AgentReply{ConversationKey: handed, Text: "hi"}, func(err error) bool { return errors.As(err, &ve) && ve.Field == "agent" }},
		{"agent on two lines", bot.AgentReply{ConversationKey: handed, Agent: "Gr\nace", Text: "hi"}, func(err error) bool { return errors.As(err, &ve) && ve.Field == "agent" }},
	} {
		st := s
		if tc.a.ConversationKey == handed {
			st = back
		}
		if _, err := st.AgentReply(ctx, tc.a); !tc.check(err) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if got := len(deliverJobs(t, s)) + len(deliverJobs(t, back)); got != before {
		t.Fatalf("a refused reply queued a delivery: %d jobs, want %d", got, before)
	}
	for _, st := range []*sqlite.Store{s, back} {
		replies, _ := st.Replies(ctx, handed)
		more, _ := st.Replies(ctx, esc)
		for _, r := range append(replies, more...) {
			if r.Kind == bot.ReplyAgent {
				t.Fatalf("refused reply stored: %+v", r)
			}
		}
	}
}

func TestAgentReplyIdempotencyKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	s := sqlite.NewStore(path)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	key := mustEscalate(t, s, "c")
	ctx := context.Background()
	a := bot.AgentReply{ConversationKey: key, Agent: "Grace", Text: "On it.", IdempotencyKey: "k-1"}
	first, err := s.AgentReply(ctx, a)
	if err != nil || first.Replayed {
		t.Fatalf("first = %+v, %v", first, err)
	}
	jobs := deliverJobs(t, s)

	// Concurrent repeats of the same request: one reply in all.
	var wg sync.WaitGroup
	results := make([]bot.AgentReplyResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.AgentReply(ctx, a) })
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil || !r.Replayed || r.Reply.ID != first.Reply.ID || !r.Claimed || r.Reply.State != bot.StateAgent {
			t.Fatalf("repeat %d = %+v, %v; want the first result replayed", i, r, errs[i])
		}
	}
	if got := deliverJobs(t, s); len(got) != len(jobs) {
		t.Fatalf("deliver jobs %v after repeats, want %v", got, jobs)
	}

	// The key is durable: it holds after a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = sqlite.NewStore(path)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	again, err := s.AgentReply(ctx, a)
	if err != nil || !again.Replayed || again.Reply.ID != first.Reply.ID {
		t.Fatalf("after reopening = %+v, %v", again, err)
	}

	// The same key with another text, agent or conversation is refused.
	for _, other := range []bot.AgentReply{
		{ConversationKey: key, Agent: "Grace", Text: "Something else.", IdempotencyKey: "k-1"},
		{ConversationKey: key, Agent: "Linus", Text: "On it.", IdempotencyKey: "k-1"},
		{ConversationKey: "chat/other", Agent: "Grace", Text: "On it.", IdempotencyKey: "k-1"},
	} {
		if _, err := s.AgentReply(ctx, other); !errors.Is(err, bot.ErrIdempotencyKeyReused) {
			t.Fatalf("reused key for %+v: err = %v", other, err)
		}
	}
	// A new key is a new reply.
	a.IdempotencyKey = "k-2"
	if r, err := s.AgentReply(ctx, a); err != nil || r.Replayed || r.Reply.ID == first.Reply.ID {
		t.Fatalf("new key = %+v, %v", r, err)
	}
}

// TestOnTransition: committed state changes are reported after the commit;
// those of a write that failed (and was rolled back) are not.
func TestOnTransition(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	s.OnTransition = func(tr bot.Transition) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(tr.From)+">"+string(tr.To)+":"+tr.Actor)
		if tr.ConversationKey == "" || tr.At.IsZero() {
			t.Errorf("transition without key or time: %+v", tr)
		}
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	// Claims in the thread, then fails on the reply's duplicate id: rolled back.
	if _, err := s.QueueAgentReply(ctx, "slack:C1:1.1", bot.Reply{ID: "r-handoff", ConversationKey: key,
		Kind: bot.ReplyAgent, Author: bot.AuthorAgent, AgentName: "Mallory", Text: "x"}); err == nil {
		t.Fatal("a reply with a duplicate id was queued")
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateAgent, Actor: "Grace"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"bot>escalated:bot", "escalated>agent:Grace"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("reported %v, want %v", got, want)
	}
}

// TestAgentReplyMirroredToSlackThread: a conversation announced in Slack
// gets the reply written elsewhere mirrored into its thread.
func TestAgentReplyMirroredToSlackThread(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	jobs, err := s.ListJobs(ctx, bot.JobFilter{State: bot.JobQueued, Kind: bot.JobEscalate})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("escalate jobs = %v, %v", jobs, err)
	}
	esc, _ := s.ListEscalations(ctx, "open", 1)
	if err := s.MarkAnnounced(ctx, jobs[0].ID, esc[0].ID, bot.Thread{Channel: "C1", TS: "1700000000.000100"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentReply(ctx, bot.AgentReply{ConversationKey: key, Agent: "Grace", Text: "Answered from the dashboard."}); err != nil {
		t.Fatal(err)
	}
	mirrors, err := s.ListJobs(ctx, bot.JobFilter{State: bot.JobQueued, Kind: bot.JobMirror})
	if err != nil || len(mirrors) != 1 || mirrors[0].QueueKey != key+sqlite.LaneSlack {
		t.Fatalf("mirror jobs = %+v, %v", mirrors, err)
	}
	p, err := bot.DecodePayload[bot.MirrorPayload](mirrors[0])
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Message(ctx, p.MessageID)
	if err != nil || m.Author != bot.AuthorAgent || m.AgentName != "Grace" || m.Text != "Answered from the dashboard." {
		t.Fatalf("mirrored message = %+v, %v", m, err)
	}
}

// TestAgentReplyKeysPurged: retention deletes a conversation's idempotency
// keys with it.
func TestAgentReplyKeysPurged(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	a := bot.AgentReply{ConversationKey: key, Agent: "Grace", Text: "Done.", IdempotencyKey: "k-purge"}
	if _, err := s.AgentReply(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeState(ctx, bot.StateChange{Key: key, To: bot.StateResolved, Actor: "Grace", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	for { // one job of a lane at a time
		jobs, err := s.ClaimJobs(ctx, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			if err := s.CompleteJob(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	deleted, err := s.PurgeConversations(ctx, []string{key}, time.Now().Add(time.Hour))
	if err != nil || len(deleted) != 1 {
		t.Fatalf("purged %v, %v", deleted, err)
	}
	// The key is gone with the conversation: the repeat finds neither.
	if _, err := s.AgentReply(ctx, a); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("repeat after purge: err = %v, want not found", err)
	}
}
