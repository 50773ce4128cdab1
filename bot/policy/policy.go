// Package policy is supportbot's answer-or-escalate decision. For each
// customer turn it retrieves the closest FAQ entries, applies the escalation
// rules (a request for a person, sensitive topics, tags and priorities, a
// repeated question, too many failed turns), and then answers only from an
// entry it is confident in: the local matcher's, or, when an LLM is
// configured, the model's answer after the policy has checked it, against
// the response contract and against the entries it cites (ground.go). On
// any LLM failure it falls back to the local matcher or escalates; it never
// sends an unchecked answer. When the two best entries are too close to
// choose, the matcher does not pick one (reason ambiguous).
package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/prompts"
)

// Hit is one retrieved FAQ entry with its calibrated confidence in [0, 1].
type Hit struct {
	ID       string
	Question string
	Answer   string
	Tags     []string
	Score    float64
	// Passage is set when the hit is an article passage shown to the LLM.
	Passage *Passage
}

// Retriever returns the top-k FAQ entries for a text, best first, and the
// confidence at or above which the best one may be sent. ready is false
// while the index is being built; the policy then escalates rather than guess.
type Retriever interface {
	Retrieve(text string, k int) (hits []Hit, threshold float64, ready bool)
}

// Mode says when the policy asks the LLM.
type Mode string

// Modes of the LLM.
const (
	// ModeOff decides with the local matcher only.
	ModeOff Mode = "off"
	// ModeFallback asks the LLM only when the matcher is unsure: its best
	// score is below the threshold, or less than UnsureBand above it.
	ModeFallback Mode = "fallback"
	// ModeAlways asks the LLM about every turn that no rule escalates.
	ModeAlways Mode = "always"
)

// Defaults for Policy's zero values.
const (
	DefaultTopK             = 3
	DefaultRepeatSimilarity = 0.6
	DefaultMinConfidence    = 0.6
	DefaultUnsureBand       = 0.15
	DefaultLLMTimeout       = 30 * time.Second
	DefaultMaxRetries       = 2
	DefaultRetryBase        = 250 * time.Millisecond
	DefaultRetryMax         = 2 * time.Second
	DefaultMaxRetryAfter    = 5 * time.Second
	DefaultBreakerFailures  = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultHistoryTurns     = 6
	DefaultMaxTokens        = 600
	DefaultMinRelevance     = 0.5
	DefaultCloseMargin      = 0.02
)

