package webchat

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Cursor values of the stream besides a reply id.
const (
	// cursorNone (no Last-Event-ID): the page is new, send the whole
	// transcript, the customer's lines included.
	cursorNone = ""
	// cursorStart: the page has the transcript up to a point where no
	// reply had been sent yet.
	cursorStart = "-"
)

// maxHistory bounds the lines sent to a page that connects afresh.
const maxHistory = 500

// handleEvents streams the visitor's conversation as Server-Sent Events:
//
//   - event "customer": a line the visitor wrote (sent only to a page that
//     connects without Last-Event-ID, with the rest of the transcript);
//   - event "reply", with id: the reply's id: a reply of the bot or an
//     agent, replayed from the store after Last-Event-ID, then live;
//   - event "ready", with id: the stream's cursor, once the replay is done,
//     with the conversation's state (and agent_name, who holds it; rating,
//     the visitor's score of a resolved conversation, 0 for none);
//   - event "state": a change of owner without a reply (Chat.PublishState);
//   - a comment every Heartbeat, so that proxies keep the stream open;
//   - event "renew" when the stream's lifetime is up, just before it ends:
//     the page renews its stream token and reconnects after its cursor.
//
// The session is the visitor and token query parameters (EventSource sends
// no headers; the page in a third-party frame has no cookie), or the cookie.
func (c *Chat) handleEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("trigger")
	s, ok := c.sessions(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such chat"})
		return
	}
	q := r.URL.Query()
	visitor, token := q.Get("visitor"), q.Get("token")
	var err error
	if visitor != "" {
		// The URL's token is a stream token, worth minutes, when the
		// sessions issue them: a proxy's access log then holds nothing
		// that lasts.
		if ss, ok := s.(StreamSessions); ok {
			err = ss.CheckStreamToken(visitor, token, c.now())
		} else {
			err = s.CheckToken(visitor, token, c.now())
		}
	} else {
		visitor, token, _ = c.cookieSession(r, name)
		err = s.CheckToken(visitor, token, c.now())
	}
	if err == nil && c.revoked(r.Context(), name, visitor) {
		err = bot.ErrUnauthorized
	}
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "no valid chat session"})
		return
	}
	key := name + "/" + visitor
	// Each stream holds a connection, a goroutine and a subscription for
	// as long as the page is open: a visitor gets a few, an address a
	// bounded number, and the process Streams.Max.
	addr := clientHost(r)
	if ref := c.open.acquire(c.Streams, key, addr); ref != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(ref.wait/time.Second)))
		writeJSON(w, ref.status, apiError{Error: ref.msg})
		return
	}
	defer c.open.release(key, addr)
	cursor := r.Header.Get("Last-Event-ID")
	if cursor == "" {
		cursor = q.Get("after") // a page that opened a new EventSource
	}
	if len(cursor) > bot.MaxIDLen || strings.ContainsAny(cursor, "\r\n\x00") {
		cursor = cursorNone
	}

	// Subscribe before reading the store, so that nothing published in
	// between is lost; what arrives twice is sent once.
	sub, err := c.Hub.Subscribe(key)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "shutting down"})
		return
	}
	defer sub.Close()
	ctx := r.Context()
	backlog, err := c.backlog(r, key, cursor, sub.Recent)
	if err != nil {
		c.Logger.Error("chat replay", "trigger", name, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
		return
	}
	state := bot.State("")
	if conv, err := c.Store.Conversation(ctx, key); err == nil {
		state = conv.State
	} else if !errors.Is(err, bot.ErrNotFound) {
		c.Logger.Error("chat state", "trigger", name, "err", err)
	}

	// The stream outlives the server's read and write timeouts, which are
	// meant for ordinary requests.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	// Each write has its own deadline: a client that stops reading (its
	// socket buffer full) loses the stream instead of holding the handler.
	flush := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}

	sent := map[string]bool{}
	fmt.Fprintf(bw, "retry: %d\n\n", DefaultRetry.Milliseconds())
	for _, ev := range backlog {
		writeEvent(bw, ev)
		sent[ev.ID] = true
		if ev.Author != bot.AuthorCustomer && ev.Kind != KindState {
			cursor = ev.ID
		}
	}
	ready, _ := json.Marshal(map[string]any{"state": state, "agent_name": c.holder(ctx, key, state), "rating": c.rated(ctx, key, state)})
	fmt.Fprintf(bw, "event: ready\nid: %s\ndata: %s\n\n", cmpCursor(cursor), ready)
	if err := flush(); err != nil {
		return
	}

	tick := time.NewTicker(c.Heartbeat)
	defer tick.Stop()
	// The stream ends after its lifetime (less up to a tenth, so that the
	// pages of a busy minute do not all come back in the same second); the
	// browser reconnects by itself after the retry delay, with
	// Last-Event-ID, and misses nothing.
	life := c.Streams.Lifetime
	life -= time.Duration(rand.Int64N(int64(life/10) + 1))
	end := time.NewTimer(life)
	defer end.Stop()
	for {
		select {
		case <-end.C:
			// Tell the page to renew its stream token and reconnect: the
			// browser's own reconnection would reuse the URL, whose token
			// may have expired by now.
			_, _ = bw.WriteString("event: renew\ndata: {}\n\n")
			_ = flush()
			return
		case ev, ok := <-sub.C():
			if !ok {
				return // dropped for falling behind, or the hub closed: the page reconnects
			}
			if sent[ev.ID] {
				continue
			}
			sent[ev.ID] = true
			writeEvent(bw, ev)
		case <-tick.C:
			_, _ = bw.WriteString(": keep-alive\n\n")
		case <-c.Hub.Done():
			return
		case <-ctx.Done():
			return
		}
		if err := flush(); err != nil {
			return
		}
	}
}

