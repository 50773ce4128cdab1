package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/prompts"
)

// Output is the LLM's decision, as the policy accepts it after checking.
type Output struct {
	Action      bot.Action
	Answer      string
	CitedFAQIDs []string
	Confidence  float64
	Reason      string
	Summary     string
}

// ErrInvalidOutput means the LLM's reply broke the response contract: not
// JSON, an unknown action, an empty answer, a cited id that was not among
// the entries given, or a confidence outside [0, 1].
var ErrInvalidOutput = errors.New("invalid llm output")

// ErrBreakerOpen means the circuit breaker is open: the LLM failed too
// often recently, and no call was made.
var ErrBreakerOpen = errors.New("llm circuit breaker open")

// Outcomes of an LLM call, as reported to an Observer.
const (
	OutcomeOK          = "ok"           // a reply that passed the checks
	OutcomeInvalid     = "invalid"      // a reply that failed them
	OutcomeRateLimited = "rate_limited" // a Retry-After from the server
	OutcomeTimeout     = "timeout"      // the call ran out of time
	OutcomeRejected    = "rejected"     // a permanent error (bad request, key, model)
	OutcomeError       = "error"        // any other failure (5xx, transport)
	OutcomeBreakerOpen = "breaker_open" // no call: the breaker is open
)

// LLMCall describes one LLM call (or one call skipped by the breaker).
type LLMCall struct {
	Outcome          string // one of the Outcome* constants
	Attempt          int    // 1 for the first call of a turn
	Latency          time.Duration
	PromptTokens     int
	CompletionTokens int
	Err              error // nil when Outcome is OutcomeOK
}

// Observer is told about LLM calls, for metrics. ObserveLLM must be quick
// and safe for concurrent use.
type Observer interface {
	ObserveLLM(LLMCall)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(LLMCall)

// ObserveLLM calls f.
func (f ObserverFunc) ObserveLLM(c LLMCall) { f(c) }

// BreakerOpen reports whether the circuit breaker stops LLM calls now.
func (p *Policy) BreakerOpen() bool {
	if p.Init() != nil {
		return false
	}
	return p.breaker.isOpen(p.Now())
}

// ask renders the prompts, calls the LLM with retries within LLMTimeout and
// checks the reply. It returns ErrBreakerOpen without a call when the
// breaker is open, an error wrapping ErrInvalidOutput for a reply that
// fails the checks, and the last call's error when the LLM is unavailable.
func (p *Policy) ask(ctx context.Context, q bot.Query, hits []Hit) (Output, error) {
	data := prompts.Data{Subject: q.Subject, Message: q.Text}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
		if ps := h.Passage; ps != nil {
			data.Passages = append(data.Passages, prompts.Passage{ID: ps.ID, Title: ps.Title, Heading: ps.Heading, URL: ps.URL, Text: ps.Text})
			continue
		}
		data.Entries = append(data.Entries, prompts.Entry{ID: h.ID, Question: h.Question, Answer: h.Answer})
	}
	if n := len(q.History); n > p.HistoryTurns {
		data.History = q.History[n-p.HistoryTurns:]
	} else {
		data.History = q.History
	}
	system, user, err := p.Prompts.Render(data)
	if err != nil {
		return Output{}, fmt.Errorf("ask llm: %w", err)
	}
	allowed, trial := p.breaker.allow(p.Now())
	if !allowed {
		p.observe(LLMCall{Outcome: OutcomeBreakerOpen, Err: ErrBreakerOpen})
		return Output{}, ErrBreakerOpen
	}
	req := bot.LLMRequest{System: system, User: user, Schema: Schema(ids), SchemaName: SchemaName, MaxTokens: p.MaxTokens}
	bctx, cancel := context.WithTimeout(ctx, p.LLMTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		resp, err := p.Answerer.Complete(bctx, req)
		call := LLMCall{Attempt: attempt, Latency: resp.Latency, PromptTokens: resp.PromptTokens, CompletionTokens: resp.CompletionTokens}
		if err == nil {
			// The server answered: it is available, whatever the content.
			p.breaker.success()
			out, err := Parse(resp.Content, ids)
			call.Outcome, call.Err = OutcomeOK, err
			if err != nil {
				call.Outcome = OutcomeInvalid
			}
			p.observe(call)
			return out, err
		}
		call.Err = err
		delay, hasDelay := bot.RetryDelay(err)
		switch {
		case ctx.Err() != nil:
			p.breaker.release(trial)
			return Output{}, ctx.Err()
		case bctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			call.Outcome = OutcomeTimeout
		case bot.IsPermanent(err):
			call.Outcome = OutcomeRejected
		case hasDelay:
			call.Outcome = OutcomeRateLimited
		default:
			call.Outcome = OutcomeError
		}
		p.observe(call)
		if !p.retry(bctx, call.Outcome, attempt, delay, hasDelay) {
			if ctx.Err() != nil { // cancelled while waiting to retry
				p.breaker.release(trial)
				return Output{}, ctx.Err()
			}
			p.breaker.failure(p.Now())
			return Output{}, fmt.Errorf("ask llm (attempt %d): %w", attempt, err)
		}
	}
}

