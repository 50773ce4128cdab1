package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// BudgetStore is the part of the store the escalation budget reads.
type BudgetStore interface {
	// Announcements returns, for the trigger, the times of the hand-offs
	// announced at or after since (oldest first), and the number of open
	// hand-offs not yet announced.
	Announcements(ctx context.Context, trigger string, since time.Time) (announced []time.Time, waiting int, err error)
}

// Noticer is an Escalator that can post a plain notice for agents (the
// budget's summary of held hand-offs).
type Noticer interface {
	Notice(ctx context.Context, text string) error
}

// Budget is one trigger's escalation budget: at most Max hand-offs
// announced to agents in any Window.
type Budget struct {
	Max    int
	Window time.Duration
}

// EscalationBudget caps how fast each trigger's hand-offs reach agents, so
// that anonymous visitors asking for a person in a flood cannot flood Slack.
// A hand-off over the budget is never dropped: its job waits until the
// budget has room, and agents get one summary per window saying how many
// are waiting. The count comes from the store, so it holds across restarts
// and replicas.
type EscalationBudget struct {
	Store BudgetStore
	// Budgets by trigger name; a trigger without one is not limited.
	Budgets map[string]Budget
	Now     func() time.Time

	mu       sync.Mutex
	noticed  map[string]time.Time // last summary per trigger
	inflight map[string]int       // announcements under way per trigger
}

// hold returns the time the hand-off of trigger may be announced at, or the
// zero time when it may be announced now; then release must be called once
// the announcement is recorded (or failed). notice is a summary to post
// (once per window and trigger) when it is held. Decisions for one trigger
// are made one at a time and count the announcements this process has under
// way, so concurrent workers cannot all pass on the same free slot.
func (b *EscalationBudget) hold(ctx context.Context, trigger string) (until time.Time, release func(), notice string, err error) {
	bud, ok := b.Budgets[trigger]
	if !ok || bud.Max <= 0 || bud.Window <= 0 {
		return time.Time{}, func() {}, "", nil
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	announced, waiting, err := b.Store.Announcements(ctx, trigger, now.Add(-bud.Window))
	if err != nil {
		return time.Time{}, nil, "", fmt.Errorf("escalation budget: %w", err)
	}
	if b.inflight == nil {
		b.inflight = map[string]int{}
	}
	if len(announced)+b.inflight[trigger] < bud.Max {
		b.inflight[trigger]++
		var once sync.Once
		return time.Time{}, func() {
			once.Do(func() {
				b.mu.Lock()
				b.inflight[trigger]--
				b.mu.Unlock()
			})
		}, "", nil
	}
	// Room comes back when the oldest hand-off that counts leaves the
	// window (or, while announcements are under way, a slot from now);
	// held jobs spread over the next slot so that they do not all wake at
	// once.
	slot := bud.Window / time.Duration(bud.Max)
	until = now.Add(slot)
	if len(announced) >= bud.Max {
		until = announced[len(announced)-bud.Max].Add(bud.Window)
	}
	until = until.Add(time.Duration(rand.Int64N(int64(slot) + 1)))
	if b.noticed == nil {
		b.noticed = map[string]time.Time{}
	}
	if last, ok := b.noticed[trigger]; !ok || now.Sub(last) >= bud.Window {
		b.noticed[trigger] = now
		what := fmt.Sprintf("%d hand-offs from trigger %q are", waiting, trigger)
		if waiting == 1 {
			what = fmt.Sprintf("1 hand-off from trigger %q is", trigger)
		}
		notice = fmt.Sprintf("Escalation budget: %s waiting (%d were posted in the last %s, the most allowed). None is dropped: each follows as the budget allows, and all are listed on the dashboard and by `supportbot escalations`.",
			what, bud.Max, bud.Window)
	}
	return until, nil, notice, nil
}

// budgetHold is the escalate handler's check: the snooze time of a held
// hand-off (after posting the budget's summary when one is due), or a
// release to call once the hand-off's announcement is recorded.
func (e *Engine) budgetHold(ctx context.Context, esc bot.Escalation) (time.Time, func(), error) {
	if e.Budget == nil {
		return time.Time{}, func() {}, nil
	}
	until, release, notice, err := e.Budget.hold(ctx, esc.Trigger)
	if err != nil || until.IsZero() {
		return time.Time{}, release, err
	}
	e.Logger.Warn("hand-off held by the escalation budget", "trigger", esc.Trigger, "conversation", esc.ConversationKey, "until", until.UTC().Format(time.RFC3339))
	if notice != "" {
		if n, ok := e.Escalator.(Noticer); ok {
			if err := n.Notice(ctx, notice); err != nil {
				// The summary is a courtesy; the held hand-offs are not lost
				// without it.
				e.Logger.Warn("post escalation budget notice", "trigger", esc.Trigger, "err", err)
			}
		}
	}
	return until, nil, nil
}
