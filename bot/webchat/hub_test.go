package webchat_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/webchat"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ev(id string) webchat.Event {
	return webchat.Event{ID: id, Author: bot.AuthorBot, Text: "text " + id}
}

// receive returns the next event on s, failing after a second.
func receive(t *testing.T, s *webchat.Subscription) webchat.Event {
	t.Helper()
	select {
	case e, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed, want an event")
		}
		return e
	case <-time.After(time.Second):
		t.Fatal("no event within 1s")
	}
	return webchat.Event{}
}

// mustBeClosed fails unless s's channel is closed (after draining it).
func mustBeClosed(t *testing.T, s *webchat.Subscription) {
	t.Helper()
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return
			}
		case <-time.After(time.Second):
			t.Fatal("subscription still open after 1s")
		}
	}
}

func TestHubPublishReachesOnlyTheConversation(t *testing.T) {
	t.Parallel()
	h := &webchat.Hub{}
	a1, err := h.Subscribe("web/a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := h.Subscribe("web/a")
	b, _ := h.Subscribe("web/b")
	if got, want := h.Subscribers("web/a"), 2; got != want {
		t.Fatalf("Subscribers(web/a)=%d, want %d", got, want)
	}
	h.Publish("web/a", ev("r1"))
	if got := receive(t, a1); got.ID != "r1" {
		t.Fatalf("a1 got %q, want r1", got.ID)
	}
	if got := receive(t, a2); got.ID != "r1" {
		t.Fatalf("a2 got %q, want r1", got.ID)
	}
	select {
	case e := <-b.C():
		t.Fatalf("b got %+v, an event of another conversation", e)
	default:
	}

	// Unsubscribing stops delivery to that subscriber only, and twice is fine.
	a1.Close()
	a1.Close()
	mustBeClosed(t, a1)
	h.Publish("web/a", ev("r2"))
	if got := receive(t, a2); got.ID != "r2" {
		t.Fatalf("a2 got %q, want r2", got.ID)
	}
	if got, want := h.Subscribers("web/a"), 1; got != want {
		t.Fatalf("Subscribers(web/a) after Close=%d, want %d", got, want)
	}
	a2.Close()
	b.Close()
	if got := h.Subscribers("web/a") + h.Subscribers("web/b"); got != 0 {
		t.Fatalf("Subscribers after closing all=%d, want 0", got)
	}
}

func TestHubRecentReplaysTheGap(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &webchat.Hub{RecentSize: 3, RecentKeep: time.Minute, Now: func() time.Time { return now }}
	for i := 1; i <= 5; i++ {
		h.Publish("web/a", ev(fmt.Sprintf("r%d", i)))
	}
	h.Publish("web/b", ev("other"))
	s, err := h.Subscribe("web/a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Recent {
		got = append(got, e.ID)
	}
	if fmt.Sprint(got) != "[r3 r4 r5]" {
		t.Fatalf("Recent=%v, want the last 3: [r3 r4 r5]", got)
	}
	s.Close()

	// Past RecentKeep nothing is remembered.
	now = now.Add(time.Minute + time.Second)
	s, _ = h.Subscribe("web/a")
	if len(s.Recent) != 0 {
		t.Fatalf("Recent after RecentKeep=%v, want none", s.Recent)
	}
	s.Close()
}

func TestHubDropsSlowSubscriber(t *testing.T) {
	t.Parallel()
	h := &webchat.Hub{Buffer: 2}
	slow, _ := h.Subscribe("web/a")
	fast, _ := h.Subscribe("web/a")
	for i := range 3 {
		h.Publish("web/a", ev(fmt.Sprint(i)))
		receive(t, fast)
	}
	// slow read nothing: two events buffered, then it was dropped.
	if got := receive(t, slow); got.ID != "0" {
		t.Fatalf("slow got %q first, want 0", got.ID)
	}
	receive(t, slow)
	mustBeClosed(t, slow)
	if got, want := h.Subscribers("web/a"), 1; got != want {
		t.Fatalf("Subscribers=%d, want %d (slow dropped, fast kept)", got, want)
	}
	fast.Close()
}

func TestHubClose(t *testing.T) {
	t.Parallel()
	h := &webchat.Hub{}
	s, _ := h.Subscribe("web/a")
	h.Close()
	h.Close()
	mustBeClosed(t, s)
	select {
	case <-h.Done():
	default:
		t.Fatal("Done() not closed after Close")
	}
	if _, err := h.Subscribe("web/a"); !errors.Is(err, bot.ErrClosed) {
		t.Fatalf("Subscribe after Close=%v, want bot.ErrClosed", err)
	}
	h.Publish("web/a", ev("late")) // must not panic on closed channels
	s.Close()
}

func TestHubConcurrent(t *testing.T) {
	t.Parallel()
	h := &webchat.Hub{Buffer: 1000}
	var wg sync.WaitGroup
	subs := make([]*webchat.Subscription, 20)
	for i := range subs {
		s, err := h.Subscribe("web/a")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	for p := range 4 {
		wg.Go(func() {
			for i := range 50 {
				h.Publish("web/a", ev(fmt.Sprintf("%d-%d", p, i)))
			}
		})
	}
	for _, s := range subs {
		wg.Go(func() {
			for range 200 {
				<-s.C()
			}
			s.Close()
		})
	}
	wg.Wait()
	if got := h.Subscribers("web/a"); got != 0 {
		t.Fatalf("Subscribers=%d, want 0", got)
	}
	h.Close()
}
