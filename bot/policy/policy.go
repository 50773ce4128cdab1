// Package policy is supportbot's answer-or-escalate decision: it retrieves
// the closest FAQ entries, applies the escalation rules (a request for a
// person, sensitive topics and priorities, repeated questions, an unsure
// matcher), and answers only from an entry it is confident in.
package policy

import (
	"context"
	"regexp"
	"strings"

	"github.com/supportbot/supportbot/bot"
)

// Hit is one retrieved FAQ entry with its calibrated confidence in [0, 1].
type Hit struct {
	ID       string
	Question string
	Answer   string
	Tags     []string
	Score    float64
}

// Retriever returns the top-k FAQ entries for a text. ready is false while
// the index is being built; the policy then escalates rather than guess.
type Retriever interface {
	Retrieve(text string, k int) (hits []Hit, threshold float64, ready bool)
}

// Policy implements bot.Decider over a Retriever.
type Policy struct {
	Retriever Retriever
	// TopK entries are considered and shown to agents (default 3).
	TopK int
	// SensitiveTopics are words or phrases that always go to a person.
	SensitiveTopics []string
	// SensitiveTags are ticket tags, and EscalatePriorities ticket
	// priorities, that always go to a person.
	SensitiveTags      []string
	EscalatePriorities []string

	sensitive *regexp.Regexp
}

var _ bot.Decider = (*Policy)(nil)

// humanRequest matches a customer asking for a person.
var humanRequest = regexp.MustCompile(`(?i)\b(` +
	`(talk|speak|chat|connect|transfer|put)( me)? (to|with) (a |an |some |your )?(real |live |actual )?(human|person|agent|representative|rep|someone|somebody|operator|staff|support team)` +
	`|(real|live|actual) (human|person|agent)` +
	`|human (agent|being|please)` +
	`|(need|want) (a |an )?(human|person|agent|representative|operator)` +
	`|customer (service|support) (agent|representative|rep)` +
	`|^\s*(agent|human|operator|representative)\s*[.!?]*\s*$` +
	`)\b`)

// Init compiles the configured topic list; call it after setting fields.
func (p *Policy) Init() error {
	if p.TopK == 0 {
		p.TopK = 3
	}
	var alts []string
	for _, t := range p.SensitiveTopics {
		if t = strings.TrimSpace(t); t != "" {
			alts = append(alts, regexp.QuoteMeta(strings.ToLower(t)))
		}
	}
	if len(alts) > 0 {
		re, err := regexp.Compile(`(?i)\b(` + strings.Join(alts, "|") + `)`)
		if err != nil {
			return err
		}
		p.sensitive = re
	}
	return nil
}

// Decide makes the decision for one turn. It never fails except on a
// cancelled context.
func (p *Policy) Decide(ctx context.Context, q bot.Query) (bot.Decision, error) {
	if err := ctx.Err(); err != nil {
		return bot.Decision{}, err
	}
	hits, threshold, ready := p.Retriever.Retrieve(q.Text, p.TopK)
	cands := make([]bot.Candidate, len(hits))
	for i, h := range hits {
		cands[i] = bot.Candidate{ID: h.ID, Question: h.Question, Score: h.Score}
	}
	esc := func(reason, detail string) (bot.Decision, error) {
		d := bot.Decision{Action: bot.ActionEscalate, Reason: reason, Detail: detail, Candidates: cands, Source: "policy"}
		if len(hits) > 0 {
			d.Confidence = hits[0].Score
			if hits[0].Score >= threshold/2 {
				d.Draft = hits[0].Answer
			}
		}
		return d, nil
	}
	switch {
	case humanRequest.MatchString(q.Text):
		return esc(bot.ReasonHumanRequested, "the customer asked for a person")
	case p.sensitive != nil && p.sensitive.MatchString(q.Text):
		return esc(bot.ReasonSensitiveTopic, "mentions "+strings.ToLower(p.sensitive.FindString(q.Text)))
	case contains(p.EscalatePriorities, q.Priority):
		return esc(bot.ReasonPriority, "priority "+q.Priority)
	}
	for _, t := range q.Tags {
		if contains(p.SensitiveTags, t) {
			return esc(bot.ReasonSensitiveTopic, "tagged "+t)
		}
	}
	if !ready {
		return esc(bot.ReasonNotReady, "the FAQ index is still being built")
	}
	if len(hits) == 0 || hits[0].Score < threshold {
		return esc(bot.ReasonOutOfScope, "no FAQ entry is confident enough")
	}
	best := hits[0]
	if repeated(q.History, best.Answer) {
		return esc(bot.ReasonRepeatedQuestion, "the bot already sent this answer")
	}
	return bot.Decision{
		Action: bot.ActionAnswer, Answer: best.Answer, FAQIDs: []string{best.ID},
		Confidence: best.Score, Candidates: cands, Source: "matcher",
	}, nil
}

// repeated reports whether the bot already gave this answer in the recent
// history: the customer is asking again because it did not help.
func repeated(history []bot.Turn, answer string) bool {
	for _, t := range history {
		if t.Author == bot.AuthorBot && t.Text == answer {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}
