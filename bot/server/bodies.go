package server

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"
)

// BodyLimits bound the request bodies being read at once. Each body's
// bytes (its Content-Length, or the trigger's limit when the length is not
// known) are reserved before the read; a request that would go over a cap
// is answered 503 with Retry-After without reading anything.
type BodyLimits struct {
	// InFlight caps the bytes of every body being read (default 64 MiB).
	InFlight int64
	// PerTrigger caps one trigger's (default 16 MiB), so that a flood on
	// one trigger leaves room for the others.
	PerTrigger int64
	// PerAddress caps one client address's (default 4 MiB), so that one
	// client cannot take a trigger's whole share.
	PerAddress int64
	// Timeout is how long a body may take to arrive, from the end of the
	// headers (default 10s); the server's ReadTimeout is longer.
	Timeout time.Duration
}

// Body limit defaults.
const (
	DefaultBodiesInFlight   = 64 << 20
	DefaultBodiesPerTrigger = 16 << 20
	DefaultBodiesPerAddress = 4 << 20
	DefaultBodyTimeout      = 10 * time.Second
	// bodyRetryAfter is the wait asked of a request refused for the caps:
	// a stalled body holds its bytes until Timeout at most.
	bodyRetryAfter = 5 * time.Second
)

func (l *BodyLimits) fill() {
	l.InFlight = cmp.Or(l.InFlight, DefaultBodiesInFlight)
	l.PerTrigger = cmp.Or(l.PerTrigger, DefaultBodiesPerTrigger)
	l.PerAddress = cmp.Or(l.PerAddress, DefaultBodiesPerAddress)
	l.Timeout = cmp.Or(l.Timeout, DefaultBodyTimeout)
}

// errBusy is the reason of a request refused for the caps.
var errBusy = errors.New("request bodies in flight over the cap")

// bodies counts the bytes reserved by the bodies being read.
type bodies struct {
	mu        sync.Mutex
	total     int64
	byTrigger map[string]int64
	byAddr    map[string]int64
}

// acquire reserves n bytes for a body of trigger from addr. A body larger
// than a cap on its own is let through when nothing else holds that cap, so
// that a trigger's largest allowed body can always be read.
func (b *bodies) acquire(trigger, addr string, n int64, l BodyLimits) (release func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	over := func(used, limit int64) bool { return used > 0 && used+n > limit }
	switch {
	case over(b.total, l.InFlight):
		return nil, fmt.Errorf("%w: %d bytes in all", errBusy, b.total)
	case over(b.byTrigger[trigger], l.PerTrigger):
		return nil, fmt.Errorf("%w: %d bytes for this trigger", errBusy, b.byTrigger[trigger])
	case over(b.byAddr[addr], l.PerAddress):
		return nil, fmt.Errorf("%w: %d bytes from this address", errBusy, b.byAddr[addr])
	}
	if b.byTrigger == nil {
		b.byTrigger, b.byAddr = map[string]int64{}, map[string]int64{}
	}
	b.total += n
	b.byTrigger[trigger] += n
	b.byAddr[addr] += n
	var once sync.Once
	return func() { once.Do(func() { b.release(trigger, addr, n) }) }, nil
}

func (b *bodies) release(trigger, addr string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total -= n
	if b.byTrigger[trigger] -= n; b.byTrigger[trigger] <= 0 {
		delete(b.byTrigger, trigger)
	}
	if b.byAddr[addr] -= n; b.byAddr[addr] <= 0 {
		delete(b.byAddr, addr)
	}
}

// BodyBytesInFlight returns the bytes reserved by the bodies being read (for metrics).
func (s *Server) BodyBytesInFlight() int64 {
	s.inFlight.mu.Lock()
	defer s.inFlight.mu.Unlock()
	return s.inFlight.total
}