// retry waits before the next attempt and reports whether to make it.
func (p *Policy) retry(ctx context.Context, outcome string, attempt int, retryAfter time.Duration, hasRetryAfter bool) bool {
	if outcome == OutcomeRejected || attempt > max(p.MaxRetries, 0) {
		return false
	}
	delay := p.backoff(attempt)
	if hasRetryAfter {
		if retryAfter > p.MaxRetryAfter {
			return false // the server wants more time than a turn may wait
		}
		delay = retryAfter
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= delay {
		return false // the next try could not finish in the budget
	}
	return p.SleepFunc(ctx, delay) == nil
}

// backoff is the wait before retry n (1-based): RetryBase doubling up to
// RetryMax, with jitter so that workers do not retry in step.
func (p *Policy) backoff(n int) time.Duration {
	d := p.RetryBase << min(n-1, 16)
	if d <= 0 || d > p.RetryMax {
		d = p.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

func (p *Policy) observe(c LLMCall) {
	if p.Observer != nil {
		p.Observer.ObserveLLM(c)
	}
}

// SchemaName names the response schema in requests.
const SchemaName = "support_decision"

// Schema returns the JSON schema of the LLM's reply, with the cited ids
// restricted to ids (the entries the model was given). It is strict-mode
// compatible: every property required, no additional properties.
func Schema(ids []string) json.RawMessage {
	cited := map[string]any{"type": "string"}
	if len(ids) > 0 {
		cited["enum"] = ids
	}
	s := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"action", "answer", "cited_faq_ids", "confidence", "reason", "summary"},
		"properties": map[string]any{
			"action":        map[string]any{"type": "string", "enum": []string{"answer", "escalate"}},
			"answer":        map[string]any{"type": "string", "description": "The reply to the customer; empty when escalating."},
			"cited_faq_ids": map[string]any{"type": "array", "items": cited, "description": "Ids of the FAQ entries the answer is based on."},
			"confidence":    map[string]any{"type": "number", "description": "How sure you are that the answer is right, from 0 to 1."},
			"reason":        map[string]any{"type": "string", "description": "Why you answered or escalated, for the support team."},
			"summary":       map[string]any{"type": "string", "description": "What the customer wants, for a human agent."},
		},
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// reply is the wire form of the LLM's reply.
type reply struct {
	Action      string   `json:"action"`
	Answer      string   `json:"answer"`
	CitedFAQIDs []string `json:"cited_faq_ids"`
	Confidence  *float64 `json:"confidence"`
	Reason      string   `json:"reason"`
	Summary     string   `json:"summary"`
}

// Limits on the free-text fields that reach agents.
const (
	maxReason  = 500
	maxSummary = 1500
)

// Parse reads and checks the LLM's reply. content is JSON, possibly in a
// ```json fence or after some prose (for servers that ignore the response
// format). An answer must be non-empty, cite at least one of ids and only
// ids, and carry a confidence in [0, 1]. An escalation is accepted even when
// its other fields are off: escalating is always safe. Errors wrap
// ErrInvalidOutput.
func Parse(content string, ids []string) (Output, error) {
	var r reply
	if err := decodeJSON(content, &r); err != nil {
		return Output{}, fmt.Errorf("%w: %w", ErrInvalidOutput, err)
	}
	out := Output{
		Action:  bot.Action(strings.ToLower(strings.TrimSpace(r.Action))),
		Answer:  strings.TrimSpace(r.Answer),
		Reason:  bot.Clip(strings.TrimSpace(r.Reason), maxReason),
		Summary: bot.Clip(strings.TrimSpace(r.Summary), maxSummary),
	}
	if r.Confidence != nil {
		out.Confidence = *r.Confidence
	}
	var unknown []string
	for _, id := range r.CitedFAQIDs {
		switch {
		case !slices.Contains(ids, id):
			unknown = append(unknown, id)
		case !slices.Contains(out.CitedFAQIDs, id):
			out.CitedFAQIDs = append(out.CitedFAQIDs, id)
		}
	}
	switch out.Action {
	case bot.ActionEscalate:
		out.Confidence = min(max(out.Confidence, 0), 1)
		return out, nil
	case bot.ActionAnswer:
	default:
		return Output{}, fmt.Errorf("%w: action %q is neither answer nor escalate", ErrInvalidOutput, bot.Clip(r.Action, 40))
	}
	switch {
	case out.Answer == "":
		return Output{}, fmt.Errorf("%w: empty answer", ErrInvalidOutput)
	case len(unknown) > 0:
		return Output{}, fmt.Errorf("%w: %w", ErrInvalidOutput, &unknownCitationError{unknown})
	case len(out.CitedFAQIDs) == 0:
		return Output{}, fmt.Errorf("%w: the answer cites no FAQ entry", ErrInvalidOutput)
	case r.Confidence == nil:
		return Output{}, fmt.Errorf("%w: no confidence", ErrInvalidOutput)
	case math.IsNaN(out.Confidence) || out.Confidence < 0 || out.Confidence > 1:
		return Output{}, fmt.Errorf("%w: confidence %v is not in [0, 1]", ErrInvalidOutput, out.Confidence)
	}
	return out, nil
}

// decodeJSON decodes the first JSON object in content into v, skipping a
// Markdown code fence or prose around it.
func decodeJSON(content string, v any) error {
	s := strings.TrimSpace(content)
	if i := strings.Index(s, "```"); i >= 0 {
		rest := s[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 && !strings.Contains(rest[:nl], "{") {
			rest = rest[nl+1:] // the info string: ```json
		}
		if j := strings.Index(rest, "```"); j >= 0 {
			rest = rest[:j]
		}
		s = rest
	}
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return errors.New("no JSON object in the reply")
	}
	if err := json.NewDecoder(strings.NewReader(s[i:])).Decode(v); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	return nil
}