// Policy implements bot.Decider over a Retriever and, optionally, an LLM.
// Set the fields, then call Init (Decide calls it on first use otherwise).
// For the numeric knobs, zero means the default and a negative value turns
// the rule off (RepeatSimilarity, UnsureBand, MaxRetries,
// BreakerFailures).
type Policy struct {
	Retriever Retriever
	// TopK entries are considered, given to the LLM and shown to agents
	// (default DefaultTopK).
	TopK int
	// SensitiveTopics are words or phrases that always go to a person when
	// the customer's turn (or, on the first turn, the subject) mentions one.
	SensitiveTopics []string
	// SensitiveTags are ticket tags, and EscalatePriorities ticket
	// priorities, that always go to a person.
	SensitiveTags      []string
	EscalatePriorities []string
	// RepeatSimilarity is the token overlap (see Similarity) at or above
	// which a turn repeats the customer's question that the bot answered
	// last; default DefaultRepeatSimilarity.
	RepeatSimilarity float64

	// Mode says when to ask the LLM (default ModeOff).
	Mode Mode
	// Answerer is the LLM; required unless Mode is off.
	Answerer bot.Answerer
	// Prompts renders the LLM's prompts (default prompts.Default()).
	Prompts *prompts.Set
	// MinConfidence is the LLM confidence below which its answer goes to an
	// agent as a draft instead of to the customer (default DefaultMinConfidence).
	MinConfidence float64
	// UnsureBand widens, in ModeFallback, the range of matcher scores the
	// LLM is asked about to [0, threshold+UnsureBand) (default DefaultUnsureBand).
	UnsureBand float64
	// LLMTimeout bounds all of one turn's LLM calls, retries and waits
	// included (default DefaultLLMTimeout).
	LLMTimeout time.Duration
	// MaxRetries is the number of quick retries after a retryable failure
	// (default DefaultMaxRetries). Backoff starts at RetryBase and doubles up
	// to RetryMax, with jitter; a Retry-After longer than MaxRetryAfter, or
	// than the time left, ends the retries.
	MaxRetries    int
	RetryBase     time.Duration
	RetryMax      time.Duration
	MaxRetryAfter time.Duration
	// BreakerFailures consecutive failed turns open the circuit breaker for
	// BreakerCooldown: no LLM calls are made meanwhile, then one trial call
	// decides whether it closes (defaults DefaultBreakerFailures and
	// DefaultBreakerCooldown); a negative BreakerFailures never opens it.
	BreakerFailures int
	BreakerCooldown time.Duration
	// HistoryTurns is how many earlier turns the LLM sees (default DefaultHistoryTurns).
	HistoryTurns int
	// MaxTokens caps the LLM's reply (default DefaultMaxTokens).
	MaxTokens int
	// MinSupport is the share of an LLM answer's content words that the
	// entries it cites must contain (see Support); an answer below it goes
	// to an agent as a draft with reason llm_ungrounded (default
	// DefaultMinSupport; negative: only links, addresses, numbers and
	// amounts and the system prompt are checked).
	MinSupport float64
	// AllowedLinks are domains ("example.com", which allows its
	// subdomains too) and URL prefixes ("https://example.com/help/") that an
	// LLM answer may link to, and e-mail domains it may write to, without
	// the cited entries containing them.
	AllowedLinks []string
	// Candidates is the number of entries the LLM is shown, independent of
	// TopK (default DefaultCandidates); a knowledge base that fits in
	// ContextBudget tokens (see EntryTokens; default DefaultContextBudget)
	// is shown whole (negative: never whole, and no cap on the candidates'
	// tokens).
	Candidates    int
	ContextBudget int
	// Embedder, when set, ranks the entries by embeddings too: the entry
	// vectors are computed once per knowledge base (and EmbeddingModel) and
	// kept in EmbeddingCacheDir when set, the question is embedded per
	// decision, and the two rankings are fused by reciprocal rank fusion.
	// On an embeddings failure the matcher's ranking is used alone.
	Embedder          bot.Embedder
	EmbeddingModel    string
	EmbeddingCacheDir string
	// CloseMargin makes a close call of two entries: when the matcher's
	// best entry would be sent but the second scores less than CloseMargin
	// below it, the local decision escalates with reason ambiguous (with
	// both entries as Options) instead of answering with the first, and in
	// ModeFallback the LLM is asked to choose (default DefaultCloseMargin,
	// measured with supportbot eval --margins; negative: off).
	CloseMargin float64
	// MinRelevance is, as a fraction of the matcher's threshold, the best
	// score below which, in ModeAlways, a turn is not given to the LLM as
	// answerable unless one of the entries it would be shown shares a
	// content word with it (see Relevant): nothing relevant was retrieved,
	// so the policy decides locally (default DefaultMinRelevance; negative:
	// always ask).
	MinRelevance float64

	// Articles, when set, retrieves help-center passages beside the FAQ
	// (articles.go); Passages of them are shown to agents and the LLM
	// (default DefaultPassages).
	Articles ArticleRetriever
	Passages int

	// Observer, when set, is told about every LLM call.
	Observer Observer
	Logger   *slog.Logger
	// Now is the clock of the circuit breaker (default time.Now).
	Now func() time.Time
	// SleepFunc waits between retries (default: a timer that stops when ctx is done).
	SleepFunc func(ctx context.Context, d time.Duration) error

	once      sync.Once
	initErr   error
	sensitive *regexp.Regexp
	breaker   breaker
	grounder  *grounder
	vecMu     sync.Mutex
	vecs      *vectors
}

var _ bot.Decider = (*Policy)(nil)

