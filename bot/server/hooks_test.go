package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// intake is a store that takes every event.
type intake struct {
	mu     sync.Mutex
	events int
	audits []bot.AuditEntry
}

func (in *intake) Ingest(_ context.Context, ev bot.Event, _ bot.IngestOptions) (bot.Receipt, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.events++
	return bot.Receipt{ID: ev.ID}, nil
}

func (in *intake) Audit(_ context.Context, a bot.AuditEntry) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.audits = append(in.audits, a)
	return nil
}

// mustServe starts a server with standard triggers "a" and "b" (body
// limit maxBody) and the body limits l.
func mustServe(t *testing.T, maxBody int64, l server.BodyLimits) *server.Server {
	t.Helper()
	set := triggers.NewSet()
	for _, name := range []string{"a", "b"} {
		e, err := triggers.Kinds{standard.Kind: standard.New}.Build(triggers.Config{Name: name, Kind: standard.Kind, Secret: testSecret, MaxBodyBytes: maxBody})
		if err != nil {
			t.Fatal(err)
		}
		set.Put(e)
	}
	s := &server.Server{
		Addr: "127.0.0.1:0", Triggers: set, Intake: &intake{}, Bodies: l,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// stall opens a connection from local address from (empty: any) and sends
// the headers of a POST to /hooks/name with a body of n bytes, then all but
// the last 10 bytes of it, and stops. It returns the connection.
func stall(t *testing.T, s *server.Server, from, name string, n int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /hooks/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nWebhook-Id: msg_1\r\nWebhook-Timestamp: 1\r\nWebhook-Signature: v1,bogus\r\nContent-Length: %d\r\n\r\n", name, n)
	if _, err := conn.Write(bytes.Repeat([]byte("x"), n-10)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// post sends a signed native event to /hooks/name from local address from
// and returns the status, the Retry-After and the time it took.
func post(t *testing.T, s *server.Server, from, name string) (int, string, time.Duration) {
	t.Helper()
	body := []byte(`{"type":"message.created","conversation":{"id":"c-1"},"message":{"id":"m-1","text":"hi"}}`)
	id := fmt.Sprintf("msg_%d", time.Now().UnixNano())
	now := time.Now()
	sig, err := standard.Sign(testSecret, id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/hooks/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
}

// waitInFlight waits until the server holds n bytes of bodies.
func waitInFlight(t *testing.T, s *server.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.BodyBytesInFlight() != n {
		if time.Now().After(deadline) {
			t.Fatalf("BodyBytesInFlight=%d, want %d", s.BodyBytesInFlight(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStalledBodiesAreBounded is the stalled-bodies reproduction scaled
// down: clients that send all but the end of a body and stall used to hold
// their bodies (read whole, growing by doubling) until the 30 s ReadTimeout,
// without bound. Now the bytes are reserved up front against a per-address,
// a per-trigger and a global cap; past one, a request is refused at once
// with 503 and Retry-After, and other addresses and triggers still get in.
func TestStalledBodiesAreBounded(t *testing.T) {
	t.Parallel()
	const size = 10_000
	s := mustServe(t, size, server.BodyLimits{InFlight: 5 * size, PerTrigger: 3 * size, PerAddress: 2 * size, Timeout: time.Minute})

	// One address holds its two bodies; its third is refused.
	stall(t, s, "127.0.0.1", "a", size)
	stall(t, s, "127.0.0.1", "a", size)
	waitInFlight(t, s, 2*size)
	if status, retry, _ := post(t, s, "127.0.0.1", "a"); status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("third body from one address = %d (Retry-After %q), want 503 with Retry-After", status, retry)
	}
	// A stalled body over the cap is answered at once and its connection
	// closed, not drained until the server's ReadTimeout.
	over := stall(t, s, "127.0.0.1", "a", size)
	_ = over.SetReadDeadline(time.Now().Add(2 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(over), nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stalled body over the cap: %v %v, want 503 at once", resp, err)
	}
	// Another address still gets through, up to the trigger's cap.
	if status, _, _ := post(t, s, "127.0.0.2", "a"); status != http.StatusAccepted {
		t.Fatalf("signed webhook from another address = %d, want 202", status)
	}
	stall(t, s, "127.0.0.2", "a", size)
	waitInFlight(t, s, 3*size)
	if status, _, _ := post(t, s, "127.0.0.3", "a"); status != http.StatusServiceUnavailable {
		t.Fatalf("body over the trigger's cap = %d, want 503", status)
	}
	// Another trigger still gets through, up to the global cap.
	if status, _, d := post(t, s, "127.0.0.3", "b"); status != http.StatusAccepted || d > time.Second {
		t.Fatalf("signed webhook to another trigger = %d in %s, want 202 at once", status, d)
	}
	stall(t, s, "127.0.0.3", "b", size)
	stall(t, s, "127.0.0.4", "b", size)
	waitInFlight(t, s, 5*size)
	if status, _, _ := post(t, s, "127.0.0.5", "b"); status != http.StatusServiceUnavailable {
		t.Fatalf("body over the global cap = %d, want 503", status)
	}
	// Health is never behind a body.
	start := time.Now()
	resp, err := http.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || time.Since(start) > time.Second {
		t.Fatalf("/healthz = %d in %s", resp.StatusCode, time.Since(start))
	}
}

// TestBodyReadDeadline: a stalled body is given up after Bodies.Timeout
// (408), not after the server's 30 s ReadTimeout, and its bytes are freed.
func TestBodyReadDeadline(t *testing.T) {
	t.Parallel()
	s := mustServe(t, 10_000, server.BodyLimits{Timeout: 300 * time.Millisecond})
	conn := stall(t, s, "", "a", 10_000)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body within 5s: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body = %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stalled body answered after %s, want about 300ms", d)
	}
	waitInFlight(t, s, 0)
}

// TestBodyBufferSizedFromContentLength: a 1 MiB body is read into one
// buffer of its Content-Length; io.ReadAll, growing by doubling, allocated
// about twice that (≈1.9 MB per stalled connection in the reproduction).
// Not parallel: it reads the process's allocation counters.
func TestBodyBufferSizedFromContentLength(t *testing.T) {
	const size = 1 << 20
	set := triggers.NewSet()
	e, err := triggers.Kinds{standard.Kind: standard.New}.Build(triggers.Config{Name: "a", Kind: standard.Kind, Secret: testSecret, MaxBodyBytes: size})
	if err != nil {
		t.Fatal(err)
	}
	set.Put(e)
	h := (&server.Server{Triggers: set, Intake: &intake{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	body := bytes.Repeat([]byte("x"), size)
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			req, _ := http.NewRequest(http.MethodPost, "/hooks/a", bytes.NewReader(body))
			req.Header.Set("Webhook-Signature", "v1,bogus")
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != http.StatusUnauthorized {
				b.Fatalf("status %d, want 401", w.status)
			}
		}
	})
	if got, limit := res.AllocedBytesPerOp(), int64(size+size/4); got > limit {
		t.Fatalf("reading a %d-byte body allocated %d bytes, want at most %d", size, got, limit)
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// TestBodyDeadlineOnEveryRoute: the short body deadline covers the other
// routes that read a body (Slack, dashboard, admin, chat sessions), not
// only the intake.
func TestBodyDeadlineOnEveryRoute(t *testing.T) {
	t.Parallel()
	s := &server.Server{
		Addr: "127.0.0.1:0", Triggers: triggers.NewSet(), Intake: &intake{},
		Bodies: server.BodyLimits{Timeout: 300 * time.Millisecond},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mounts: map[string]http.Handler{"POST /slack/events": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				w.WriteHeader(http.StatusRequestTimeout)
			}
		})},
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body within 5s: %v", err)
	}
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || d > 3*time.Second {
		t.Fatalf("stalled body = %d after %s, want 408 after about 300ms", resp.StatusCode, d)
	}
}

// TestChunkedBodyBounded: a body without a Content-Length is read up to the
// trigger's limit and refused past it (413).
func TestChunkedBodyBounded(t *testing.T) {
	t.Parallel()
	s := mustServe(t, 1000, server.BodyLimits{})
	for _, tt := range []struct {
		n    int
		want int
	}{{999, http.StatusUnauthorized}, {1000, http.StatusUnauthorized}, {1001, http.StatusRequestEntityTooLarge}, {50_000, http.StatusRequestEntityTooLarge}} {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(bytes.Repeat([]byte("x"), tt.n))
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/hooks/a", pr) // no length: chunked
		req.Header.Set("Webhook-Signature", "v1,bogus")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Fatalf("chunked body of %d bytes = %d, want %d", tt.n, resp.StatusCode, tt.want)
		}
	}
}
