package server

import (
	"unicode/utf8"

	"github.com/supportbot/supportbot/bot"
)

// Bounds of the event fields besides the message text (bot.Event.Validate
// bounds ids and text): a 900 KB subject made every LLM prompt 905 KB.
// Past them a field is cut (or, a URL or a tag, dropped), not refused: a
// vendor's long subject must not cost the customer's message.
const (
	MaxSubjectLen  = 512
	MaxNameLen     = 256
	MaxEmailLen    = 320
	MaxURLLen      = 2048
	MaxPriorityLen = 64
	MaxTags        = 32
	MaxTagLen      = 64
)

// clampEvent cuts the fields of ev that are over their bounds.
func clampEvent(ev *bot.Event) {
	c := &ev.Conversation
	c.Subject = cut(c.Subject, MaxSubjectLen)
	c.Priority = cut(c.Priority, MaxPriorityLen)
	if len(c.URL) > MaxURLLen {
		c.URL = "" // a cut URL points elsewhere
	}
	if len(c.Tags) > 0 {
		tags := c.Tags[:0:0]
		for _, t := range c.Tags {
			if len(tags) == MaxTags {
				break
			}
			if len(t) <= MaxTagLen {
				tags = append(tags, t)
			}
		}
		c.Tags = tags
	}
	ev.Customer.Name = cut(ev.Customer.Name, MaxNameLen)
	if len(ev.Customer.Email) > MaxEmailLen {
		ev.Customer.Email = ""
	}
	if len(ev.Customer.ID) > bot.MaxIDLen {
		ev.Customer.ID = cut(ev.Customer.ID, bot.MaxIDLen)
	}
}

// cut returns s cut to at most n bytes, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