// Init checks the configuration, fills in defaults and compiles the topic
// list. It is safe to call more than once; only the first call counts.
func (p *Policy) Init() error {
	p.once.Do(func() { p.initErr = p.init() })
	return p.initErr
}

func (p *Policy) init() error {
	if p.Retriever == nil {
		return errors.New("init policy: no retriever")
	}
	p.TopK = cmp.Or(p.TopK, DefaultTopK)
	p.RepeatSimilarity = cmp.Or(p.RepeatSimilarity, DefaultRepeatSimilarity)
	p.Mode = cmp.Or(Mode(strings.ToLower(strings.TrimSpace(string(p.Mode)))), ModeOff)
	p.MinConfidence = cmp.Or(p.MinConfidence, DefaultMinConfidence)
	p.UnsureBand = cmp.Or(p.UnsureBand, DefaultUnsureBand)
	p.LLMTimeout = cmp.Or(p.LLMTimeout, DefaultLLMTimeout)
	p.MaxRetries = cmp.Or(p.MaxRetries, DefaultMaxRetries)
	p.RetryBase = cmp.Or(p.RetryBase, DefaultRetryBase)
	p.RetryMax = cmp.Or(p.RetryMax, DefaultRetryMax)
	p.MaxRetryAfter = cmp.Or(p.MaxRetryAfter, DefaultMaxRetryAfter)
	p.BreakerFailures = cmp.Or(p.BreakerFailures, DefaultBreakerFailures)
	p.BreakerCooldown = cmp.Or(p.BreakerCooldown, DefaultBreakerCooldown)
	p.HistoryTurns = cmp.Or(p.HistoryTurns, DefaultHistoryTurns)
	p.MaxTokens = cmp.Or(p.MaxTokens, DefaultMaxTokens)
	p.MinSupport = cmp.Or(p.MinSupport, DefaultMinSupport)
	p.MinRelevance = cmp.Or(p.MinRelevance, DefaultMinRelevance)
	p.Candidates = cmp.Or(p.Candidates, DefaultCandidates)
	p.CloseMargin = cmp.Or(p.CloseMargin, DefaultCloseMargin)
	p.ContextBudget = cmp.Or(p.ContextBudget, DefaultContextBudget)
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.SleepFunc == nil {
		p.SleepFunc = sleep
	}
	if p.Prompts == nil {
		p.Prompts = prompts.Default()
	}
	switch {
	case p.TopK < 0:
		return fmt.Errorf("init policy: top k %d is negative", p.TopK)
	case p.MinConfidence < 0 || p.MinConfidence > 1:
		return fmt.Errorf("init policy: min confidence %v is not in [0, 1]", p.MinConfidence)
	case p.Candidates < 0:
		return fmt.Errorf("init policy: candidates %d is negative", p.Candidates)
	case p.CloseMargin > 1:
		return fmt.Errorf("init policy: close margin %v is above 1", p.CloseMargin)
	case p.MinSupport > 1:
		return fmt.Errorf("init policy: min support %v is above 1", p.MinSupport)
	case p.RepeatSimilarity > 1:
		return fmt.Errorf("init policy: repeat similarity %v is above 1", p.RepeatSimilarity)
	case p.LLMTimeout < 0 || p.BreakerCooldown < 0 || p.RetryBase < 0 || p.RetryMax < 0 || p.MaxRetryAfter < 0:
		return errors.New("init policy: negative duration")
	}
	switch p.Mode {
	case ModeOff:
	case ModeFallback, ModeAlways:
		if p.Answerer == nil {
			return fmt.Errorf("init policy: llm mode %q needs an answerer", p.Mode)
		}
	default:
		return fmt.Errorf("init policy: unknown llm mode %q (want off, fallback or always)", p.Mode)
	}
	p.breaker = breaker{threshold: p.BreakerFailures, cooldown: p.BreakerCooldown}
	p.grounder = newGrounder(p.MinSupport, p.AllowedLinks, p.Prompts.System())
	var alts []string
	for _, t := range p.SensitiveTopics {
		if t = strings.TrimSpace(t); t != "" {
			alts = append(alts, regexp.QuoteMeta(strings.ToLower(t)))
		}
	}
	if len(alts) > 0 {
		re, err := regexp.Compile(`(?i)\b(` + strings.Join(alts, "|") + `)`)
		if err != nil {
			return fmt.Errorf("init policy: sensitive topics: %w", err)
		}
		p.sensitive = re
	}
	return nil
}

