package faq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MatcherVersion names the matcher's features, training and scoring. It is
// part of the cache key: a change to any of them must change it.
const MatcherVersion = "lr-ngram-cov-4"

// DefaultThreshold is the confidence at or above which the matcher answers;
// below it a question is out of scope. It was chosen on CLINC150's
// validation split and checked on BANKING77 (docs/MATCHER.md).
const DefaultThreshold = 0.5

// Options configures a Matcher. The zero value is the default.
type Options struct {
	// Threshold is the confidence at or above which a question is in
	// scope; 0 means DefaultThreshold.
	Threshold float64
}

// Match is an FAQ entry and the confidence, in [0, 1], that it answers a
// question.
type Match struct {
	Entry Entry
	Score float64
}

// Result is the matcher's decision on one question.
type Result struct {
	// Matches are the top-k entries, best first.
	Matches []Match
	// Best is Matches[0] (the zero Match when there are none).
	Best Match
	// InScope reports whether Best.Score is at or above the threshold: the
	// bot may answer with Best.Entry. Otherwise it must escalate.
	InScope bool
}

// Info describes a built Matcher.
type Info struct {
	Entries   int           // entries (classes)
	Examples  int           // training texts: questions and examples
	Features  int           // distinct features the classifier uses
	KBHash    string        // KB.Hash of the knowledge base
	BuildTime time.Duration // time to train, or to load from the cache
	Cached    bool          // loaded from the cache rather than trained
	// CacheErr says why BuildCached could not use or update its cache (a
	// corrupt file, a read-only directory); nil when it could. The matcher
	// works either way.
	CacheErr error
}

// Matcher maps a question to the FAQ entries that answer it. It is built
// once (Build, or BuildCached) and is then read-only and safe for
// concurrent use.
type Matcher struct {
	kb        *KB
	entries   []Entry // sorted by id: entries[c] is class c
	model     *ensemble
	threshold float64
	info      Info
	scratch   *sync.Pool // of *scratch
}

// ErrEmptyKB is returned by Build for a nil or empty knowledge base.
var ErrEmptyKB = errors.New("empty knowledge base")

// Build trains a matcher on kb's questions and examples, using two cores:
// about 6 s for 15,000 texts, milliseconds for a few hundred. It honours
// ctx; BuildCached and Live avoid waiting for it.
func Build(ctx context.Context, kb *KB, opts Options) (*Matcher, error) {
	return build(ctx, kb, opts, defaultTrainConfig())
}

func build(ctx context.Context, kb *KB, opts Options, cfg trainConfig) (*Matcher, error) {
	if kb == nil || len(kb.Entries) == 0 {
		return nil, fmt.Errorf("build matcher: %w", ErrEmptyKB)
	}
	start := time.Now()
	entries := sortedByID(kb.Entries)
	cfg = cfg.forKB(kb.phrasings(), len(entries))
	var data []example
	for c, e := range entries {
		data = append(data, example{e.Question, int32(c), 1})
		for _, x := range e.Examples {
			data = append(data, example{x, int32(c), 1})
		}
		if n := 1 + len(e.Examples); cfg.AnswerWeight > 0 && n <= cfg.AnswerUpTo && e.Answer != "" {
			// The fewer phrasings an entry has, the more its answer counts.
			data = append(data, example{e.Answer, int32(c), cfg.AnswerWeight / float32(n)})
		}
	}
	// With one entry a softmax has nothing to contrast it with and learns
	// nothing: an empty second class stands in for "anything else".
	mod, err := trainEnsemble(ctx, cfg, max(len(entries), 2), data)
	if err != nil {
		return nil, fmt.Errorf("build matcher: %w", err)
	}
	m := newMatcher(kb, entries, mod, opts)
	m.info.BuildTime = time.Since(start)
	return m, nil
}

func newMatcher(kb *KB, entries []Entry, mod *ensemble, opts Options) *Matcher {
	m := &Matcher{
		kb:        kb,
		entries:   entries,
		model:     mod,
		threshold: cmp.Or(opts.Threshold, DefaultThreshold),
		scratch:   &sync.Pool{New: func() any { return mod.newScratch() }},
	}
	m.info = Info{Entries: len(entries), KBHash: kb.Hash()}
	for _, c := range mod.members {
		m.info.Features += len(c.idf)
	}
	for _, e := range entries {
		m.info.Examples += 1 + len(e.Examples)
	}
	mod.setDensity(m.info.Examples, len(entries))
	return m
}

// KB returns the knowledge base the matcher answers from.
func (m *Matcher) KB() *KB { return m.kb }

// Threshold returns the confidence at or above which Decide answers.
func (m *Matcher) Threshold() float64 { return m.threshold }

// Info describes the matcher.
func (m *Matcher) Info() Info { return m.info }

// WithThreshold returns a matcher that shares m's model but decides at
// threshold t (0: DefaultThreshold).
func (m *Matcher) WithThreshold(t float64) *Matcher {
	c := *m
	c.threshold = cmp.Or(t, DefaultThreshold)
	return &c
}

// Match returns the k entries most likely to answer text, best first, with
// their confidence. k is at least 1 and at most the number of entries. Text
// beyond MaxInputBytes is ignored, and text with nothing to match (empty,
// punctuation, invalid UTF-8) yields scores of 0.
func (m *Matcher) Match(text string, k int) []Match {
	k = min(max(k, 1), len(m.entries))
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	m.model.topK(s, text, k, len(m.entries))
	out := make([]Match, len(s.top))
	for i, c := range s.top {
		out[i] = Match{Entry: m.entries[c], Score: float64(s.conf[c])}
	}
	return out
}

// Decide matches text and reports the top-k entries, the best one, and
// whether it is in scope at the matcher's threshold.
func (m *Matcher) Decide(text string, k int) Result {
	ms := m.Match(text, k)
	r := Result{Matches: ms}
	if len(ms) > 0 {
		r.Best = ms[0]
		r.InScope = ms[0].Score >= m.threshold
	}
	return r
}
