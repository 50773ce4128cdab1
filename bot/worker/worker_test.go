package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/bot/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink records delivered replies; it is the network edge of these tests.
type sink struct {
	mu      sync.Mutex
	replies []bot.Reply
	ch      chan bot.Reply
	fail    func(r bot.Reply) error
}

func newSink() *sink { return &sink{ch: make(chan bot.Reply, 1000)} }

func (s *sink) Deliver(_ context.Context, r bot.Reply) error {
	if s.fail != nil {
		if err := s.fail(r); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.replies = append(s.replies, r)
	s.mu.Unlock()
	s.ch <- r
	return nil
}

func (s *sink) wait(t *testing.T, n int) []bot.Reply {
	t.Helper()
	var out []bot.Reply
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case r := <-s.ch:
			out = append(out, r)
		case <-timeout:
			t.Fatalf("got %d replies, want %d: %+v", len(out), n, out)
		}
	}
	return out
}

// quiet asserts no further reply arrives within d.
func (s *sink) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-s.ch:
		t.Fatalf("unexpected reply %+v", r)
	case <-time.After(d):
	}
}

type testBundle struct {
	store  *sqlite.Store
	sink   *sink
	runner *worker.Runner
	engine *worker.Engine
}

// echoDecider answers every turn with its text, except "human" which escalates.
var echoDecider = bot.DeciderFunc(func(_ context.Context, q bot.Query) (bot.Decision, error) {
	if strings.Contains(q.Text, "human") {
		return bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonHumanRequested}, nil
	}
	return bot.Decision{Action: bot.ActionAnswer, Answer: "re: " + q.Text, Confidence: 1}, nil
})

func setup(t *testing.T, d bot.Decider, configure func(*testBundle)) *testBundle {
	t.Helper()
	s := sqlite.NewStore(filepath.Join(t.TempDir(), "w.db"))
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	b := &testBundle{store: s, sink: newSink()}
	b.engine = &worker.Engine{Store: s, Decider: d, Deliverer: b.sink}
	b.runner = &worker.Runner{
		Queue: s, Workers: 4, PollInterval: 20 * time.Millisecond,
		Backoff: worker.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
	if configure != nil {
		configure(b)
	}
	b.runner.Handlers = b.engine.Handlers()
	if err := b.runner.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.runner.Close()
		_ = s.Close()
	})
	return b
}

func ingest(t *testing.T, s *sqlite.Store, conv, id, text string, burst time.Duration) {
	t.Helper()
	ev := bot.Event{
		Trigger: "chat", ID: id, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: conv}, Message: bot.MessageRef{ID: id, Text: text},
		ReceivedAt: time.Now().UTC(),
	}
	if _, err := s.Ingest(context.Background(), ev, bot.IngestOptions{Burst: burst}); err != nil {
		t.Fatal(err)
	}
}

func TestAnswerDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	ingest(t, b.store, "c-1", "m-1", "how do I reset my password?", 0)
	r := b.sink.wait(t, 1)[0]
	if got, want := r.Text, "re: how do I reset my password?"; got != want {
		t.Fatalf("reply = %q, want %q", got, want)
	}
	if r.Author != bot.AuthorBot || r.Kind != bot.ReplyAnswer || r.ConversationID != "c-1" || r.State != bot.StateBot {
		t.Fatalf("reply = %+v", r)
	}
}

func TestOrderPerConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	const n = 50
	for i := range n {
		for _, conv := range []string{"a", "b", "c"} {
			ingest(t, b.store, conv, fmt.Sprintf("%s-%d", conv, i), fmt.Sprintf("q%d", i), 0)
		}
	}
	got := b.sink.wait(t, 3*n)
	next := map[string]int{}
	for _, r := range got {
		want := fmt.Sprintf("re: q%d", next[r.ConversationID])
		if r.Text != want {
			t.Fatalf("conversation %s: reply %q, want %q (out of order)", r.ConversationID, r.Text, want)
		}
		next[r.ConversationID]++
	}
	for _, conv := range []string{"a", "b", "c"} {
		if next[conv] != n {
			t.Fatalf("conversation %s got %d replies, want %d", conv, next[conv], n)
		}
	}
}