// Decide makes the decision for one turn. It never fails except on a
// cancelled context: every other problem becomes an escalation.
func (p *Policy) Decide(ctx context.Context, q bot.Query) (bot.Decision, error) {
	if err := ctx.Err(); err != nil {
		return bot.Decision{}, err
	}
	if err := p.Init(); err != nil {
		return bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonNotReady, Detail: err.Error(), Source: "policy"}, nil
	}
	k := p.retrieveK(p.Answerer != nil)
	all, threshold, ready := p.Retriever.Retrieve(q.Text, k)
	hits := all[:min(p.TopK, len(all))]
	t := turn{p: p, q: q, hits: hits, threshold: threshold}
	if len(all) > 1 {
		t.second = &all[1]
	}
	t.cands = make([]bot.Candidate, len(hits))
	for i, h := range hits {
		t.cands[i] = bot.Candidate{ID: h.ID, Question: h.Question, Score: h.Score}
	}
	if reason, detail := p.rules(q); reason != "" {
		return t.escalate(reason, detail), nil
	}
	if !ready {
		return t.escalate(bot.ReasonNotReady, "the FAQ index is still being built"), nil
	}
	t.fetchPassages(ctx)
	if !p.wantLLM(hits, threshold) && !(p.Mode == ModeFallback && p.Answerer != nil && t.close()) &&
		!(p.Answerer != nil && p.Mode != ModeOff && !t.faqConfident() && len(t.ps) > 0) {
		return t.local(bot.ReasonOutOfScope, "no FAQ entry is confident enough"), nil
	}
	t.given = p.llmCandidates(ctx, q.Text, all, k)
	if len(t.ps) > 0 && !t.faqConfident() {
		// The FAQ is unsure: the model sees the best passages beside the entries.
		t.given = append(slices.Clip(t.given), passageHits(t.ps)...)
	}
	if p.Mode == ModeAlways && !p.Relevant(q.Text, hits, threshold, t.given) {
		// Nothing relevant was retrieved: asking would invite the model
		// to answer from elsewhere.
		return t.local(bot.ReasonOutOfScope, "no FAQ entry is relevant to the question"), nil
	}
	out, err := p.ask(ctx, q, t.given)
	if ctx.Err() != nil {
		return bot.Decision{}, ctx.Err()
	}
	if uc := (*unknownCitationError)(nil); errors.As(err, &uc) && len(t.ps) > 0 {
		// A citation of a passage (or entry) the model was not given is
		// an answer from elsewhere: refused, like an ungrounded one.
		return t.escalate(bot.ReasonLLMUngrounded, "the model's answer was not sent: "+uc.Error()), nil
	}
	if err != nil {
		p.Logger.Warn("llm unavailable: deciding locally", "conversation", q.ConversationKey, "err", bot.Clip(err.Error(), 500))
		return t.local(bot.ReasonLLMUnavailable, "llm unavailable: "+bot.Clip(err.Error(), 300)), nil
	}
	return t.fromLLM(out), nil
}