// writeTimeout bounds one write to a reply stream.
const writeTimeout = 10 * time.Second

func cmpCursor(c string) string {
	if c == cursorNone {
		return cursorStart
	}
	return c
}

// backlog returns what the page has not seen: after cursor, the sent
// replies from the store (with the customer's lines for a new page), then
// the recent replies the hub published that the store does not show as
// sent yet.
func (c *Chat) backlog(r *http.Request, key, cursor string, recent []Event) ([]Event, error) {
	ctx := r.Context()
	after := cursor
	if cursor == cursorNone || cursor == cursorStart {
		after = ""
	}
	replies, err := c.Store.SentReplies(ctx, key, after, maxHistory)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, rp := range replies {
		out = append(out, ReplyEvent(rp.Reply))
	}
	if cursor == cursorNone {
		msgs, err := c.Store.Messages(ctx, key)
		if err != nil {
			return nil, err
		}
		var lines []Event
		for _, m := range msgs {
			if m.Author != bot.AuthorCustomer {
				continue
			}
			id := "m:" + strconv.FormatInt(m.ID, 10)
			if m.ExternalID != "" {
				id = "c:" + m.ExternalID // the id the page gave the message
			}
			lines = append(lines, Event{ID: id, Author: bot.AuthorCustomer, Text: m.Text, At: m.At})
		}
		if len(lines) > maxHistory {
			lines = lines[len(lines)-maxHistory:]
		}
		// A reply is queued after the lines it answers: at the same
		// millisecond the customer's line goes first.
		out = append(lines, out...)
		sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	}
	if len(recent) == 0 {
		return out, nil
	}
	// A recent event the store shows as sent is on the page when it comes
	// at or before the cursor. One after the cursor that is not in out was
	// marked sent between the two reads: it is sent here.
	all, err := c.Store.Replies(ctx, key)
	if err != nil {
		return nil, err
	}
	status := make(map[string]string, len(all))
	pos := make(map[string]int, len(all))
	for i, rp := range all {
		status[rp.ID], pos[rp.ID] = rp.Status, i
	}
	cursorPos := -1 // a new page, or one that has seen no reply
	if p, ok := pos[cursor]; ok {
		cursorPos = p
	}
	seen := make(map[string]bool, len(out))
	for _, ev := range out {
		seen[ev.ID] = true
	}
	for _, ev := range recent {
		// A state change is not replayed: ready carries the state now.
		if seen[ev.ID] || ev.ID == cursor || status[ev.ID] == "suppressed" || ev.Kind == KindState {
			continue
		}
		if p, ok := pos[ev.ID]; ok && status[ev.ID] == "sent" && p <= cursorPos {
			continue
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	return out, nil
}

// writeEvent writes one event; JSON has no raw newlines, so data is one line.
func writeEvent(w *bufio.Writer, ev Event) {
	data, _ := json.Marshal(ev)
	if ev.Kind == KindState { // no id: the cursor stays on the last reply
		fmt.Fprintf(w, "event: state\ndata: %s\n\n", data)
		return
	}
	if ev.Author == bot.AuthorCustomer {
		fmt.Fprintf(w, "event: customer\ndata: %s\n\n", data)
		return
	}
	fmt.Fprintf(w, "event: reply\nid: %s\ndata: %s\n\n", sanitizeID(ev.ID), data)
}

// sanitizeID keeps an id from ending the field it is written in.
func sanitizeID(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, id)
}

// StreamLimits bound the reply streams at /chat/{trigger}/events. Each open
// stream holds a connection, a goroutine and a hub subscription; without a
// bound, one free chat session could open streams until the process ran out
// of descriptors.
type StreamLimits struct {
	// PerVisitor caps one session's streams (a few tabs); over it: 429.
	PerVisitor int
	// PerAddress caps the streams of one client address (an office behind
	// one NAT); over it: 429.
	PerAddress int
	// Max caps every stream of the process; over it: 503 with Retry-After.
	Max int
	// Lifetime ends a stream after this long; the page reconnects with
	// Last-Event-ID (and a fresh token when its own has expired).
	Lifetime time.Duration
}

// Stream limit defaults.
const (
	DefaultStreamsPerVisitor = 3
	DefaultStreamsPerAddress = 32
	DefaultMaxStreams        = 2000
	DefaultStreamLifetime    = 15 * time.Minute
)

// init fills the defaults; errors name the key.
func (l *StreamLimits) init() error {
	switch {
	case l.PerVisitor < 0:
		return errors.New("streams.per_visitor: must not be negative")
	case l.PerAddress < 0:
		return errors.New("streams.per_address: must not be negative")
	case l.Max < 0:
		return errors.New("streams.max: must not be negative")
	case l.Lifetime < 0:
		return errors.New("streams.lifetime: must not be negative")
	}
	l.PerVisitor = cmp.Or(l.PerVisitor, DefaultStreamsPerVisitor)
	l.PerAddress = cmp.Or(l.PerAddress, DefaultStreamsPerAddress)
	l.Max = cmp.Or(l.Max, DefaultMaxStreams)
	l.Lifetime = cmp.Or(l.Lifetime, DefaultStreamLifetime)
	return nil
}

// streamCount counts the open streams by session and by address.
type streamCount struct {
	mu        sync.Mutex
	total     int
	byVisitor map[string]int
	byAddr    map[string]int
}

// refusal is why a stream is not opened: the status, the wait and the message.
type refusal struct {
	status int
	wait   time.Duration
	msg    string
}

// acquire counts one more stream of visitor from addr, or returns why not:
// 429 over the visitor's or the address's cap, 503 over the process's.
func (sc *streamCount) acquire(l StreamLimits, visitor, addr string) *refusal {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	switch {
	case sc.total >= l.Max:
		// Spread the retries of many refused pages over half a minute.
		wait := 10*time.Second + time.Duration(rand.Int64N(int64(20*time.Second)))
		return &refusal{http.StatusServiceUnavailable, wait, "too many open chat streams; retry later"}
	case sc.byVisitor[visitor] >= l.PerVisitor:
		return &refusal{http.StatusTooManyRequests, 30 * time.Second, "too many open streams for this chat session"}
	case sc.byAddr[addr] >= l.PerAddress:
		return &refusal{http.StatusTooManyRequests, 30 * time.Second, "too many open chat streams from this address"}
	}
	if sc.byVisitor == nil {
		sc.byVisitor, sc.byAddr = map[string]int{}, map[string]int{}
	}
	sc.total++
	sc.byVisitor[visitor]++
	sc.byAddr[addr]++
	return nil
}

func (sc *streamCount) release(visitor, addr string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.total--
	if sc.byVisitor[visitor]--; sc.byVisitor[visitor] <= 0 {
		delete(sc.byVisitor, visitor)
	}
	if sc.byAddr[addr]--; sc.byAddr[addr] <= 0 {
		delete(sc.byAddr, addr)
	}
}

// OpenStreams returns the number of reply streams open now (for metrics).
func (c *Chat) OpenStreams() int {
	c.open.mu.Lock()
	defer c.open.mu.Unlock()
	return c.open.total
}

// StreamSessions issues and checks the short-lived tokens that the reply
// stream's URL carries (*web.Trigger implements it). Sessions that do not
// implement it take their session token in the URL.
type StreamSessions interface {
	// IssueStream returns a stream token for visitorID and when it expires.
	IssueStream(visitorID string, now time.Time) (token string, expires time.Time)
	// CheckStreamToken returns an error wrapping bot.ErrUnauthorized unless
	// token is an unexpired stream token of visitorID.
	CheckStreamToken(visitorID, token string, now time.Time) error
}

// Revocations records the visitor sessions ended on the server: signed out,
// or their conversation deleted (*sqlite.Store implements it).
type Revocations interface {
	// RevokeVisitor ends the session of conversation key (trigger/visitor).
	RevokeVisitor(ctx context.Context, key string, at time.Time) error
	// VisitorRevoked reports whether the session of key was ended.
	VisitorRevoked(ctx context.Context, key string) (bool, error)
}

// revoked reports whether the visitor's session was ended on the server. A
// store error counts as revoked: a session the store cannot vouch for is
// refused, and the page retries.
func (c *Chat) revoked(ctx context.Context, trigger, visitor string) bool {
	if c.Revocations == nil {
		return false
	}
	gone, err := c.Revocations.VisitorRevoked(ctx, trigger+"/"+visitor)
	if err != nil {
		c.Logger.Error("chat revocation", "trigger", trigger, "err", err)
		return true
	}
	return gone
}

// handleSignOut ends the visitor's session on the server (the session
// token in the X-Chat-Visitor and X-Chat-Token headers, or the cookie): its
// tokens are refused from now on, its open streams end and the cookie is
// cleared. The next visit starts a new visitor and conversation.
func (c *Chat) handleSignOut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("trigger")
	s, ok := c.sessions(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such chat"})
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		writeJSON(w, http.StatusForbidden, apiError{Error: "cross-site request refused"})
		return
	}
	visitor, token := r.Header.Get(VisitorHeader), r.Header.Get(TokenHeader)
	if visitor == "" {
		visitor, token, _ = c.cookieSession(r, name)
	}
	if err := s.CheckToken(visitor, token, c.now()); err != nil {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "no valid chat session"})
		return
	}
	key := name + "/" + visitor
	if c.Revocations != nil {
		if err := c.Revocations.RevokeVisitor(r.Context(), key, c.now()); err != nil {
			c.Logger.Error("chat sign-out", "trigger", name, "err", err)
			writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error"})
			return
		}
	}
	c.Hub.CloseKey(key)
	ckName, ckPath := c.sessionCookie(name)
	http.SetCookie(w, &http.Cookie{
		Name: ckName, Value: "", Path: ckPath, MaxAge: -1,
		HttpOnly: true, Secure: c.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	w.WriteHeader(http.StatusNoContent)
}
