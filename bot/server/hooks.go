package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// hookResult is what the intake decided for one request; respond writes it
// and every path is audited and observed the same way.
type hookResult struct {
	status     int
	body       any
	err        error // the reason for a 4xx/5xx, for the audit log (never secret)
	eventID    string
	retryAfter time.Duration
	audited    bool // written with the event in the ingest transaction
}

func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	start := s.Now()
	name := r.PathValue("trigger")
	var verified bool
	res, n := s.intake(w, r, name, start, &verified)
	if res.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(res.retryAfter.Seconds())))
	}
	if res.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	// A request refused before its body was read is not kept alive: the
	// server would otherwise wait for the rest of the body (up to 256 KiB,
	// until ReadTimeout) before answering, which a stalled client never
	// sends.
	if res.status >= 400 && (n < r.ContentLength || r.ContentLength < 0 && n == 0) {
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, res.status, res.body)
	d := s.Now().Sub(start)
	if !res.audited {
		a := s.auditEntry(r, name, res, n, start, d)
		ctx := context.WithoutCancel(r.Context())
		if rc, ok := s.Intake.(RejectionCounter); ok && res.status >= 400 && !verified {
			// Refused before it proved anything: counted per source and
			// minute, with a bounded sample of rows, so that a flood does
			// not fill the disk.
			_, known := s.Triggers.Get(name)
			s.auditRejected(ctx, rc, a, known)
		} else if err := s.Intake.Audit(ctx, a); err != nil {
			s.Logger.Error("audit", "trigger", name, "err", err)
		}
	}
	if s.Observer != nil {
		s.Observer.ObserveHook(name, res.status, d)
	}
	if res.status >= 500 {
		s.Logger.Error("hook failed", "trigger", name, "status", res.status, "err", res.err)
	} else if res.status >= 400 {
		s.Logger.Info("hook rejected", "trigger", name, "status", res.status, "err", res.err, "remote", r.RemoteAddr)
	}
}

