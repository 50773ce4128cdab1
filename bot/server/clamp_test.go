package server

import (
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// TestClampEvent: a 900 KB subject reached every LLM prompt; subject,
// names, tags and URLs are bounded before the event is stored.
func TestClampEvent(t *testing.T) {
	ev := bot.Event{
		Conversation: bot.ConversationRef{
			ID: "c", Subject: strings.Repeat("é", 450_000), URL: "https://x/" + strings.Repeat("a", 3000),
			Tags: append([]string{strings.Repeat("t", 100)}, strings.Split(strings.Repeat("tag,", 40), ",")...),
		},
		Customer: bot.Customer{Name: strings.Repeat("n", 5000), Email: strings.Repeat("e", 400) + "@x.y"},
		Message:  bot.MessageRef{Text: "hi"},
	}
	clampEvent(&ev)
	c := ev.Conversation
	if len(c.Subject) > MaxSubjectLen || !strings.HasPrefix(strings.Repeat("é", 300), c.Subject) {
		t.Fatalf("subject of %d bytes, want at most %d, cut at a character", len(c.Subject), MaxSubjectLen)
	}
	if c.URL != "" {
		t.Fatalf("url of %d bytes kept, want dropped", len(c.URL))
	}
	if len(c.Tags) != MaxTags || c.Tags[0] != "tag" {
		t.Fatalf("tags = %d, first %q; want %d without the over-long one", len(c.Tags), c.Tags[0], MaxTags)
	}
	if len(ev.Customer.Name) != MaxNameLen || ev.Customer.Email != "" {
		t.Fatalf("name %d bytes, email %q", len(ev.Customer.Name), ev.Customer.Email)
	}
}
