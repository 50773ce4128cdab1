package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// TestHandoffMarksUnverifiedCustomer: a web chat visitor's name and e-mail
// are the visitor's own word; the hand-off packet says so, and says nothing
// of the kind for a helpdesk's customer.
func TestHandoffMarksUnverifiedCustomer(t *testing.T) {
	t.Parallel()
	render := func(c bot.Customer) string {
		e := bot.Escalation{ConversationKey: "web/wv_x", Trigger: "web", ConversationID: "wv_x", Customer: c, Reason: "human_requested"}
		blocks, _ := renderHandoff(e, handoffView{State: bot.StateEscalated, Hint: handoffHint(Config{}.withDefaults())})
		b, _ := json.Marshal(blocks)
		return string(b)
	}
	if got := render(bot.Customer{Name: "CEO of Acme", Email: "ceo@acme.example", Unverified: true}); !strings.Contains(got, "unverified") {
		t.Fatalf("hand-off of a self-declared visitor does not say unverified: %s", got)
	}
	if got := render(bot.Customer{Name: "Ada", Email: "ada@example.com"}); strings.Contains(got, "unverified") {
		t.Fatalf("hand-off of a helpdesk customer says unverified: %s", got)
	}
}
