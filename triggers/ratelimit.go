package triggers

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter applies a trigger's rate limits: one bucket for the trigger, and
// one per caller address.
type Limiter struct {
	all   *rate.Limiter
	perIP *Buckets
}

// Buckets is a token bucket per key (a caller address, a chat visitor),
// with bounded memory: buckets idle long enough to have refilled are
// dropped, and when there are still too many, enough others to leave room
// for a tenth of the bound, so the sweep runs rarely however many keys a
// caller invents.
type Buckets struct {
	cfg    RateConfig
	max    int
	mu     sync.Mutex
	keys   map[string]*keyBucket
	lastGC time.Time
}

type keyBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// maxTrackedKeys bounds the buckets kept at once.
const maxTrackedKeys = 100_000

// NewBuckets returns per-key buckets of cfg holding at most max keys
// (0: 100,000); nil when cfg sets no limit.
func NewBuckets(cfg RateConfig, max int) *Buckets {
	if cfg.Rate <= 0 {
		return nil
	}
	return &Buckets{cfg: cfg, max: cmp.Or(max, maxTrackedKeys), keys: map[string]*keyBucket{}}
}

// Allow takes a token from key's bucket if one is available now; when not,
// it returns how long the caller should wait. A nil Buckets allows all.
func (b *Buckets) Allow(key string, now time.Time) (bool, time.Duration) {
	if b == nil {
		return true, 0
	}
	return reserve(b.bucket(key, now), now)
}

// Wait returns how long until key's bucket holds a token, without taking
// one: 0 when a token is there now (or the key has no bucket yet). It lets a
// caller refuse before doing the work that would spend the token.
func (b *Buckets) Wait(key string, now time.Time) time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	kb, ok := b.keys[key]
	b.mu.Unlock()
	if !ok {
		return 0
	}
	tok := kb.l.TokensAt(now)
	if tok >= 1 {
		return 0
	}
	return time.Duration((1 - tok) / float64(kb.l.Limit()) * float64(time.Second))
}

// Len returns the number of buckets held.
func (b *Buckets) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}

func (b *Buckets) bucket(key string, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if kb, ok := b.keys[key]; ok {
		kb.seen = now
		return kb.l
	}
	if len(b.keys) >= b.max || now.Sub(b.lastGC) > time.Minute {
		b.gc(now)
	}
	kb := &keyBucket{l: b.cfg.limiter(), seen: now}
	b.keys[key] = kb
	return kb.l
}

// gc drops the buckets idle long enough to have refilled; if the bound is
// still near, the older ones, then any, down to nine tenths of it.
func (b *Buckets) gc(now time.Time) {
	b.lastGC = now
	idle := time.Duration(float64(max(b.cfg.Burst, 1))/b.cfg.Rate*float64(time.Second)) + time.Minute
	for k, kb := range b.keys {
		if now.Sub(kb.seen) > idle {
			delete(b.keys, k)
		}
	}
	target := b.max - b.max/10
	if len(b.keys) <= target {
		return
	}
	cut := now.Add(-idle / 2)
	for k, kb := range b.keys {
		if kb.seen.Before(cut) {
			delete(b.keys, k)
		}
	}
	for k := range b.keys { // map order: an arbitrary choice of victims
		if len(b.keys) <= target {
			break
		}
		delete(b.keys, k)
	}
}

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
	l := &Limiter{perIP: NewBuckets(cfg.PerIP, 0)}
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
	now := time.Now()
	if l.perIP != nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := l.perIP.Allow(host, now); !ok {
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
