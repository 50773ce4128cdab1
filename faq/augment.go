package faq

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Defaults of an Augmenter.
const (
	DefaultParaphrases  = 5
	DefaultConcurrency  = 4
	DefaultAugmentTries = 4
	// MaxExampleLen caps a suggested example phrasing, in bytes: a longer
	// one is dropped, not cut (a cut question may mean something else).
	MaxExampleLen = 300
	// augmentBackoff is the first wait after a retryable error without a
	// Retry-After; it doubles up to augmentMaxBackoff.
	augmentBackoff    = time.Second
	augmentMaxBackoff = 30 * time.Second
)

// AugmentSuggester is the SuggestedBy of the suggestions Augment stores
// (followed by the model's name).
const AugmentSuggester = "faq augment"

// AugmentStore keeps what Augment produced (*sqlite.Store implements it): pending example suggestions,
// and the requests made, by hash, so that a rerun makes no call for an
// unchanged entry.
type AugmentStore interface {
	AugmentDone(ctx context.Context, hash string) (bool, error)
	// SaveAugment stores the suggestions and the request in one go and
	// returns how many suggestions were new.
	SaveAugment(ctx context.Context, rec bot.AugmentRecord, list []bot.FAQSuggestion) (int, error)
}

// AugmentPrompt renders the request for n paraphrases of e: the system and
// the user message (prompts.Set.RenderAugment).
type AugmentPrompt func(e Entry, n int) (system, user string, err error)

