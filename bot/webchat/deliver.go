package webchat

import (
	"context"
	"errors"

	"github.com/supportbot/supportbot/bot"
)

// Deliverer is the reply channel of web chat triggers (reply kind web): it
// publishes each reply to the hub, which streams it to the visitor's open
// pages. A visitor with no page open misses nothing: the page replays sent
// replies from the store when it connects.
type Deliverer struct {
	Hub *Hub
}

var _ bot.Deliverer = (*Deliverer)(nil)

// Deliver publishes r to its conversation's subscribers. It never waits for
// a browser; it fails (permanently) only for a reply without a conversation.
func (d *Deliverer) Deliver(ctx context.Context, r bot.Reply) error {
	if r.ConversationKey == "" {
		return bot.Permanent(errors.New("web reply: no conversation key"))
	}
	d.Hub.Publish(r.ConversationKey, ReplyEvent(r))
	return nil
}