func TestBurstIsOneTurn(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	burst := 300 * time.Millisecond
	ingest(t, b.store, "c", "m1", "hi", burst)
	ingest(t, b.store, "c", "m2", "i cannot log in", burst)
	ingest(t, b.store, "c", "m3", "on my phone", burst)
	r := b.sink.wait(t, 1)[0]
	if got, want := r.Text, "re: hi\ni cannot log in\non my phone"; got != want {
		t.Fatalf("reply = %q, want %q", got, want)
	}
	b.sink.quiet(t, 2*burst)
}

func TestSpreadMessagesAreSeparateTurns(t *testing.T) {
	t.Parallel()
	b := setup(t, echoDecider, nil)
	burst := 50 * time.Millisecond
	for i, text := range []string{"one", "two", "three"} {
		ingest(t, b.store, "c", fmt.Sprint(i), text, burst)
		if got, want := b.sink.wait(t, 1)[0].Text, "re: "+text; got != want {
			t.Fatalf("reply = %q, want %q", got, want)
		}
	}
}

func TestEscalationSuppressesBotReplies(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var held atomic.Bool
	b := setup(t, echoDecider, func(b *testBundle) {
		// Hold the first answer's delivery until after the escalation.
		b.sink.fail = func(r bot.Reply) error {
			if r.Kind == bot.ReplyAnswer && held.CompareAndSwap(false, true) {
				<-release
				return errors.New("receiver down")
			}
			return nil
		}
	})
	ingest(t, b.store, "c", "m1", "first question", 0)
	ingest(t, b.store, "c", "m2", "get me a human", 0)
	ingest(t, b.store, "c", "m3", "hello?", 0)
	// Wait for the escalation to be applied before letting the answer retry.
	waitFor(t, "conversation never escalated", func() bool {
		c, err := b.store.Conversation(context.Background(), "chat/c")
		return err == nil && c.State == bot.StateEscalated
	})
	close(release)
	got := b.sink.wait(t, 1)
	if got[0].Kind != bot.ReplyHandoff {
		t.Fatalf("first delivered reply = %+v, want the hand-off", got[0])
	}
	b.sink.quiet(t, 200*time.Millisecond)
	replies, err := b.store.Replies(context.Background(), "chat/c")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, r := range replies {
		statuses = append(statuses, r.Kind+":"+r.Status)
	}
	if got, want := strings.Join(statuses, ","), "answer:suppressed,handoff:sent"; got != want {
		t.Fatalf("replies = %s, want %s", got, want)
	}
}

