package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
)

// fakeArticles stands in for the articles index.
type fakeArticles struct {
	passages  []policy.Passage
	threshold float64
}

func (f *fakeArticles) RetrievePassages(_ context.Context, _ string, k int) ([]policy.Passage, float64, bool) {
	return f.passages[:min(k, len(f.passages))], f.threshold, true
}

var pairing = policy.Passage{
	ID: "acme-101#2", ArticleID: "acme-101", Title: "Pairing the SolarPump", Heading: "Pair the pump",
	URL: "https://help.example.com/101", Text: "Hold the blue button for five seconds until the light blinks.",
}

func articles(relevance float64) *fakeArticles {
	p := pairing
	p.Relevance = relevance
	return &fakeArticles{passages: []policy.Passage{p}, threshold: 0.3}
}

func TestArticlesLocal(t *testing.T) {
	for _, tc := range []struct {
		name       string
		faq        float64
		relevance  float64
		wantAction bot.Action
		wantSource string
		wantReason string
	}{
		{"a confident FAQ entry wins", 0.9, 0.9, bot.ActionAnswer, "matcher", ""},
		{"a confident passage answers", 0.1, 0.6, bot.ActionAnswer, "articles", ""},
		{"nothing confident escalates", 0.1, 0.2, bot.ActionEscalate, "policy", bot.ReasonOutOfScope},
		{"nothing relevant escalates", 0.1, 0.1, bot.ActionEscalate, "policy", bot.ReasonOutOfScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := MustPolicy(t, &fakeRetriever{hits: hits(tc.faq, 0), threshold: threshold}, func(p *policy.Policy) {
				p.Articles = articles(tc.relevance)
			})
			d, err := p.Decide(context.Background(), bot.Query{Text: "How do I pair the pump?"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tc.wantAction || d.Source != tc.wantSource || d.Reason != tc.wantReason {
				t.Fatalf("decision = %s/%s/%s (%s), want %s/%s/%s", d.Action, d.Source, d.Reason, d.Detail, tc.wantAction, tc.wantSource, tc.wantReason)
			}
			if got, want := d.Draft != "", tc.wantAction == bot.ActionEscalate && tc.relevance >= 0.15; got != want {
				t.Errorf("draft %q: want one only for a passage half-way to the threshold", d.Draft)
			}
			if tc.wantSource == "articles" {
				want := "This article answers it: Pairing the SolarPump\n\nHold the blue button for five seconds until the light blinks.\n\nSource: Pairing the SolarPump https://help.example.com/101"
				if d.Answer != want || d.FAQIDs[0] != "acme-101#2" {
					t.Fatalf("answer = %q %v, want %q", d.Answer, d.FAQIDs, want)
				}
			}
			var passages int
			for _, c := range d.Candidates {
				if c.Kind == bot.CandidateArticle {
					passages++
					if c.URL != pairing.URL || c.Heading != pairing.Heading || c.Question != pairing.Title {
						t.Errorf("passage candidate = %+v", c)
					}
				}
			}
			if passages != 1 {
				t.Errorf("candidates = %+v, want the passage among them", d.Candidates)
			}
		})
	}
}

func TestTrimPassage(t *testing.T) {
	long := strings.Repeat("Word word word word. ", 60)
	got := policy.TrimPassage(long, 200)
	if len(got) > 204 || !strings.HasSuffix(got, ". …") {
		t.Fatalf("TrimPassage = %q (%d bytes), want a sentence end and an ellipsis within 200 bytes", got, len(got))
	}
	if got := policy.TrimPassage("Short.", 200); got != "Short." {
		t.Fatalf("TrimPassage(short) = %q", got)
	}
	if got := policy.TrimPassage(strings.Repeat("x", 300), 100); !strings.HasSuffix(got, " …") || len(got) > 110 {
		t.Fatalf("TrimPassage(no spaces) = %q", got)
	}
}

func TestArticlesLLM(t *testing.T) {
	for _, tc := range []struct {
		name       string
		reply      string
		wantAction bot.Action
		wantReason string
	}{
		{"cites the passage", decision("answer", "Hold the blue button for five seconds until the light blinks.", []string{"acme-101#2"}, 0.9),
			bot.ActionAnswer, ""},
		{"cites a passage not given", decision("answer", "Hold the blue button for five seconds.", []string{"acme-101#7"}, 0.9),
			bot.ActionEscalate, bot.ReasonLLMUngrounded},
		{"adds a link", decision("answer", "Hold the blue button for five seconds, then see https://evil.example/pair.", []string{"acme-101#2"}, 0.9),
			bot.ActionEscalate, bot.ReasonLLMUngrounded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var given string
			p := MustPolicy(t, &fakeRetriever{hits: hits(0.1, 0), threshold: threshold}, func(p *policy.Policy) {
				p.Mode = policy.ModeAlways
				p.Answerer = bot.AnswererFunc(func(_ context.Context, req bot.LLMRequest) (bot.LLMResponse, error) {
					given = string(req.Schema)
					return bot.LLMResponse{Content: tc.reply}, nil
				})
				p.Articles = articles(0.5)
			})
			d, err := p.Decide(context.Background(), bot.Query{Text: "How do I pair the pump?"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(given, `"acme-101#2"`) {
				t.Fatalf("schema %s does not let the model cite the passage", given)
			}
			if d.Action != tc.wantAction || d.Reason != tc.wantReason {
				t.Fatalf("decision = %s/%s (%s), want %s/%s", d.Action, d.Reason, d.Detail, tc.wantAction, tc.wantReason)
			}
			if d.Action == bot.ActionAnswer && !strings.HasSuffix(d.Answer, "\n\nSource: Pairing the SolarPump https://help.example.com/101") {
				t.Fatalf("answer = %q, want the source line", d.Answer)
			}
		})
	}
}
