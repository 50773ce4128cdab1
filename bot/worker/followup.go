package worker

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// FollowUpStore is the part of the store the follow-up loop needs.
type FollowUpStore interface {
	QueueFollowUps(ctx context.Context, o bot.FollowUpOptions) (reannounced, noticed int, err error)
	ResolveIdle(ctx context.Context, before time.Time) (int, error)
}

// Default texts of the customer notices.
const (
	DefaultNoAgentText    = "Our team is busy right now. We have your message, and a person will reply here as soon as possible."
	DefaultAfterHoursText = "Our team is away right now. We have your message, and a person will reply here when we are back."
)

// FollowUps watches unclaimed escalations: it re-announces them to agents
// after ReannounceAfter, and tells the customer to expect a wait after
// NoticeAfter, or at once outside business hours. Each happens once per
// escalation; nothing is dropped and the escalation stays open.
type FollowUps struct {
	Store           FollowUpStore
	Interval        time.Duration // default 30s
	ReannounceAfter time.Duration // 0: off
	NoticeAfter     time.Duration // 0: off
	// ResolveIdleAfter resolves bot-owned conversations whose customer has
	// been quiet this long after the bot's answer (0: off).
	ResolveIdleAfter time.Duration
	NoAgentText      string
	AfterHoursText   string
	Hours            *BusinessHours // nil: always open
	MaxAttempts      int
	NewID            func() string
	Now              func() time.Time
	Logger           *slog.Logger

	loop periodic
}

// Open starts the loop.
func (f *FollowUps) Open() {
	f.Interval = cmp.Or(f.Interval, 30*time.Second)
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	f.loop.start(f.Interval, f.Logger, "escalation follow-ups", f.Run)
}

// Close stops the loop and waits for it.
func (f *FollowUps) Close() error {
	f.loop.stop()
	return nil
}

// Run queues the follow-ups due now.
func (f *FollowUps) Run(ctx context.Context) error {
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	o := bot.FollowUpOptions{MaxAttempts: f.MaxAttempts, NewID: f.NewID}
	if o.NewID == nil {
		o.NewID = NewReplyID
	}
	if f.ReannounceAfter > 0 {
		o.ReannounceBefore = now.Add(-f.ReannounceAfter)
	}
	if f.NoticeAfter > 0 {
		o.NoticeBefore = now.Add(-f.NoticeAfter)
		o.Notice = cmp.Or(f.NoAgentText, DefaultNoAgentText)
	}
	if f.Hours != nil && !f.Hours.Open(now) {
		o.NoticeNow = true
		o.Notice = cmp.Or(f.AfterHoursText, DefaultAfterHoursText)
	}
	re, no, err := f.Store.QueueFollowUps(ctx, o)
	if err != nil {
		return err
	}
	if f.ResolveIdleAfter > 0 {
		n, err := f.Store.ResolveIdle(ctx, now.Add(-f.ResolveIdleAfter))
		if err != nil {
			return err
		}
		if n > 0 && f.Logger != nil {
			f.Logger.Info("idle conversations resolved", "conversations", n)
		}
	}
	if re+no > 0 && f.Logger != nil {
		f.Logger.Info("escalation follow-ups queued", "reannounced", re, "noticed", no)
	}
	return nil
}

// BusinessHours is a weekly schedule in one time zone, e.g. "Mon-Fri 09:00-17:00".
type BusinessHours struct {
	Days       [7]bool // indexed by time.Weekday
	Start, End int     // minutes after midnight
	Loc        *time.Location
}

var weekdays = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// ParseBusinessHours parses "DAYS HH:MM-HH:MM" where DAYS is a day
// ("Mon"), a range ("Mon-Fri") or a comma list ("Mon,Wed,Fri"), in zone tz
// ("" is UTC). An empty spec returns nil: always open.
func ParseBusinessHours(spec, tz string) (*BusinessHours, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(cmp.Or(tz, "UTC"))
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	days, hours, ok := strings.Cut(spec, " ")
	if !ok {
		return nil, fmt.Errorf("%q: want DAYS HH:MM-HH:MM, e.g. Mon-Fri 09:00-17:00", spec)
	}
	b := &BusinessHours{Loc: loc}
	for _, part := range strings.Split(strings.ToLower(days), ",") {
		from, to, isRange := strings.Cut(part, "-")
		d1, ok1 := weekdays[from]
		d2, ok2 := weekdays[to]
		if !isRange {
			d2, ok2 = d1, ok1
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%q: unknown day in %q", spec, part)
		}
		for d := d1; ; d = (d + 1) % 7 {
			b.Days[d] = true
			if d == d2 {
				break
			}
		}
	}
	start, end, ok := strings.Cut(strings.TrimSpace(hours), "-")
	if !ok {
		return nil, fmt.Errorf("%q: want HH:MM-HH:MM", spec)
	}
	if b.Start, err = clock(start); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	if b.End, err = clock(end); err != nil {
		return nil, fmt.Errorf("%q: %w", spec, err)
	}
	if b.End <= b.Start {
		return nil, fmt.Errorf("%q: the end must be after the start", spec)
	}
	return b, nil
}

func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return hh*60 + mm, nil
}

// Open reports whether t falls within business hours.
func (b *BusinessHours) Open(t time.Time) bool {
	t = t.In(b.Loc)
	m := t.Hour()*60 + t.Minute()
	return b.Days[t.Weekday()] && m >= b.Start && m < b.End
}

// Reannouncer is an Escalator that can remind agents of an unclaimed
// escalation in its thread.
type Reannouncer interface {
	Reannounce(ctx context.Context, esc bot.StoredEscalation, t bot.Thread, mention string) error
}
