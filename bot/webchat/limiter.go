package webchat

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: Rate events per second, Burst at once (default:
// Rate rounded up, at least 1). A zero Rate is no limit.
type Rate struct {
	Rate  float64
	Burst int
}

// maxVisitors bounds the buckets kept at once; idle ones are dropped first.
const maxVisitors = 100_000

// limiter holds one token bucket per visitor.
type limiter struct {
	cfg     Rate
	max     int
	mu      sync.Mutex
	buckets map[string]*bucket
	lastGC  time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(cfg Rate) *limiter {
	return &limiter{cfg: cfg, max: maxVisitors, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket, or says how long to wait for one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.cfg.Rate <= 0 {
		return true, 0
	}
	b := l.bucket(key, now)
	res := b.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiter) burst() int {
	if l.cfg.Burst > 0 {
		return l.cfg.Burst
	}
	return max(1, int(math.Ceil(l.cfg.Rate)))
}

func (l *limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.seen = now
		return b.l
	}
	if len(l.buckets) >= l.max || now.Sub(l.lastGC) > time.Minute {
		l.gc(now)
	}
	b := &bucket{l: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.burst()), seen: now}
	l.buckets[key] = b
	return b.l
}

// gc drops buckets idle long enough to have refilled; if that frees too
// little, the older half of the rest.
func (l *limiter) gc(now time.Time) {
	l.lastGC = now
	idle := time.Duration(float64(l.burst())/l.cfg.Rate*float64(time.Second)) + time.Minute
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.max {
		cut := now.Add(-idle / 2)
		for k, b := range l.buckets {
			if b.seen.Before(cut) || len(l.buckets) >= l.max {
				delete(l.buckets, k)
			}
		}
	}
}
