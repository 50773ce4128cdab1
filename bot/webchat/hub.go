package webchat

import (
	"cmp"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Event is one line of a conversation as the chat page shows it.
type Event struct {
	// ID is the reply's id (stable across delivery retries, so the page
	// drops a repeat), or for a customer line "c:" + its client id.
	ID        string    `json:"id"`
	Author    string    `json:"author"` // customer | bot | agent
	AgentName string    `json:"agent_name,omitempty"`
	Kind      string    `json:"kind,omitempty"` // answer | handoff | agent | notice
	Text      string    `json:"text"`
	State     bot.State `json:"state,omitempty"` // the conversation's state after a reply
	At        time.Time `json:"at"`
	// Options are the reply's quick replies ("Yes", "No"; the two entries
	// of a close call), shown as buttons that send their text.
	Options []string `json:"options,omitempty"`
}

// ReplyEvent returns the event of a reply.
func ReplyEvent(r bot.Reply) Event {
	return Event{ID: r.ID, Author: r.Author, AgentName: r.AgentName, Kind: r.Kind, Text: r.Text, State: r.State, At: r.CreatedAt,
		Options: r.Options}
}

// Hub defaults.
const (
	DefaultBuffer     = 64
	DefaultRecentSize = 16
	DefaultRecentKeep = 2 * time.Minute
)

// Hub passes published replies to the subscribers of their conversation, in
// process. A subscriber that falls Buffer events behind is dropped (its
// channel closes): the page reconnects and replays what it missed from the
// store. The hub starts no goroutines.
//
// The hub also remembers each conversation's last few events for RecentKeep:
// a reply is published before the worker records it as sent, and a page that
// reconnects in between finds it among Recent rather than in the store.
type Hub struct {
	// Buffer is each subscription's channel capacity (default DefaultBuffer).
	Buffer int
	// RecentSize and RecentKeep bound the remembered events per conversation.
	RecentSize int
	RecentKeep time.Duration
	Now        func() time.Time

	mu        sync.Mutex
	subs      map[string]map[*Subscription]struct{}
	recent    map[string][]recentEvent
	lastSweep time.Time
	closed    bool
	done      chan struct{}
	once      sync.Once
}

type recentEvent struct {
	ev Event
	at time.Time
}

// Subscription receives the events of one conversation.
type Subscription struct {
	// Recent holds the conversation's events published within RecentKeep
	// before the subscription, oldest first.
	Recent []Event

	hub    *Hub
	key    string
	c      chan Event
	closed bool // guarded by hub.mu
}

// C returns the channel of events; it is closed when the subscription is
// closed, dropped for falling behind, or the hub closes.
func (s *Subscription) C() <-chan Event { return s.c }

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s)
}

func (h *Hub) init() {
	h.once.Do(func() {
		h.subs = map[string]map[*Subscription]struct{}{}
		h.recent = map[string][]recentEvent{}
		h.done = make(chan struct{})
	})
}

func (h *Hub) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Subscribe starts receiving the events of conversation key. It returns an
// error wrapping bot.ErrClosed once the hub is closed.
func (h *Hub) Subscribe(key string) (*Subscription, error) {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, bot.ErrClosed
	}
	s := &Subscription{hub: h, key: key, c: make(chan Event, cmp.Or(h.Buffer, DefaultBuffer))}
	cut := h.now().Add(-cmp.Or(h.RecentKeep, DefaultRecentKeep))
	for _, r := range h.recent[key] {
		if r.at.After(cut) {
			s.Recent = append(s.Recent, r.ev)
		}
	}
	if h.subs[key] == nil {
		h.subs[key] = map[*Subscription]struct{}{}
	}
	h.subs[key][s] = struct{}{}
	return s, nil
}

// Publish sends ev to every subscriber of conversation key without waiting;
// after Close it does nothing.
func (h *Hub) Publish(key string, ev Event) {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := h.now()
	h.remember(key, ev, now)
	for s := range h.subs[key] {
		select {
		case s.c <- ev:
		default:
			h.remove(s) // too slow: it replays from the store when it reconnects
		}
	}
}

// remember keeps ev among key's recent events and forgets conversations
// that have been quiet for RecentKeep (h.mu held).
func (h *Hub) remember(key string, ev Event, now time.Time) {
	keep := cmp.Or(h.RecentKeep, DefaultRecentKeep)
	if now.Sub(h.lastSweep) > keep {
		h.lastSweep = now
		for k, rs := range h.recent {
			if len(rs) == 0 || now.Sub(rs[len(rs)-1].at) > keep {
				delete(h.recent, k)
			}
		}
	}
	rs := append(h.recent[key], recentEvent{ev: ev, at: now})
	if n := cmp.Or(h.RecentSize, DefaultRecentSize); len(rs) > n {
		rs = append([]recentEvent(nil), rs[len(rs)-n:]...)
	}
	h.recent[key] = rs
}

// remove ends s (h.mu held).
func (h *Hub) remove(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.c)
	if m := h.subs[s.key]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.key)
		}
	}
}

// CloseKey ends every subscription of conversation key (a session ended
// on the server): its streams finish.
func (h *Hub) CloseKey(key string) {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[key] {
		h.remove(s)
	}
}

// Subscribers returns how many subscriptions conversation key has (for
// tests and metrics).
func (h *Hub) Subscribers(key string) int {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[key])
}

// Done is closed when the hub closes.
func (h *Hub) Done() <-chan struct{} {
	h.init()
	return h.done
}

// Close ends every subscription; streams then finish, so that the HTTP
// server's shutdown does not wait for them. Later subscriptions fail and
// publications are dropped.
func (h *Hub) Close() {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, m := range h.subs {
		for s := range m {
			h.remove(s)
		}
	}
	close(h.done)
}
