package sqlite_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// mustMarkSent completes the deliver job of reply id, as the worker does
// after the reply channel took it.
func mustMarkSent(t *testing.T, s *sqlite.Store, id string) {
	t.Helper()
	ctx := context.Background()
	jobs, err := s.ListJobs(ctx, bot.JobFilter{State: bot.JobQueued, Kind: bot.JobDeliver, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		p, err := bot.DecodePayload[bot.DeliverPayload](j)
		if err != nil {
			t.Fatal(err)
		}
		if p.ReplyID == id {
			if err := s.MarkReplySent(ctx, j.ID, id); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no queued deliver job for reply %s", id)
}

func replyIDs(rs []bot.StoredReply) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestSentReplies(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	key := mustEscalate(t, s, "c")
	other := mustCustomerWrites(t, s, "d", "e-d", "hello").Conversation.Key
	// Replies queue in this order; "a-3" stays queued (not delivered yet).
	for _, id := range []string{"z-1", "a-2", "m-3", "a-4"} {
		mustAgentReply(t, s, key, id, "Grace", "answer "+id)
	}
	mustAgentReply(t, s, other, "o-1", "Grace", "for someone else")
	for _, id := range []string{"r-handoff", "z-1", "a-2", "a-4", "o-1"} {
		mustMarkSent(t, s, id)
	}

	tests := []struct {
		name  string
		key   string
		after string
		n     int
		want  []string
	}{
		{name: "from the start", key: key, want: []string{"r-handoff", "z-1", "a-2", "a-4"}},
		{name: "after the hand-off", key: key, after: "r-handoff", want: []string{"z-1", "a-2", "a-4"}},
		{name: "after a reply, in queue order not id order", key: key, after: "z-1", want: []string{"a-2", "a-4"}},
		{name: "after an undelivered reply", key: key, after: "m-3", want: []string{"a-4"}},
		{name: "after the last", key: key, after: "a-4", want: []string{}},
		{name: "unknown id starts at the first", key: key, after: "nope", want: []string{"r-handoff", "z-1", "a-2", "a-4"}},
		{name: "another conversation's id starts at the first", key: key, after: "o-1", want: []string{"r-handoff", "z-1", "a-2", "a-4"}},
		{name: "limit", key: key, n: 2, want: []string{"r-handoff", "z-1"}},
		{name: "other conversation", key: other, want: []string{"o-1"}},
		{name: "no conversation", key: "chat/none", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SentReplies(ctx, tt.key, tt.after, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, replyIDs(got)); diff != "" {
				t.Fatalf("SentReplies(%q, %q) mismatch (-want +got):\n%s", tt.key, tt.after, diff)
			}
		})
	}

	got, err := s.SentReplies(ctx, key, "a-2", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.Author != bot.AuthorAgent || r.AgentName != "Grace" || r.Text != "answer a-4" || r.Kind != bot.ReplyAgent ||
		r.Status != "sent" || r.State != bot.StateAgent || r.ConversationKey != key || r.CreatedAt.IsZero() {
		t.Fatalf("SentReplies()[0]=%+v", r)
	}
}
