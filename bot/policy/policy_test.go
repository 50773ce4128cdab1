package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
)

// fakeRetriever stands in for the faq package: it returns fixed hits.
type fakeRetriever struct {
	hits      []policy.Hit
	threshold float64
	notReady  bool
}

func (f *fakeRetriever) Retrieve(_ string, k int) ([]policy.Hit, float64, bool) {
	if f.notReady {
		return nil, 0, false
	}
	return f.hits[:min(k, len(f.hits))], f.threshold, true
}

const threshold = 0.5

var (
	passwordHit = policy.Hit{ID: "password", Question: "How do I reset my password?", Answer: "Use the Forgot password link on the sign-in page."}
	invoiceHit  = policy.Hit{ID: "invoice", Question: "Where can I find my invoices?", Answer: "Under Settings, Billing."}
)

// hits returns the two entries with the given scores, best first.
func hits(best, second float64) []policy.Hit {
	a, b := passwordHit, invoiceHit
	a.Score, b.Score = best, second
	return []policy.Hit{a, b}
}

// MustPolicy returns an initialised policy over r with configure applied.
func MustPolicy(tb testing.TB, r policy.Retriever, configure func(*policy.Policy)) *policy.Policy {
	tb.Helper()
	p := &policy.Policy{
		Retriever:          r,
		SensitiveTopics:    []string{"refund", "legal action", " chargeback "},
		SensitiveTags:      []string{"vip", "legal"},
		EscalatePriorities: []string{"urgent", "High"},
	}
	if configure != nil {
		configure(p)
	}
	if err := p.Init(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestDecideRules(t *testing.T) {
	t.Parallel()
	answered := []bot.Turn{
		{Author: bot.AuthorCustomer, Text: "How do I reset my password?"},
		{Author: bot.AuthorBot, Text: "Use the link on the sign-in page."},
	}
	for _, tc := range []struct {
		name       string
		retriever  *fakeRetriever
		configure  func(*policy.Policy)
		q          bot.Query
		wantAction bot.Action
		wantReason string
	}{
		// answer and scope
		{name: "confident answer", q: bot.Query{Text: "How do I reset my password?"}, wantAction: bot.ActionAnswer},
		{name: "at the threshold answers", retriever: &fakeRetriever{hits: hits(threshold, 0.1), threshold: threshold},
			q: bot.Query{Text: "password"}, wantAction: bot.ActionAnswer},
		{name: "out of scope", retriever: &fakeRetriever{hits: hits(0.3, 0.1), threshold: threshold},
			q: bot.Query{Text: "Do you sell gift cards?"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonOutOfScope},
		{name: "no hits", retriever: &fakeRetriever{threshold: threshold},
			q: bot.Query{Text: "anything"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonOutOfScope},
		{name: "not ready", retriever: &fakeRetriever{notReady: true},
			q: bot.Query{Text: "How do I reset my password?"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonNotReady},

		// sensitive topics, priorities and tags
		{name: "sensitive topic", q: bot.Query{Text: "I want a refund for my password reset fee"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "sensitive topic inflected", q: bot.Query{Text: "was I REFUNDED?"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "sensitive phrase", q: bot.Query{Text: "we will take legal action"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "sensitive topic trimmed", q: bot.Query{Text: "I filed a chargeback"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "topic inside another word is not sensitive", q: bot.Query{Text: "my illegal action figure password"}, wantAction: bot.ActionAnswer},
		{name: "sensitive subject on the first turn", q: bot.Query{Text: "see subject", Subject: "Refund please"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "sensitive subject later is ignored", q: bot.Query{Text: "how do I reset my password", Subject: "Refund please",
			History: []bot.Turn{{Author: bot.AuthorCustomer, Text: "hi"}, {Author: bot.AuthorAgent, Text: "done"}}}, wantAction: bot.ActionAnswer},
		{name: "no topics configured", configure: func(p *policy.Policy) { p.SensitiveTopics = nil },
			q: bot.Query{Text: "I want a refund"}, wantAction: bot.ActionAnswer},
		{name: "priority", q: bot.Query{Text: "reset password", Priority: "urgent"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonPriority},
		{name: "priority case-insensitive", q: bot.Query{Text: "reset password", Priority: "high"}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonPriority},
		{name: "other priority answers", q: bot.Query{Text: "reset password", Priority: "low"}, wantAction: bot.ActionAnswer},
		{name: "sensitive tag", q: bot.Query{Text: "reset password", Tags: []string{"billing", "VIP"}}, wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "other tags answer", q: bot.Query{Text: "reset password", Tags: []string{"billing"}}, wantAction: bot.ActionAnswer},

		// priority between rules
		{name: "human request beats sensitive topic", q: bot.Query{Text: "refund now, let me talk to a human", Priority: "urgent"},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonHumanRequested},
		{name: "sensitive topic beats priority", q: bot.Query{Text: "refund", Priority: "urgent", Tags: []string{"vip"}},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonSensitiveTopic},
		{name: "priority beats tags and failed turns", q: bot.Query{Text: "reset password", Priority: "urgent", Tags: []string{"vip"}, FailedTurns: 9},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonPriority},
		{name: "rules beat not ready", retriever: &fakeRetriever{notReady: true}, q: bot.Query{Text: "agent"},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonHumanRequested},

		// failed turns are the engine's (Engine.RephraseTurns), not a rule
		{name: "failed turns still answer", q: bot.Query{Text: "reset password", FailedTurns: 50}, wantAction: bot.ActionAnswer},

		// repeated question
		{name: "same question again", q: bot.Query{Text: "how do i reset my password??", History: answered},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonRepeatedQuestion},
		{name: "nearly the same question", q: bot.Query{Text: "I still can't reset my password", History: answered},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonRepeatedQuestion},
		{name: "burst question repeated", q: bot.Query{Text: "password reset not working, how do I reset it", History: []bot.Turn{
			{Author: bot.AuthorCustomer, Text: "hi"}, {Author: bot.AuthorCustomer, Text: "password reset not working"},
			{Author: bot.AuthorBot, Text: "Try the link."}}},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonRepeatedQuestion},
		{name: "a different question is not a repeat", q: bot.Query{Text: "Where can I download my invoices?", History: answered},
			wantAction: bot.ActionAnswer},
		{name: "an older answered question is not compared", q: bot.Query{Text: "How do I reset my password?", History: append(append([]bot.Turn{}, answered...),
			bot.Turn{Author: bot.AuthorCustomer, Text: "Where are my invoices kept?"}, bot.Turn{Author: bot.AuthorBot, Text: "Under Billing."})},
			wantAction: bot.ActionAnswer},
		{name: "question an agent answered is not a repeat", q: bot.Query{Text: "How do I reset my password?", History: []bot.Turn{
			{Author: bot.AuthorCustomer, Text: "How do I reset my password?"}, {Author: bot.AuthorAgent, Text: "Let me check."}}},
			wantAction: bot.ActionAnswer},
		{name: "short turns are not repeats", q: bot.Query{Text: "thanks!", History: []bot.Turn{
			{Author: bot.AuthorCustomer, Text: "thanks"}, {Author: bot.AuthorBot, Text: "You're welcome."}}},
			wantAction: bot.ActionAnswer},
		{name: "repeat rule off", configure: func(p *policy.Policy) { p.RepeatSimilarity = -1 },
			q: bot.Query{Text: "how do i reset my password??", History: answered}, wantAction: bot.ActionAnswer},
		{name: "answer already sent", q: bot.Query{Text: "reset password", History: []bot.Turn{
			{Author: bot.AuthorCustomer, Text: "login broken"}, {Author: bot.AuthorBot, Text: passwordHit.Answer}}},
			wantAction: bot.ActionEscalate, wantReason: bot.ReasonRepeatedQuestion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.retriever
			if r == nil {
				r = &fakeRetriever{hits: hits(0.9, 0.2), threshold: threshold}
			}
			p := MustPolicy(t, r, tc.configure)
			d, err := p.Decide(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tc.wantAction || d.Reason != tc.wantReason {
				t.Fatalf("Decide(%q) = %s/%q (%s), want %s/%q", tc.q.Text, d.Action, d.Reason, d.Detail, tc.wantAction, tc.wantReason)
			}
			if d.Action == bot.ActionAnswer && (d.Answer == "" || len(d.FAQIDs) == 0) {
				t.Fatalf("answer without text or FAQ id: %+v", d)
			}
			if d.Action == bot.ActionEscalate && bot.ReasonText(d.Reason) == d.Reason {
				t.Fatalf("reason %q has no description", d.Reason)
			}
		})
	}
}

func TestDecideDecision(t *testing.T) {
	t.Parallel()
	t.Run("answer", func(t *testing.T) {
		p := MustPolicy(t, &fakeRetriever{hits: hits(0.9, 0.2), threshold: threshold}, nil)
		d, err := p.Decide(context.Background(), bot.Query{Text: "reset my password"})
		if err != nil {
			t.Fatal(err)
		}
		want := bot.Decision{
			Action: bot.ActionAnswer, Answer: passwordHit.Answer, FAQIDs: []string{"password"}, Confidence: 0.9, Source: "matcher",
			Candidates: []bot.Candidate{{ID: "password", Question: passwordHit.Question, Score: 0.9}, {ID: "invoice", Question: invoiceHit.Question, Score: 0.2}},
		}
		if diff := cmp.Diff(want, d); diff != "" {
			t.Fatalf("Decide (-want +got):\n%s", diff)
		}
	})
	t.Run("escalation drafts a near miss", func(t *testing.T) {
		p := MustPolicy(t, &fakeRetriever{hits: hits(0.3, 0.2), threshold: threshold}, nil)
		d, _ := p.Decide(context.Background(), bot.Query{Text: "pwd"})
		if got, want := d.Draft, passwordHit.Answer; got != want {
			t.Fatalf("Draft = %q, want %q", got, want)
		}
		if len(d.Candidates) != 2 {
			t.Fatalf("Candidates = %v, want 2", d.Candidates)
		}
	})
	t.Run("escalation without a draft for a far miss", func(t *testing.T) {
		p := MustPolicy(t, &fakeRetriever{hits: hits(0.2, 0.1), threshold: threshold}, nil)
		d, _ := p.Decide(context.Background(), bot.Query{Text: "gift cards"})
		if d.Draft != "" {
			t.Fatalf("Draft = %q, want none", d.Draft)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		p := MustPolicy(t, &fakeRetriever{hits: hits(0.9, 0.2), threshold: threshold}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Decide(ctx, bot.Query{Text: "x"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Decide error = %v, want context.Canceled", err)
		}
	})
}

func TestHumanRequest(t *testing.T) {
	t.Parallel()
	p := MustPolicy(t, &fakeRetriever{hits: hits(0.9, 0.2), threshold: threshold}, func(p *policy.Policy) { p.SensitiveTopics = nil })
	positives := []string{
		"I want to talk to a human",
		"Can I speak with a real person please?",
		"let me speak to your manager",
		"agent",
		"Human please",
		"representative!",
		"hi\nagent",
		"connect me to an agent",
		"please transfer me to customer service representative",
		"Is there a person I can talk to?",
		"I need a human",
		"i need an agent now",
		"put me through to someone who can help",
		"get me a real person",
		"LIVE AGENT",
		"can I chat with someone from support",
		"Why can't I talk to a human?!",
		"I don't want a bot, I want a person",
		"escalate this to a supervisor",
	}
	negatives := []string{
		"How do I reset my password?",
		"How do I add an agent to my team?",
		"Is the export human-readable?",
		"I talked to support yesterday about my password",
		"I don't need a human, just tell me how to reset my password",
		"no need to talk to someone, how do I reset my password",
		"How do I transfer money to a person?",
		"Our agents can't log in",
		"Can my team chat with customers?",
		"personal settings",
		"humanity",
	}
	for _, text := range positives {
		d, err := p.Decide(context.Background(), bot.Query{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != bot.ReasonHumanRequested {
			t.Errorf("%q: reason %q, want %q", text, d.Reason, bot.ReasonHumanRequested)
		}
	}
	for _, text := range negatives {
		d, err := p.Decide(context.Background(), bot.Query{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason == bot.ReasonHumanRequested {
			t.Errorf("%q: taken for a request for a person", text)
		}
	}
}

func TestSimilarity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"How do I reset my password?", "how do i reset my password??", 1},
		{"How do I reset my password?", "I still can't reset my password!", 1},
		{"How do I reset my password?", "reset password for my account", 2.0 / 3},
		{"How do I reset my password?", "Where are my invoices?", 0},
		{"", "anything", 0},
		{"the and of", "the and of", 0},
	} {
		if got := policy.Similarity(tc.a, tc.b); got != tc.want {
			t.Errorf("Similarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	r := &fakeRetriever{}
	for _, tc := range []struct {
		name string
		p    *policy.Policy
		want string
	}{
		{"no retriever", &policy.Policy{}, "no retriever"},
		{"unknown mode", &policy.Policy{Retriever: r, Mode: "sometimes"}, `unknown llm mode "sometimes"`},
		{"mode without answerer", &policy.Policy{Retriever: r, Mode: policy.ModeAlways}, "needs an answerer"},
		{"min confidence", &policy.Policy{Retriever: r, MinConfidence: 1.5}, "min confidence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Init()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Init() = %v, want an error containing %q", err, tc.want)
			}
			d, err := tc.p.Decide(context.Background(), bot.Query{Text: "x"})
			if err != nil || d.Action != bot.ActionEscalate {
				t.Fatalf("Decide on a bad policy = %+v, %v; want an escalation", d, err)
			}
		})
	}
	if err := (&policy.Policy{Retriever: r}).Init(); err != nil {
		t.Fatalf("zero policy: Init() = %v", err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	ids := []string{"password", "invoice"}
	for _, tc := range []struct {
		name, content string
		want          policy.Output
		wantErr       string
	}{
		{name: "answer", content: `{"action":"answer","answer":"Use the link.","cited_faq_ids":["password"],"confidence":0.9,"reason":"r","summary":"s"}`,
			want: policy.Output{Action: bot.ActionAnswer, Answer: "Use the link.", CitedFAQIDs: []string{"password"}, Confidence: 0.9, Reason: "r", Summary: "s"}},
		{name: "fenced", content: "```json\n{\"action\":\"answer\",\"answer\":\"A\",\"cited_faq_ids\":[\"invoice\",\"invoice\"],\"confidence\":1}\n```",
			want: policy.Output{Action: bot.ActionAnswer, Answer: "A", CitedFAQIDs: []string{"invoice"}, Confidence: 1}},
		{name: "prose around", content: "Sure! Here it is:\n```\n{\"action\":\"Escalate\",\"reason\":\"no entry\"}\n``` hope it helps",
			want: policy.Output{Action: bot.ActionEscalate, Reason: "no entry"}},
		{name: "bare object after prose", content: `Decision: {"action":"escalate","cited_faq_ids":["nope"],"confidence":7}`,
			want: policy.Output{Action: bot.ActionEscalate, Confidence: 1}},
		{name: "not JSON", content: "Your refund is approved.", wantErr: "no JSON object"},
		{name: "truncated", content: `{"action":"answer","answer":"Use the`, wantErr: "decode reply"},
		{name: "unknown action", content: `{"action":"refund","answer":"ok","cited_faq_ids":["password"],"confidence":1}`, wantErr: "neither answer nor escalate"},
		{name: "empty answer", content: `{"action":"answer","answer":"  ","cited_faq_ids":["password"],"confidence":1}`, wantErr: "empty answer"},
		{name: "unknown id", content: `{"action":"answer","answer":"ok","cited_faq_ids":["password","refund-approved"],"confidence":1}`, wantErr: "refund-approved"},
		{name: "no citation", content: `{"action":"answer","answer":"ok","cited_faq_ids":[],"confidence":1}`, wantErr: "cites no FAQ entry"},
		{name: "no confidence", content: `{"action":"answer","answer":"ok","cited_faq_ids":["password"]}`, wantErr: "no confidence"},
		{name: "confidence above 1", content: `{"action":"answer","answer":"ok","cited_faq_ids":["password"],"confidence":85}`, wantErr: "not in [0, 1]"},
		{name: "negative confidence", content: `{"action":"answer","answer":"ok","cited_faq_ids":["password"],"confidence":-0.1}`, wantErr: "not in [0, 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.Parse(tc.content, ids)
			if tc.wantErr != "" {
				if !errors.Is(err, policy.ErrInvalidOutput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want ErrInvalidOutput containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}
