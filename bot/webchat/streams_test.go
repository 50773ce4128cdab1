package webchat_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/webchat"
)

// getStatus opens url as EventSource does and returns the status and
// Retry-After of a refusal; a stream that opens is closed again by the test's
// cleanup.
func (tb *testBundle) getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// waitOpen waits until the chat counts n open streams.
func waitOpen(t *testing.T, c *webchat.Chat, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.OpenStreams() != n {
		if time.Now().After(deadline) {
			t.Fatalf("OpenStreams=%d, want %d", c.OpenStreams(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamsPerVisitor is the unbounded stream reproduction scaled down:
// one chat session used to open as many idle streams as it liked (20,000
// took the process out of descriptors). A session now gets a few; the next
// is refused with 429 and Retry-After, and a closed one frees its place.
func TestStreamsPerVisitor(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) { c.Streams.PerVisitor = 2 })
	s := tb.mustSession(t)
	first := tb.openStream(t, eventsURL(tb, s), "")
	tb.openStream(t, eventsURL(tb, s), "")
	status, retry := tb.getStatus(t, eventsURL(tb, s))
	if status != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("third stream of one session = %d (Retry-After %q), want 429 with Retry-After", status, retry)
	}
	// Another visitor is not held back by this one.
	tb.openStream(t, eventsURL(tb, tb.mustSession(t)), "")
	waitOpen(t, tb.chat, 3)
	first.resp.Body.Close()
	waitOpen(t, tb.chat, 2)
	tb.openStream(t, eventsURL(tb, s), "")
}

// TestStreamsPerAddress: sessions are free to start, so one address is
// capped too, whatever sessions it holds.
func TestStreamsPerAddress(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) { c.Streams.PerAddress = 3 })
	for range 3 {
		tb.openStream(t, eventsURL(tb, tb.mustSession(t)), "")
	}
	if status, retry := tb.getStatus(t, eventsURL(tb, tb.mustSession(t))); status != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("fourth stream of one address = %d (Retry-After %q), want 429", status, retry)
	}
}

// TestStreamsGlobalCap: past the process's cap every stream is refused with
// 503 and a Retry-After, so the page comes back later instead of the
// process running out of descriptors.
func TestStreamsGlobalCap(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) { c.Streams.Max = 2 })
	tb.openStream(t, eventsURL(tb, tb.mustSession(t)), "")
	tb.openStream(t, eventsURL(tb, tb.mustSession(t)), "")
	status, retry := tb.getStatus(t, eventsURL(tb, tb.mustSession(t)))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("stream over the global cap = %d, want 503", status)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Fatalf("Retry-After=%q, want a number of seconds", retry)
	}
	if got := tb.chat.OpenStreams(); got != 2 {
		t.Fatalf("OpenStreams=%d, want 2 (a refused stream is not counted)", got)
	}
}

// TestStreamLifetime: a stream ends after its lifetime; the page reconnects
// with Last-Event-ID and gets what it missed, nothing twice.
func TestStreamLifetime(t *testing.T) {
	t.Parallel()
	tb := setup(t, func(c *webchat.Chat, _ *http.Server) { c.Streams.Lifetime = 300 * time.Millisecond })
	s := tb.mustSession(t)
	key := "site/" + s.VisitorID
	r1 := tb.mustAnswer(t, s, "m-1", "How do I reset my password?", "rpl_1", "Click Forgot password.", true)
	st := tb.openStream(t, eventsURL(tb, s), "")
	st.next(t) // the customer's line
	if e := st.next(t); e.ID != r1.ID {
		t.Fatalf("got %+v, want %s", e, r1.ID)
	}
	if e := st.next(t); e.Event != "ready" {
		t.Fatalf("got %+v, want ready", e)
	}
	if e := st.next(t); e.Event != "renew" {
		t.Fatalf("at the end of its lifetime: %+v, want renew", e)
	}
	st.ended(t)
	waitOpen(t, tb.chat, 0)
	// While the page was away an agent answered.
	d := &webchat.Deliverer{Hub: tb.hub}
	if err := d.Deliver(context.Background(), tb.queueAgentReply(t, key, "rpl_2", "I can help.")); err != nil {
		t.Fatal(err)
	}
	st2 := tb.openStream(t, eventsURL(tb, s), r1.ID)
	if e := st2.next(t); e.Event != "reply" || e.ID != "rpl_2" {
		t.Fatalf("after reconnecting: %+v, want rpl_2", e)
	}
	if e := st2.next(t); e.Event != "ready" || e.ID != "rpl_2" {
		t.Fatalf("got %+v, want ready rpl_2", e)
	}
}