func TestRetryThenDeadLetterThenReplay(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var down atomic.Bool
	down.Store(true)
	b := setup(t, echoDecider, func(b *testBundle) {
		b.engine.MaxAttempts = 3
		b.sink.fail = func(bot.Reply) error {
			calls.Add(1)
			if down.Load() {
				return errors.New("503 from callback")
			}
			return nil
		}
	})
	ingest(t, b.store, "c", "m1", "q", 0)
	ctx := context.Background()
	var dead []*bot.Job
	deadline := time.Now().Add(10 * time.Second)
	for len(dead) == 0 {
		var err error
		if dead, err = b.store.ListJobs(ctx, bot.JobFilter{State: bot.JobDiscarded}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, want := calls.Load(), int32(3); got != want {
		t.Fatalf("delivery attempts = %d, want %d", got, want)
	}
	if dead[0].Kind != bot.JobDeliver || !strings.Contains(dead[0].LastError, "503") {
		t.Fatalf("dead letter = %+v", dead[0])
	}
	down.Store(false)
	if err := b.store.ReplayJob(ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := b.sink.wait(t, 1)[0]; r.Text != "re: q" {
		t.Fatalf("replayed reply = %+v", r)
	}
}

func TestPermanentErrorDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	b := setup(t, echoDecider, func(b *testBundle) {
		b.sink.fail = func(bot.Reply) error {
			calls.Add(1)
			return bot.Permanent(errors.New("410 gone"))
		}
	})
	ingest(t, b.store, "c", "m1", "q", 0)
	waitFor(t, "no dead letter", func() bool {
		dead, _ := b.store.ListJobs(context.Background(), bot.JobFilter{State: bot.JobDiscarded})
		return len(dead) == 1
	})
	if got := calls.Load(); got != 1 {
		t.Fatalf("attempts = %d, want 1", got)
	}
}

func TestShutdownReleasesInterruptedJobs(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	slow := bot.DeciderFunc(func(ctx context.Context, q bot.Query) (bot.Decision, error) {
		started <- struct{}{}
		<-ctx.Done()
		return bot.Decision{}, ctx.Err()
	})
	b := setup(t, slow, func(b *testBundle) { b.runner.ShutdownTimeout = 50 * time.Millisecond })
	ingest(t, b.store, "c", "m1", "q", 0)
	<-started
	if err := b.runner.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := b.store.QueueStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 1 || st.Running != 0 {
		t.Fatalf("after shutdown: %+v, want the job queued again", st)
	}
	// A new runner picks it up with its attempt budget intact.
	jobs, err := b.store.ClaimJobs(context.Background(), 1, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Attempt != 1 {
		t.Fatalf("claim = %+v, %v", jobs, err)
	}
}

func TestBlockedConversationDoesNotHoldOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	d := bot.DeciderFunc(func(ctx context.Context, q bot.Query) (bot.Decision, error) {
		if q.ConversationKey == "chat/slow" {
			select {
			case <-release:
			case <-ctx.Done():
				return bot.Decision{}, ctx.Err()
			}
		}
		return echoDecider(ctx, q)
	})
	b := setup(t, d, nil)
	ingest(t, b.store, "slow", "s1", "first", 0)
	ingest(t, b.store, "slow", "s2", "second", 0)
	for i := range 10 {
		ingest(t, b.store, fmt.Sprintf("fast-%d", i), fmt.Sprintf("f%d", i), "hi", 0)
	}
	for _, r := range b.sink.wait(t, 10) {
		if r.ConversationID == "slow" {
			t.Fatalf("slow conversation answered before release: %+v", r)
		}
	}
	close(release)
	got := b.sink.wait(t, 2)
	if got[0].Text != "re: first" || got[1].Text != "re: second" {
		t.Fatalf("slow conversation replies = %q, %q; want first then second", got[0].Text, got[1].Text)
	}
}

// A handler that ignores cancellation cannot hold Close for longer than
// ShutdownTimeout + CancelGrace; Close says so with an error.
func TestCloseBoundedWhenHandlerIgnoresCancel(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	stubborn := bot.DeciderFunc(func(ctx context.Context, q bot.Query) (bot.Decision, error) {
		started <- struct{}{}
		<-release // ignores ctx
		return bot.Decision{}, ctx.Err()
	})
	b := setup(t, stubborn, func(b *testBundle) {
		b.runner.ShutdownTimeout = 20 * time.Millisecond
		b.runner.CancelGrace = 50 * time.Millisecond
	})
	defer close(release) // let the goroutine end before goleak looks
	ingest(t, b.store, "c", "m1", "q", 0)
	<-started
	closed := make(chan error, 1)
	go func() { closed <- b.runner.Close() }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close is still waiting for a handler that ignores cancellation")
	}
}

// A handler's panic is dead-lettered and its stack logged.
func TestPanicStackLogged(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	boom := bot.DeciderFunc(func(context.Context, bot.Query) (bot.Decision, error) {
		var m map[string]int
		m["x"]++ // nil map write: a real runtime panic
		return bot.Decision{}, nil
	})
	b := setup(t, boom, func(b *testBundle) {
		b.runner.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	ingest(t, b.store, "c", "m1", "q", 0)
	waitFor(t, "no dead letter", func() bool {
		dead, _ := b.store.ListJobs(context.Background(), bot.JobFilter{State: bot.JobDiscarded})
		return len(dead) == 1
	})
	if out := buf.String(); !strings.Contains(out, "handler panic") || !strings.Contains(out, "TestPanicStackLogged") {
		t.Fatalf("log has no panic stack naming the handler:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing the test with what after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
