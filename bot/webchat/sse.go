package webchat

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
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
//   - a comment every Heartbeat, so that proxies keep the stream open.
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
	if visitor == "" {
		visitor, token, _ = c.cookieSession(r, name)
	}
	if err := s.CheckToken(visitor, token, c.now()); err != nil {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "no valid chat session"})
		return
	}
	key := name + "/" + visitor
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
	for {
		select {
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