// Augmenter asks a language model for paraphrases of entries' questions
// and stores them as example suggestions for review; it never writes the
// knowledge base.
type Augmenter struct {
	LLM    bot.Answerer
	Store  AugmentStore
	Prompt AugmentPrompt
	// Model names the model in the cache key: another model asks again.
	Model string
	// PromptID identifies the prompt template's text in the cache key.
	PromptID string
	// N paraphrases per entry (default DefaultParaphrases).
	N int
	// Concurrency bounds the requests in flight (default DefaultConcurrency).
	Concurrency int
	// Tries bounds the attempts of one request (default DefaultAugmentTries):
	// 429, 5xx and transport errors are retried, after the server's
	// Retry-After when it sent one.
	Tries int
	// MaxTokens caps each completion (0: the server's default).
	MaxTokens int
	// SleepFunc waits d or until ctx is done; tests replace it.
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// AugmentResult is what Augment did for one entry.
type AugmentResult struct {
	EntryID string
	// Cached is set when the entry was asked about before, unchanged: no
	// call was made.
	Cached bool
	// Suggested counts the new suggestions stored; Dropped the paraphrases
	// refused by validation (empty, too long, the question itself, an
	// existing example, a repeat).
	Suggested, Dropped int
	PromptTokens       int
	CompletionTokens   int
	// Calls counts the requests made, retries included.
	Calls int
	Err   error
}

// Augment runs the requests for entries, at most Concurrency at a time, and
// returns one result per entry, in order. An entry that fails does not stop
// the others; its error is in its result. The returned error is ctx's, when
// it ended the run.
func (a *Augmenter) Augment(ctx context.Context, entries []Entry) ([]AugmentResult, error) {
	out := make([]AugmentResult, len(entries))
	sem := make(chan struct{}, cmp.Or(a.Concurrency, DefaultConcurrency))
	var wg sync.WaitGroup
	for i, e := range entries {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return out, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = a.one(ctx, e)
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

// Hash is the cache key of the request for e: the entry's id, question and
// answer, the model, the number of paraphrases and the prompt. Examples are
// left out: approving paraphrases does not make the entry new.
func (a *Augmenter) Hash(e Entry) string {
	h := sha256.New()
	for _, p := range []string{"augment-1", e.ID, strings.TrimSpace(e.Question), strings.TrimSpace(e.Answer),
		a.Model, strconv.Itoa(a.n()), a.PromptID} {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (a *Augmenter) n() int { return cmp.Or(a.N, DefaultParaphrases) }

func (a *Augmenter) one(ctx context.Context, e Entry) AugmentResult {
	res := AugmentResult{EntryID: e.ID}
	hash := a.Hash(e)
	done, err := a.Store.AugmentDone(ctx, hash)
	if err != nil {
		res.Err = err
		return res
	}
	if done {
		res.Cached = true
		return res
	}
	system, user, err := a.Prompt(e, a.n())
	if err != nil {
		res.Err = fmt.Errorf("entry %s: %w", e.ID, err)
		return res
	}
	resp, err := a.complete(ctx, bot.LLMRequest{
		System: system, User: user, MaxTokens: a.MaxTokens,
		Schema: paraphraseSchema, SchemaName: "paraphrases",
	}, &res)
	if err != nil {
		res.Err = fmt.Errorf("entry %s: %w", e.ID, err)
		return res
	}
	got, err := ParseParaphrases(resp.Content)
	if err != nil {
		res.Err = fmt.Errorf("entry %s: %w", e.ID, err)
		return res
	}
	keep := CleanExamples(e, got, a.n())
	res.Dropped = len(got) - len(keep)
	list := make([]bot.FAQSuggestion, len(keep))
	for i, q := range keep {
		list[i] = bot.FAQSuggestion{Kind: bot.SuggestionExample, EntryID: e.ID, Question: q, Answer: e.Answer,
			SuggestedBy: AugmentSuggester + " (" + cmp.Or(a.Model, "model") + ")"}
	}
	n, err := a.Store.SaveAugment(ctx, bot.AugmentRecord{
		Hash: hash, EntryID: e.ID, Model: a.Model, PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
	}, list)
	if err != nil {
		res.Err = fmt.Errorf("entry %s: %w", e.ID, err)
		return res
	}
	res.Suggested = n
	res.Dropped += len(keep) - n // suggested before
	return res
}

// complete makes the request, retrying what the error class allows; the
// tokens of every answered call are counted.
func (a *Augmenter) complete(ctx context.Context, req bot.LLMRequest, res *AugmentResult) (bot.LLMResponse, error) {
	tries := cmp.Or(a.Tries, DefaultAugmentTries)
	wait := augmentBackoff
	for attempt := 1; ; attempt++ {
		res.Calls++
		resp, err := a.LLM.Complete(ctx, req)
		res.PromptTokens += resp.PromptTokens
		res.CompletionTokens += resp.CompletionTokens
		if err == nil {
			return resp, nil
		}
		if bot.IsPermanent(err) || attempt >= tries || ctx.Err() != nil {
			return resp, fmt.Errorf("after %d attempt(s): %w", attempt, err)
		}
		d, ok := bot.RetryDelay(err)
		if !ok {
			d = wait
			wait = min(2*wait, augmentMaxBackoff)
		}
		if err := a.sleep(ctx, d); err != nil {
			return resp, err
		}
	}
}

func (a *Augmenter) sleep(ctx context.Context, d time.Duration) error {
	if a.SleepFunc != nil {
		return a.SleepFunc(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// paraphraseSchema is the response format asked for (servers that ignore
// it are read leniently by ParseParaphrases).
var paraphraseSchema = json.RawMessage(`{"type":"object","properties":{"paraphrases":{"type":"array","items":{"type":"string"}}},"required":["paraphrases"],"additionalProperties":false}`)

// errNoParaphrases means the model's reply held no paraphrase list.
var errNoParaphrases = errors.New("the model's reply holds no paraphrases")

// ParseParaphrases reads the model's reply: {"paraphrases": [...]} as
// asked, or a bare JSON list, or (from servers that ignore the response
// format) one paraphrase a line, list markers stripped; a code fence around
// any of them is allowed.
func ParseParaphrases(content string) ([]string, error) {
	s := strings.TrimSpace(content)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimPrefix(s, "json")
		s = strings.TrimSpace(strings.TrimSuffix(s, "```"))
	}
	var obj struct {
		Paraphrases []string `json:"paraphrases"`
	}
	if err := json.Unmarshal([]byte(s), &obj); err == nil && obj.Paraphrases != nil {
		return obj.Paraphrases, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err == nil {
		return list, nil
	}
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || s == "" {
		return nil, errNoParaphrases
	}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimLeft(l, "-*•0123456789.) ")
		l = strings.Trim(l, `"`)
		if l != "" {
			list = append(list, l)
		}
	}
	return list, nil
}

// CleanExamples validates proposed example phrasings of e: white space is
// collapsed; empty ones, ones longer than MaxExampleLen, and ones equal to
// e's question, to one of its examples or to an earlier one (case and
// spaces aside) are dropped; at most max are kept (max <= 0: all).
func CleanExamples(e Entry, got []string, max int) []string {
	seen := map[string]bool{bot.ExampleKey(e.Question): true}
	for _, x := range e.Examples {
		seen[bot.ExampleKey(x)] = true
	}
	var out []string
	for _, g := range got {
		g = strings.Join(strings.Fields(g), " ")
		k := bot.ExampleKey(g)
		if k == "" || len(g) > MaxExampleLen || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, g)
		if max > 0 && len(out) == max {
			break
		}
	}
	return out
}
