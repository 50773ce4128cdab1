package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// TestRenderPassages: the hand-off lists the article passages apart from
// the FAQ entries, each title linked to its article, with its heading and
// relevancy; a link that could break Slack's markup is left out.
func TestRenderPassages(t *testing.T) {
	t.Parallel()
	e := bot.Escalation{ConversationKey: "chat/c", Trigger: "chat", ConversationID: "c", Reason: bot.ReasonOutOfScope,
		Candidates: []bot.Candidate{
			{ID: "refunds", Question: "How do I get a refund?", Score: 0.41},
			{ID: "acme-101#2", Question: "Pairing the SolarPump", Heading: "Pair the pump", URL: "https://help.example.com/101",
				Score: 0.27, Kind: bot.CandidateArticle},
			{ID: "evil#1", Question: "Click <here>", URL: "https://x.example/a|b>", Score: 0.1, Kind: bot.CandidateArticle},
		}}
	blocks, _ := renderHandoff(e, handoffView{State: bot.StateEscalated})
	raw, _ := json.Marshal(blocks)
	s := string(raw)
	for _, want := range []string{
		"*FAQ entries considered*",
		"*Article passages considered*",
		"\\u003chttps://help.example.com/101|Pairing the SolarPump\\u003e › Pair the pump (`acme-101#2`) — 0.27",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("hand-off lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "x.example") {
		t.Errorf("a link with markup characters was rendered:\n%s", s)
	}
}
