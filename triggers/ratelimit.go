package triggers

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter applies a trigger's rate limits: one bucket for the trigger, and
// one per caller address (bounded: idle buckets are dropped).
type Limiter struct {
	all   *rate.Limiter
	perIP RateConfig

	mu      sync.Mutex
	ips     map[string]*ipBucket
	lastGC  time.Time
	maxIPs  int
	nowFunc func() time.Time
}

type ipBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// maxTrackedIPs bounds the per-address buckets kept at once.
const maxTrackedIPs = 100_000

func (c RateConfig) limiter() *rate.Limiter {
	burst := c.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(c.Rate)))
	}
	return rate.NewLimiter(rate.Limit(c.Rate), burst)
}

func (c RateConfig) check(key string) error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("%s.rate: must not be negative", key)
	case c.Burst < 0:
		return fmt.Errorf("%s.burst: must not be negative", key)
	case c.Rate == 0 && c.Burst > 0:
		return fmt.Errorf("%s.rate: required with %s.burst", key, key)
	}
	return nil
}

// NewLimiter returns the limiter of cfg, or nil when it sets no limit.
func NewLimiter(cfg Config) (*Limiter, error) {
	if err := cfg.RateLimit.check("rate_limit"); err != nil {
		return nil, err
	}
	if err := cfg.PerIP.check("per_ip"); err != nil {
		return nil, err
	}
	if cfg.RateLimit.Rate == 0 && cfg.PerIP.Rate == 0 {
		return nil, nil
	}
	l := &Limiter{perIP: cfg.PerIP, ips: map[string]*ipBucket{}, maxIPs: maxTrackedIPs, nowFunc: time.Now}
	if cfg.RateLimit.Rate > 0 {
		l.all = cfg.RateLimit.limiter()
	}
	return l, nil
}

// Allow reports whether the request may proceed now; when not, it returns
// how long the caller should wait.
func (l *Limiter) Allow(r *http.Request) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.nowFunc()
	if l.perIP.Rate > 0 {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := reserve(l.bucket(host, now), now); !ok {
			return false, wait
		}
	}
	if l.all != nil {
		if ok, wait := reserve(l.all, now); !ok {
			return false, wait
		}
	}
	return true, 0
}

// reserve takes a token if one is available now, without queueing.
func reserve(b *rate.Limiter, now time.Time) (bool, time.Duration) {
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

func (l *Limiter) bucket(host string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.ips[host]; ok {
		b.seen = now
		return b.l
	}
	if len(l.ips) >= l.maxIPs || now.Sub(l.lastGC) > time.Minute {
		l.gc(now)
	}
	b := &ipBucket{l: l.perIP.limiter(), seen: now}
	l.ips[host] = b
	return b.l
}

// gc drops buckets idle long enough to have refilled; if that frees too
// little, it drops the oldest half.
func (l *Limiter) gc(now time.Time) {
	l.lastGC = now
	idle := time.Duration(float64(max(l.perIP.Burst, 1))/l.perIP.Rate*float64(time.Second)) + time.Minute
	for k, b := range l.ips {
		if now.Sub(b.seen) > idle {
			delete(l.ips, k)
		}
	}
	if len(l.ips) >= l.maxIPs {
		cut := now.Add(-idle / 2)
		for k, b := range l.ips {
			if b.seen.Before(cut) || len(l.ips) >= l.maxIPs {
				delete(l.ips, k)
			}
		}
	}
}
