package articles

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Case is one labelled question: the ids of the articles that answer it,
// none when it must be escalated. Other keys of a case file are ignored.
type Case struct {
	Q        string   `json:"q"`
	Articles []string `json:"articles"`
}

// LoadCases reads JSON Lines cases from path.
func LoadCases(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCases(f)
}

// ReadCases reads JSON Lines cases; errors name the line.
func ReadCases(r io.Reader) ([]Case, error) {
	var out []Case
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c struct {
			Q        string    `json:"q"`
			Articles *[]string `json:"articles"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if strings.TrimSpace(c.Q) == "" {
			return nil, fmt.Errorf("line %d: empty q", n)
		}
		if c.Articles == nil {
			return nil, fmt.Errorf("line %d: no articles key ([] for a question to escalate)", n)
		}
		out = append(out, Case{Q: c.Q, Articles: *c.Articles})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no cases")
	}
	return out, nil
}

// CheckCases reports a case that names an article the index does not have.
func CheckCases(ix *Index, cases []Case) error {
	for i, c := range cases {
		for _, id := range c.Articles {
			if _, ok := slices.BinarySearchFunc(ix.articles, id, func(a Article, id string) int { return strings.Compare(a.ID, id) }); !ok {
				return fmt.Errorf("case %d: no article %q", i+1, id)
			}
		}
	}
	return nil
}

// Report is the outcome of Evaluate; its JSON keys are supportbot eval
// --articles --json's.
type Report struct {
	Cases int `json:"cases"`
	// RecallAt1, 5 and 10 are the shares of answerable cases with a listed
	// article among the first 1, 5 and 10 articles retrieved.
	RecallAt1  float64 `json:"recall_at_1"`
	RecallAt5  float64 `json:"recall_at_5"`
	RecallAt10 float64 `json:"recall_at_10"`
	// AnsweredCorrect is the share of answerable cases that the local mode
	// answers with a passage of a listed article.
	AnsweredCorrect float64 `json:"answered_correct"`
	// EscalatedUnanswerable is the share of cases without an article that
	// the local mode escalates.
	EscalatedUnanswerable float64 `json:"escalated_unanswerable"`
	// P50US and P99US are retrieval latencies in microseconds.
	P50US float64 `json:"p50_us"`
	P99US float64 `json:"p99_us"`
	// Ranking is "fused" when the recall figures come from the fused
	// (lexical and embeddings) ranking, with EmbeddingModel the model and
	// EmbeddedPassages the passages embedded; empty for the lexical one.
	// The local mode's figures stay lexical either way, as in the service.
	Ranking          string `json:"ranking,omitempty"`
	EmbeddingModel   string `json:"embedding_model,omitempty"`
	EmbeddedPassages int    `json:"embedded_passages,omitempty"`
}

// Decide is the local mode's decision: the best passage when it is a
// confident match, else ok is false (escalate).
func (ix *Index) Decide(text string) (best Hit, hits []Hit, ok bool) {
	arts := ix.SearchArticles(text, 10)
	if len(arts) == 0 {
		return Hit{}, nil, false
	}
	hits = make([]Hit, len(arts))
	for i, a := range arts {
		hits[i] = a.Best
	}
	return hits[0], hits, hits[0].Relevance >= ix.opts.Threshold
}

// Evaluate runs the retrieval and the local decision on cases.
func Evaluate(ix *Index, cases []Case) Report {
	r, _ := EvaluateRank(ix, cases, func(q string) ([]ArticleHit, error) { return ix.SearchArticles(q, 10), nil })
	return r
}

// EvaluateRank is Evaluate with the recall figures and the latency taken
// from rank, which returns the best articles for a question (the fused
// ranking with embeddings: Vectors.Rank); the local decision stays ix's.
// It stops at rank's first error.
func EvaluateRank(ix *Index, cases []Case, rank func(q string) ([]ArticleHit, error)) (Report, error) {
	r := Report{Cases: len(cases)}
	var answerable, unanswerable, at1, at5, at10, right, escalated int
	lat := make([]time.Duration, 0, len(cases))
	for _, c := range cases {
		start := time.Now()
		arts, err := rank(c.Q)
		if err != nil {
			return r, err
		}
		lat = append(lat, time.Since(start))
		best, _, ok := ix.Decide(c.Q)
		if len(c.Articles) == 0 {
			unanswerable++
			if !ok {
				escalated++
			}
			continue
		}
		answerable++
		for i, a := range arts {
			if slices.Contains(c.Articles, a.Article.ID) {
				if i < 1 {
					at1++
				}
				if i < 5 {
					at5++
				}
				at10++
				break
			}
		}
		if ok && slices.Contains(c.Articles, best.Passage.Article.ID) {
			right++
		}
	}
	r.RecallAt1, r.RecallAt5, r.RecallAt10 = ratio(at1, answerable), ratio(at5, answerable), ratio(at10, answerable)
	r.AnsweredCorrect, r.EscalatedUnanswerable = ratio(right, answerable), ratio(escalated, unanswerable)
	slices.Sort(lat)
	r.P50US, r.P99US = micro(percentile(lat, 0.50)), micro(percentile(lat, 0.99))
	return r, nil
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*1000) / 1000
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(p*float64(len(sorted))))-1)]
}

func micro(d time.Duration) float64 { return math.Round(float64(d.Nanoseconds())/100) / 10 }

// WriteText prints r for people.
func (r Report) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, `cases                   %d
recall@1                %.3f
recall@5                %.3f
recall@10               %.3f
answered correct        %.3f (answerable cases answered with a passage of a right article)
escalated unanswerable  %.3f
latency p50 / p99       %.0f µs / %.0f µs
`, r.Cases, r.RecallAt1, r.RecallAt5, r.RecallAt10, r.AnsweredCorrect, r.EscalatedUnanswerable, r.P50US, r.P99US)
	if err == nil && r.Ranking != "" {
		_, err = fmt.Fprintf(w, "ranking                 %s (embeddings: %s, %d passages embedded; the local mode is lexical)\n",
			r.Ranking, r.EmbeddingModel, r.EmbeddedPassages)
	}
	return err
}
