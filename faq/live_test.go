package faq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type liveBundle struct {
	live *Live
	dir  string
}

func setupLive(t *testing.T) *liveBundle {
	t.Helper()
	dir := t.TempDir()
	l := NewLive(Options{}, dir)
	l.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Cleanup(func() { _ = l.Close() })
	return &liveBundle{live: l, dir: dir}
}

// MustWait waits for the background builds and fails on a build error.
func MustWait(tb testing.TB, l *Live) *Matcher {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := l.Wait(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if m == nil {
		tb.Fatal("no matcher after Wait")
	}
	return m
}

// otherKB is smallKB with a different set of entries.
func otherKB() *KB {
	return &KB{Entries: []Entry{
		{ID: "hours", Question: "What are your opening hours?", Answer: "9 to 5.",
			Examples: []string{"when are you open", "opening times", "are you open on sunday", "closing time"}},
		{ID: "address", Question: "Where is your shop?", Answer: "Main Street 1.",
			Examples: []string{"your address", "how do I find you", "store location", "directions to the shop"}},
	}}
}

func TestLiveStart(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	if b.live.Ready() || b.live.Current() != nil {
		t.Fatal("ready before any build")
	}
	if _, ready := b.live.Decide("reset my password", 3); ready {
		t.Fatal("Decide ready before any build")
	}
	b.live.Start(smallKB())
	m := MustWait(t, b.live)
	if !b.live.Ready() || b.live.Current() != m || b.live.Err() != nil {
		t.Fatalf("after the build: ready %v, err %v", b.live.Ready(), b.live.Err())
	}
	if r, ready := b.live.Decide("reset my password", 1); !ready || !r.InScope || r.Best.Entry.ID != "password" {
		t.Fatalf("Decide = %+v, %v", r, ready)
	}
	// A second Live over the same directory loads the cached model.
	l2 := NewLive(Options{}, b.dir)
	l2.Logger = b.live.Logger
	defer l2.Close()
	l2.Start(smallKB())
	if m2 := MustWait(t, l2); !m2.Info().Cached {
		t.Fatalf("second start not from the cache: %+v", m2.Info())
	}
}

func TestLiveOptions(t *testing.T) {
	t.Parallel()
	l := NewLive(Options{Threshold: 0.9}, "")
	l.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	defer l.Close()
	l.Start(smallKB())
	if got := MustWait(t, l).Threshold(); got != 0.9 {
		t.Fatalf("threshold %v, want 0.9", got)
	}
}

func TestLiveReloadUnderTraffic(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	b.live.Start(smallKB())
	MustWait(t, b.live)

	stop := make(chan struct{})
	var wg, running sync.WaitGroup
	var matches atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		running.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := b.live.Current()
				if m == nil {
					t.Error("Current() nil after the first build")
					return
				}
				r := m.Decide("reset my password", 2)
				// The answer comes from one knowledge base or the other,
				// never from a mix.
				if _, ok := m.KB().Entry(r.Best.Entry.ID); !ok {
					t.Errorf("entry %s not in the matcher's KB", r.Best.Entry.ID)
					return
				}
				matches.Add(1)
				if first {
					first = false
					running.Done()
				}
			}
		}()
	}
	running.Wait() // every reader is matching before the first reload
	kbs := []*KB{otherKB(), smallKB(), otherKB()}
	for i, kb := range kbs {
		if err := b.live.Reload(context.Background(), kb); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if got := b.live.Current().KB(); got != kb {
			t.Fatalf("reload %d: Current serves another KB", i)
		}
	}
	close(stop)
	wg.Wait()
	if _, ok := b.live.Current().KB().Entry("hours"); !ok {
		t.Fatal("last reload not serving")
	}
	t.Logf("%d matches during %d reloads", matches.Load(), len(kbs))
}

func TestLiveReloadErrors(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	b.live.Start(smallKB())
	before := MustWait(t, b.live)

	err := b.live.Reload(context.Background(), &KB{})
	if !errors.Is(err, ErrEmptyKB) {
		t.Fatalf("Reload(empty) = %v, want ErrEmptyKB", err)
	}
	if b.live.Current() != before {
		t.Fatal("a failed reload replaced the matcher")
	}
	if !errors.Is(b.live.Err(), ErrEmptyKB) {
		t.Fatalf("Err() = %v, want the reload's error", b.live.Err())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.live.Reload(ctx, otherKB()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reload(cancelled ctx) = %v, want context.Canceled", err)
	}
	if b.live.Current() != before {
		t.Fatal("a cancelled reload replaced the matcher")
	}

	// A good reload clears the error.
	if err := b.live.Reload(context.Background(), otherKB()); err != nil {
		t.Fatal(err)
	}
	if b.live.Err() != nil {
		t.Fatalf("Err() = %v after a good reload", b.live.Err())
	}
}

func TestLiveBackgroundError(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	b.live.Start(&KB{})
	m, err := b.live.Wait(context.Background())
	if m != nil || !errors.Is(err, ErrEmptyKB) {
		t.Fatalf("Wait() = %v, %v; want no matcher and ErrEmptyKB", m, err)
	}
	if b.live.Ready() {
		t.Fatal("ready after a failed build")
	}
}

// bigKB is large enough that building it takes a while, so that Close and
// Reload can interrupt it.
func bigKB() *KB {
	kb := &KB{}
	for i := 0; i < 40; i++ {
		e := Entry{ID: fmt.Sprintf("e%02d", i), Question: fmt.Sprintf("question number %d about topic %d", i, i*7), Answer: "a"}
		for j := 0; j < 150; j++ {
			e.Examples = append(e.Examples, fmt.Sprintf("example %d of topic %d with word w%d and w%d", j, i, (i*j)%97, j%13))
		}
		kb.Entries = append(kb.Entries, e)
	}
	return kb
}

func TestLiveSupersede(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	b.live.Start(bigKB())
	b.live.Start(smallKB()) // supersedes the big build
	m := MustWait(t, b.live)
	if m.KB().Entries[0].ID != "password" {
		t.Fatalf("serving %s, want the newest KB", m.KB().Entries[0].ID)
	}
	if err := b.live.Err(); err != nil {
		t.Fatalf("Err() = %v; a superseded build is not an error", err)
	}
}

func TestLiveClose(t *testing.T) {
	t.Parallel()
	l := NewLive(Options{}, "")
	l.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	l.Start(bigKB())
	done := make(chan struct{})
	go func() {
		_ = l.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not cancel the build")
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Reload(context.Background(), smallKB()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close = %v, want ErrClosed", err)
	}
	l.Start(smallKB()) // a no-op
	if m, _ := l.Wait(context.Background()); m != nil && m.KB().Entries[0].ID == "password" {
		t.Fatal("Start after Close built a matcher")
	}
}

func TestLiveWaitContext(t *testing.T) {
	t.Parallel()
	b := setupLive(t)
	b.live.Start(bigKB())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.live.Wait(ctx); !errors.Is(err, context.Canceled) && err != nil {
		t.Fatalf("Wait(cancelled) = %v", err)
	}
}
