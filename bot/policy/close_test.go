package policy_test

import (
	"context"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
	"github.com/supportbot/supportbot/faq"
)

// matcherRetriever serves a real matcher to the policy.
type matcherRetriever struct{ m *faq.Matcher }

func (r matcherRetriever) Retrieve(text string, k int) ([]policy.Hit, float64, bool) {
	var hits []policy.Hit
	for _, x := range r.m.Match(text, k) {
		hits = append(hits, policy.Hit{ID: x.Entry.ID, Question: x.Entry.Question, Answer: x.Entry.Answer, Score: x.Score})
	}
	return hits, r.m.Threshold(), true
}

func TestCloseCall(t *testing.T) {
	t.Parallel()
	near := []policy.Hit{withScore(passwordHit, 0.93), withScore(invoiceHit, 0.915)}
	for _, tc := range []struct {
		name       string
		hits       []policy.Hit
		configure  func(*policy.Policy)
		wantAction bot.Action
		wantReason string
	}{
		{"close call escalates", near, nil, bot.ActionEscalate, bot.ReasonAmbiguous},
		{"a clear winner is answered", []policy.Hit{withScore(passwordHit, 0.93), withScore(invoiceHit, 0.80)}, nil, bot.ActionAnswer, ""},
		{"margin off", near, func(p *policy.Policy) { p.CloseMargin = -1 }, bot.ActionAnswer, ""},
		{"one entry", near[:1], nil, bot.ActionAnswer, ""},
		{"below the threshold: out of scope", []policy.Hit{withScore(passwordHit, 0.45), withScore(invoiceHit, 0.44)}, nil, bot.ActionEscalate, bot.ReasonOutOfScope},
		{"top k of 1 still sees the second", near, func(p *policy.Policy) { p.TopK = 1 }, bot.ActionEscalate, bot.ReasonAmbiguous},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := MustPolicy(t, &fakeRetriever{hits: tc.hits, threshold: threshold}, tc.configure)
			d, err := p.Decide(context.Background(), bot.Query{Text: "a question"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != tc.wantAction || d.Reason != tc.wantReason {
				t.Fatalf("Decide = %s/%s (%s), want %s/%s", d.Action, d.Reason, d.Detail, tc.wantAction, tc.wantReason)
			}
			if tc.wantReason == bot.ReasonAmbiguous {
				if len(d.Options) != 2 || d.Options[0].ID != "password" || d.Options[1].ID != "invoice" || d.Answer != "" {
					t.Fatalf("Decide = %+v, want both entries as options and no answer", d)
				}
			}
		})
	}
	t.Run("fallback asks the model to choose", func(t *testing.T) {
		t.Parallel()
		asked := 0
		p := MustPolicy(t, &fakeRetriever{hits: near, threshold: threshold}, func(p *policy.Policy) {
			p.Mode = policy.ModeFallback
			p.Answerer = bot.AnswererFunc(func(_ context.Context, req bot.LLMRequest) (bot.LLMResponse, error) {
				asked++
				return bot.LLMResponse{Content: decision("answer", "Under Settings, Billing.", []string{"invoice"}, 0.9)}, nil
			})
		})
		d, err := p.Decide(context.Background(), bot.Query{Text: "a question"})
		if err != nil {
			t.Fatal(err)
		}
		if asked != 1 || d.Action != bot.ActionAnswer || d.FAQIDs[0] != "invoice" {
			t.Fatalf("Decide = %+v after %d calls, want the model's choice", d, asked)
		}
	})
}

// TestRefundInvoiceCloseCall: issue 15's example on the embedded knowledge
// base; the invoices entry edges out refunds, and must not be sent.
func TestRefundInvoiceCloseCall(t *testing.T) {
	t.Parallel()
	m, err := faq.Build(context.Background(), faq.DefaultKB(), faq.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := MustPolicy(t, matcherRetriever{m}, func(p *policy.Policy) { p.SensitiveTopics = nil })
	d, err := p.Decide(context.Background(), bot.Query{Text: "How can I get a refund for my last invoice?"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Action == bot.ActionAnswer && d.FAQIDs[0] == "invoices" {
		t.Fatalf("Decide = %+v, want no answer from the invoices entry", d)
	}
	t.Logf("decision %s/%s: %s", d.Action, d.Reason, d.Detail)
}
