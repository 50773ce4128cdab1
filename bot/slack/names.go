package slack

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// maxCachedNames bounds the display-name cache; it is cleared when full.
const maxCachedNames = 4096

type cachedName struct {
	name    string
	expires time.Time
}

// directory caches agents' display names (users.info) and the bot's own
// identity (auth.test). Safe for concurrent use by the worker pool.
type directory struct {
	e *Escalator

	mu        sync.Mutex
	names     map[string]cachedName
	selfUser  string
	selfBot   string
	selfKnown bool
}

// displayName returns the agent's display name, falling back to the real
// name, the user name and the id. A lookup Slack refuses (user_not_found,
// missing_scope) falls back to fallback, or the id, so a reply is still
// relayed; a transient failure is returned for the job to retry.
func (d *directory) displayName(ctx context.Context, userID, fallback string) (string, error) {
	now := d.e.Now()
	d.mu.Lock()
	c, ok := d.names[userID]
	d.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.name, nil
	}
	cctx, cancel := d.e.call(ctx)
	defer cancel()
	u, err := d.e.api.GetUserInfoContext(cctx, userID)
	if err != nil {
		err = classify("users.info", err)
		if !bot.IsPermanent(err) {
			return "", err
		}
		d.e.logger.Warn("agent name lookup refused; using the id", "user", userID, "err", err)
		return cmp.Or(fallback, userID), nil
	}
	name := cmp.Or(u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name, fallback, userID)
	d.mu.Lock()
	if len(d.names) >= maxCachedNames {
		clear(d.names)
	}
	d.names[userID] = cachedName{name: name, expires: now.Add(cmp.Or(d.e.NameTTL, DefaultNameTTL))}
	d.mu.Unlock()
	return name, nil
}

// self returns the bot's user id and bot id (auth.test), cached once known.
func (d *directory) self(ctx context.Context) (userID, botID string, err error) {
	d.mu.Lock()
	if d.selfKnown {
		defer d.mu.Unlock()
		return d.selfUser, d.selfBot, nil
	}
	d.mu.Unlock()
	cctx, cancel := d.e.call(ctx)
	defer cancel()
	r, err := d.e.api.AuthTestContext(cctx)
	if err != nil {
		return "", "", classify("auth.test", err)
	}
	if r.UserID == "" {
		return "", "", errors.New("auth.test: no user id")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.selfUser, d.selfBot, d.selfKnown = r.UserID, r.BotID, true
	return d.selfUser, d.selfBot, nil
}
