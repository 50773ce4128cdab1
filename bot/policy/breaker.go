package policy

import (
	"sync"
	"time"
)

// breaker is a consecutive-failure circuit breaker. After threshold failed
// turns in a row it opens for cooldown; then it lets one trial call through
// (half-open) and closes on its success or opens again on its failure. A
// threshold of zero or less never opens.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu        sync.Mutex
	failures  int
	openUntil time.Time // zero when closed
	trial     bool      // a half-open trial call is in flight
}

// allow reports whether a call may be made now, and whether it is the
// half-open trial; an allowed call must end in success, failure or release.
func (b *breaker) allow(now time.Time) (ok, trial bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true, false
	}
	if now.Before(b.openUntil) || b.trial {
		return false, false
	}
	b.trial = true
	return true, true
}

// isOpen reports whether allow would refuse a call now.
func (b *breaker) isOpen(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero() && (now.Before(b.openUntil) || b.trial)
}

func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.openUntil, b.trial = 0, time.Time{}, false
}

func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.threshold > 0 && (b.trial || b.failures >= b.threshold) {
		b.openUntil, b.trial = now.Add(b.cooldown), false
	}
}

// release ends a call that neither succeeded nor failed (the turn was
// cancelled); a cancelled trial lets the next call try again.
func (b *breaker) release(trial bool) {
	if !trial {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
}
