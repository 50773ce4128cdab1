package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
)

// FuzzParse: whatever the model writes, Parse never panics, and an answer
// it accepts is non-empty, cites only given ids and is confident in [0, 1].
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"action":"answer","answer":"ok","cited_faq_ids":["password"],"confidence":0.9,"reason":"","summary":""}`,
		"```json\n{\"action\":\"escalate\"}\n```",
		`{"action":"answer","answer":"x","cited_faq_ids":["other"],"confidence":1}`,
		"``` {", "{", "", "```", "prose {\"action\":1}",
	} {
		f.Add(s)
	}
	ids := []string{"password", "invoice"}
	f.Fuzz(func(t *testing.T, content string) {
		out, err := policy.Parse(content, ids)
		if err != nil {
			if !errors.Is(err, policy.ErrInvalidOutput) {
				t.Fatalf("Parse error %v does not wrap ErrInvalidOutput", err)
			}
			return
		}
		switch out.Action {
		case bot.ActionEscalate:
		case bot.ActionAnswer:
			if strings.TrimSpace(out.Answer) == "" || len(out.CitedFAQIDs) == 0 || out.Confidence < 0 || out.Confidence > 1 {
				t.Fatalf("accepted an unchecked answer: %+v", out)
			}
			for _, id := range out.CitedFAQIDs {
				if !slices.Contains(ids, id) {
					t.Fatalf("accepted cited id %q", id)
				}
			}
		default:
			t.Fatalf("accepted action %q", out.Action)
		}
	})
}

// FuzzGrounding: whatever the model answers, the check never panics, and an
// answer that carries a link absent from the cited entry is never sent.
func FuzzGrounding(f *testing.F) {
	for _, s := range []string{
		"Refunds go back to your original card within 14 days.",
		"See https://help.example.com/refunds.", "Visit evil.example now", "$500", "+1 555 014 2398",
		"https://evil\u200b.io", "1.000,50 € or 12,5%", "www.", "@@", "http://", "a.b.c.d.e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		g := policy.Grounded(answer, refundHit.Question+"\n"+refundHit.Answer, policy.DefaultMinSupport, nil)
		if g.Support < 0 || g.Support > 1 {
			t.Fatalf("support %v out of [0, 1]", g.Support)
		}
		if g.OK() && strings.Contains(strings.ToLower(answer), "https://evil.io") {
			t.Fatalf("sent %q with an invented link", answer)
		}
	})
}