// rules applies the escalation rules that need neither the matcher's
// scores nor the LLM, in priority order.
func (p *Policy) rules(q bot.Query) (reason, detail string) {
	if asksForHuman(q.Text) {
		return bot.ReasonHumanRequested, "the customer asked for a person"
	}
	if p.sensitive != nil {
		if m := p.sensitive.FindString(q.Text); m != "" {
			return bot.ReasonSensitiveTopic, "mentions " + strings.ToLower(m)
		}
		// The subject belongs to the whole ticket: it counts on the first
		// turn only, or a conversation handed back to the bot would bounce.
		if m := p.sensitive.FindString(q.Subject); m != "" && len(q.History) == 0 {
			return bot.ReasonSensitiveTopic, "subject mentions " + strings.ToLower(m)
		}
	}
	if contains(p.EscalatePriorities, q.Priority) {
		return bot.ReasonPriority, "priority " + q.Priority
	}
	for _, tag := range q.Tags {
		if contains(p.SensitiveTags, tag) {
			return bot.ReasonSensitiveTopic, "tagged " + tag
		}
	}
	if p.RepeatSimilarity > 0 {
		if prev := contentWords(previousQuestion(q.History)); len(prev) >= minRepeatTokens {
			if s := similarity(prev, contentWords(q.Text)); s >= p.RepeatSimilarity {
				return bot.ReasonRepeatedQuestion, fmt.Sprintf("the customer asked the answered question again (similarity %.2f)", s)
			}
		}
	}
	return "", ""
}

// Relevant reports whether a turn retrieved something relevant enough to
// give the LLM as answerable: the matcher's best score reaches
// MinRelevance times its threshold, or one of the entries shown to the
// model shares a content word (stemmed, function words dropped) with the
// text. On sparse knowledge bases the matcher's scores alone are too low a
// signal: measured in docs/GROUNDING.md.
func (p *Policy) Relevant(text string, hits []Hit, threshold float64, shown []Hit) bool {
	if p.MinRelevance < 0 || len(hits) > 0 && hits[0].Score >= threshold*p.MinRelevance {
		return true
	}
	words := stems(text)
	for _, h := range shown {
		for w := range stems(h.Question + "\n" + h.Answer) {
			if words[w] {
				return true
			}
		}
	}
	return false
}

// wantLLM reports whether to ask the LLM, given the matcher's hits.
func (p *Policy) wantLLM(hits []Hit, threshold float64) bool {
	if p.Answerer == nil || len(hits) == 0 {
		return false // nothing to answer from: out of scope as it stands
	}
	switch p.Mode {
	case ModeAlways:
		return true // unless nothing relevant was retrieved (Relevant)
	case ModeFallback:
		return hits[0].Score < threshold+max(p.UnsureBand, 0)
	}
	return false
}

// turn is one Decide call's state.
type turn struct {
	p         *Policy
	q         bot.Query
	hits      []Hit
	threshold float64
	cands     []bot.Candidate
	// given are the entries the LLM was shown.
	given []Hit
	// second is the matcher's second entry, retrieved even when TopK is 1.
	second *Hit
	// ps are the article passages retrieved, and psThreshold the
	// relevancy a local answer needs.
	ps          []Passage
	psThreshold float64
}

// close reports whether the matcher's best entry would be sent but the
// second is within CloseMargin of it: a close call.
func (t *turn) close() bool {
	return t.p.CloseMargin > 0 && len(t.hits) > 0 && t.second != nil &&
		t.hits[0].Score >= t.threshold && t.hits[0].Score-t.second.Score < t.p.CloseMargin
}

// escalate returns an escalation with the matcher's candidates and, when
// its best entry is at least half-way to confident, that entry as a draft.
func (t *turn) escalate(reason, detail string) bot.Decision {
	d := bot.Decision{Action: bot.ActionEscalate, Reason: reason, Detail: detail, Candidates: t.cands, Source: "policy"}
	if len(t.hits) > 0 {
		d.Confidence = t.hits[0].Score
		if t.hits[0].Score >= t.threshold/2 {
			d.Draft = t.hits[0].Answer
		}
	}
	return d
}