func (s *Server) auditEntry(r *http.Request, name string, res hookResult, n int64, at time.Time, d time.Duration) bot.AuditEntry {
	a := bot.AuditEntry{
		At: at.UTC(), Trigger: truncate(name, 128), Remote: r.RemoteAddr, Method: truncate(r.Method, 16),
		Status: res.status, EventID: truncate(res.eventID, 256), Bytes: n, Duration: d,
	}
	if res.err != nil {
		a.Error = truncate(res.err.Error(), 500)
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func fail(status int, err error, field string) hookResult {
	msg := http.StatusText(status)
	if status < 500 && err != nil {
		msg = err.Error()
	}
	return hookResult{status: status, body: apiError{Error: msg, Field: field}, err: err}
}

// intake decides one request; verified is set once its credential checked out.
func (s *Server) intake(w http.ResponseWriter, r *http.Request, name string, start time.Time, verified *bool) (hookResult, int64) {
	e, ok := s.Triggers.Get(name)
	if !ok {
		return fail(http.StatusNotFound, fmt.Errorf("unknown trigger %q", truncate(name, 64)), ""), 0
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed; use POST", truncate(r.Method, 16)), ""), 0
	}
	if err := e.Guard.CheckAddr(r); err != nil {
		return fail(http.StatusUnauthorized, err, ""), 0
	}
	if ok, wait := e.Limiter.Allow(r); !ok {
		res := fail(http.StatusTooManyRequests, errors.New("rate limit exceeded"), "")
		res.retryAfter = max(time.Second, wait.Round(time.Second))
		return res, 0
	}
	if r.ContentLength > e.Guard.MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes is over the limit of %d", r.ContentLength, e.Guard.MaxBodyBytes), ""), 0
	}
	// The bytes a body may take are reserved before it is read: a client
	// that sends all but the end of many bodies and stalls holds at most
	// its share, and the others are answered 503 at once.
	want := e.Guard.MaxBodyBytes
	if r.ContentLength >= 0 {
		want = r.ContentLength
	}
	release, err := s.inFlight.acquire(name, clientHost(r), want, s.Bodies)
	if err != nil {
		res := fail(http.StatusServiceUnavailable, err, "")
		res.retryAfter = bodyRetryAfter
		res.body = apiError{Error: "too many request bodies in flight; retry later"}
		return res, 0
	}
	defer release()
	// A body gets much less time than the server's ReadTimeout, which is
	// sized for the slowest legitimate request of any kind.
	_ = http.NewResponseController(w).SetReadDeadline(start.Add(s.Bodies.Timeout))
	body, err := readBody(r, e.Guard.MaxBodyBytes)
	n := int64(len(body))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, fmt.Errorf("body is over the limit of %d bytes", e.Guard.MaxBodyBytes), ""), n
	case err != nil:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fail(http.StatusRequestTimeout, errors.New("timed out reading the body"), ""), n
		}
		return fail(http.StatusBadRequest, fmt.Errorf("read body: %w", err), ""), n
	}
	if err := e.Guard.CheckContentType(r); err != nil {
		res := fail(http.StatusUnsupportedMediaType, err, "content-type")
		return res, n
	}
	// Verify the raw bytes before anything parses them.
	if err := e.Verify(r, body); err != nil {
		return fail(http.StatusUnauthorized, err, ""), n
	}
	*verified = true
	ev, err := e.Parse(r, body)
	var ve *bot.ValidationError
	switch {
	case errors.Is(err, bot.ErrIgnored):
		return hookResult{status: http.StatusOK, body: map[string]any{"ignored": true}, err: err}, n
	case errors.As(err, &ve):
		return fail(http.StatusBadRequest, err, ve.Field), n
	case err != nil:
		return fail(http.StatusBadRequest, err, ""), n
	}
	clampEvent(&ev)
	ev.Trigger = e.Name()
	ev.ReceivedAt = start.UTC()
	audit := s.auditEntry(r, name, hookResult{status: http.StatusAccepted, eventID: ev.ID}, n, start, 0)
	rc, err := s.Intake.Ingest(r.Context(), ev, bot.IngestOptions{
		Burst: burstFor(e, ev), MaxAttempts: s.MaxAttempts, Audit: &audit,
	})
	switch {
	case errors.Is(err, bot.ErrStoreFull):
		res := fail(http.StatusServiceUnavailable, err, "")
		res.retryAfter, res.eventID = 30*time.Second, ev.ID
		res.body = apiError{Error: "storage is full; retry later"}
		return res, n
	case err != nil:
		res := fail(http.StatusServiceUnavailable, err, "")
		res.retryAfter, res.eventID = 5*time.Second, ev.ID
		return res, n
	case rc.Duplicate:
		return hookResult{status: http.StatusOK, body: rc, eventID: ev.ID, audited: true}, n
	}
	return hookResult{status: http.StatusAccepted, body: rc, eventID: ev.ID, audited: true}, n
}

func burstFor(e *triggers.Entry, ev bot.Event) time.Duration {
	if ev.Type != bot.EventMessageCreated {
		return 0
	}
	return e.Config.BurstWindow()
}

// readBody reads the whole body, at most limit bytes. With a Content-Length
// (the server has checked it against the limit) the buffer is allocated
// once at that size; a chunked body grows from a small buffer up to the
// limit. io.ReadAll's doubling would take up to twice the body's size.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("body shorter than its Content-Length: %w", err)
			}
			return nil, err
		}
		return buf, nil
	}
	// Chunked: grow by doubling, but never past the limit (and one byte to
	// tell that the body is over it).
	buf := make([]byte, 0, min(limit+1, 16<<10))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf[:limit], &http.MaxBytesError{Limit: limit}
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf[:limit], &http.MaxBytesError{Limit: limit}
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func clientHost(r *http.Request) string { return clientHostOf(r.RemoteAddr) }

func clientHostOf(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}
