package deliver

import (
	"context"
	"fmt"
	"sync"

	"github.com/supportbot/supportbot/bot"
)

// Router sends each reply through its trigger's reply channel. Channels are
// set and removed while it delivers (run-time triggers).
type Router struct {
	mu        sync.RWMutex
	byTrigger map[string]bot.Deliverer
}

var _ bot.Deliverer = (*Router)(nil)

// NewRouter returns a router with no channels.
func NewRouter() *Router {
	return &Router{byTrigger: map[string]bot.Deliverer{}}
}

// Set makes d the reply channel of the trigger named trigger.
func (rr *Router) Set(trigger string, d bot.Deliverer) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.byTrigger[trigger] = d
}

// Remove drops the reply channel of the trigger named trigger.
func (rr *Router) Remove(trigger string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	delete(rr.byTrigger, trigger)
}

// Deliver sends r through its trigger's channel; a trigger deleted since is
// a permanent failure (the dead letter shows it).
func (rr *Router) Deliver(ctx context.Context, r bot.Reply) error {
	rr.mu.RLock()
	d, ok := rr.byTrigger[r.Trigger]
	rr.mu.RUnlock()
	if !ok {
		return bot.Permanent(fmt.Errorf("trigger %q has no reply channel", r.Trigger))
	}
	return d.Deliver(ctx, r)
}