// local is the matcher's decision: its best entry when it is confident,
// otherwise an escalation for reason.
func (t *turn) local(reason, detail string) bot.Decision {
	if len(t.hits) == 0 || t.hits[0].Score < t.threshold {
		if d, ok := t.article(); ok {
			if reason == bot.ReasonLLMUnavailable {
				d.Detail = detail
			}
			return d
		}
		if t.p.Articles != nil && reason == bot.ReasonOutOfScope {
			detail = "no FAQ entry or article passage is confident enough"
		}
		d := t.escalate(reason, detail)
		if d.Draft == "" && len(t.ps) > 0 && t.ps[0].Relevance >= t.psThreshold/2 {
			// Half-way to confident: the passage is the agents' draft.
			d.Draft, _ = articleAnswer(t.ps[0])
		}
		return d
	}
	best := t.hits[0]
	if t.close() {
		d := t.escalate(bot.ReasonAmbiguous, fmt.Sprintf("%s (%.3f) and %s (%.3f) are too close to choose",
			best.ID, best.Score, t.second.ID, t.second.Score))
		d.Options = []bot.Candidate{t.cands[0], {ID: t.second.ID, Question: t.second.Question, Score: t.second.Score}}
		return d
	}
	if repeatedAnswer(t.q.History, best.Answer) {
		return t.escalate(bot.ReasonRepeatedQuestion, "the bot already sent this answer")
	}
	d := bot.Decision{
		Action: bot.ActionAnswer, Answer: best.Answer, FAQIDs: []string{best.ID},
		Confidence: best.Score, Candidates: t.cands, Source: "matcher",
	}
	if reason == bot.ReasonLLMUnavailable {
		d.Detail = detail
	}
	return d
}

// evidence returns the text of the entries with ids that the model was
// given: what its answer may say.
func (t *turn) evidence(ids []string) string {
	var b strings.Builder
	for _, h := range t.given {
		if slices.Contains(ids, h.ID) {
			b.WriteString(h.Question)
			b.WriteString("\n")
			b.WriteString(h.Answer)
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// fromLLM turns the LLM's checked output into a decision.
func (t *turn) fromLLM(out Output) bot.Decision {
	if out.Action == bot.ActionEscalate {
		d := t.escalate(bot.ReasonLLMEscalated, cmp.Or(out.Reason, "the language model escalated"))
		d.Summary, d.Source = out.Summary, "llm"
		// The model's draft replaces the matcher's only when it passes the
		// grounding check: an agent may send a draft with one click.
		if out.Answer != "" && t.p.grounder.check(out.Answer, t.evidence(out.CitedFAQIDs)).OK() {
			d.Draft = out.Answer
		}
		return d
	}
	if g := t.p.grounder.check(out.Answer, t.evidence(out.CitedFAQIDs)); !g.OK() {
		t.p.Logger.Warn("llm answer refused: not grounded in the cited entries", "conversation", t.q.ConversationKey,
			"faq_ids", out.CitedFAQIDs, "support", g.Support, "problems", len(g.Problems))
		d := t.escalate(bot.ReasonLLMUngrounded, "the model's answer was not sent: "+strings.Join(g.Problems, "; "))
		d.Draft, d.Summary, d.FAQIDs, d.Confidence, d.Source = out.Answer, out.Summary, out.CitedFAQIDs, out.Confidence, "llm"
		return d
	}
	if out.Confidence < t.p.MinConfidence {
		d := t.escalate(bot.ReasonLLMLowConfidence,
			fmt.Sprintf("confidence %.2f is below %.2f: %s", out.Confidence, t.p.MinConfidence, out.Reason))
		d.Draft, d.Summary, d.FAQIDs, d.Confidence, d.Source = out.Answer, out.Summary, out.CitedFAQIDs, out.Confidence, "llm"
		return d
	}
	if repeatedAnswer(t.q.History, out.Answer) {
		d := t.escalate(bot.ReasonRepeatedQuestion, "the bot already sent this answer")
		d.Draft, d.Summary, d.Source = out.Answer, out.Summary, "llm"
		return d
	}
	answer, sources := t.withSources(out.Answer, out.CitedFAQIDs)
	return bot.Decision{
		Action: bot.ActionAnswer, Answer: answer, Sources: sources, FAQIDs: out.CitedFAQIDs,
		Confidence: out.Confidence, Detail: out.Reason, Summary: out.Summary,
		Candidates: t.cands, Source: "llm",
	}
}

func contains(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, s := range list {
		if strings.EqualFold(strings.TrimSpace(s), v) {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
