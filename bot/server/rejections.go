package server

import (
	"context"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// RejectionCounter keeps the counts of requests refused before they proved
// anything. An Intake that implements it gets counts per source per minute
// and only a sample of such requests as audit rows; one that does not gets
// a row each.
type RejectionCounter interface {
	CountRejections(ctx context.Context, counts []bot.RejectionCount) error
}

// Bounds of the audit of refused, unproven requests: 20,000 POSTs to
// made-up trigger names used to write 20,000 audit rows, kept forever.
const (
	// maxRejectionRows is how many of them are written as audit rows a
	// minute in all, and maxRejectionRowsPerSource from one address.
	maxRejectionRows          = 60
	maxRejectionRowsPerSource = 20
	// maxRejectionKeys bounds the counts held for one minute; past it, new
	// sources are counted as "other".
	maxRejectionKeys = 1000
)

type rejectionKey struct {
	remote, trigger string
	status          int
}

// rejections counts refused requests for the current minute.
type rejections struct {
	mu        sync.Mutex
	minute    time.Time
	counts    map[rejectionKey]int64
	rows      int
	rowsBySrc map[string]int
}

// note counts one refused request. It reports whether its audit row is
// still within the minute's sample, and returns the previous minute's
// counts when this request starts a new minute.
func (r *rejections) note(at time.Time, remote, trigger string, status int) (sample bool, flush []bot.RejectionCount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	minute := at.UTC().Truncate(time.Minute)
	if !minute.Equal(r.minute) {
		flush = r.takeLocked()
		r.minute = minute
	}
	if r.counts == nil {
		r.counts, r.rowsBySrc = map[rejectionKey]int64{}, map[string]int{}
	}
	k := rejectionKey{remote, trigger, status}
	if _, ok := r.counts[k]; !ok && len(r.counts) >= maxRejectionKeys {
		k.remote = "other"
	}
	r.counts[k]++
	if r.rows < maxRejectionRows && r.rowsBySrc[remote] < maxRejectionRowsPerSource {
		r.rows++
		r.rowsBySrc[remote]++
		sample = true
	}
	return sample, flush
}

// take returns the counts held and starts afresh.
func (r *rejections) take() []bot.RejectionCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.takeLocked()
}

func (r *rejections) takeLocked() []bot.RejectionCount {
	var out []bot.RejectionCount
	for k, n := range r.counts {
		out = append(out, bot.RejectionCount{Minute: r.minute, Remote: k.remote, Trigger: k.trigger, Status: k.status, Count: n})
	}
	r.counts, r.rows, r.rowsBySrc = nil, 0, nil
	return out
}

// auditRejected records a request refused before it proved anything: its
// count, and its row while the minute's sample has room.
func (s *Server) auditRejected(ctx context.Context, rc RejectionCounter, a bot.AuditEntry, known bool) {
	trigger := a.Trigger
	if !known {
		trigger = "" // names a caller made up are not kept
	}
	sample, flush := s.rejected.note(a.At, clientHostOf(a.Remote), trigger, a.Status)
	if len(flush) > 0 {
		if err := rc.CountRejections(ctx, flush); err != nil {
			s.Logger.Error("count rejections", "err", err)
		}
	}
	if sample {
		if err := s.Intake.Audit(ctx, a); err != nil {
			s.Logger.Error("audit", "trigger", a.Trigger, "err", err)
		}
	}
}

// flushRejections writes the counts held (on Close).
func (s *Server) flushRejections(ctx context.Context) {
	rc, ok := s.Intake.(RejectionCounter)
	if !ok {
		return
	}
	if err := rc.CountRejections(ctx, s.rejected.take()); err != nil {
		s.Logger.Error("count rejections", "err", err)
	}
}
