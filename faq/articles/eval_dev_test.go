package articles

import (
	"os"
	"strings"
	"testing"
)

// evalDir is the help-center eval set (shared/eval/articles), through the
// worktree's symlink.
const evalDir = "../../../shared/eval/articles"

func mustEvalSet(t *testing.T) ([]Article, []Case) {
	t.Helper()
	if _, err := os.Stat(evalDir); err != nil {
		t.Skip("eval set not found")
	}
	as, err := Load(evalDir + "/articles")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := LoadCases(evalDir + "/dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return as, cases
}

// TestDevFigures checks the figures on the dev questions with the
// default options: recall@5 of the lexical index at least 0.80, and the
// local mode escalating at least 0.75 of the unanswerable questions while
// answering at least 0.50 of the answerable ones with a passage of a right
// article.
func TestDevFigures(t *testing.T) {
	as, cases := mustEvalSet(t)
	ix := Build(as, Options{})
	r := Evaluate(ix, cases)
	t.Logf("%d articles, %d passages: %+v", len(as), ix.Passages(), r)
	if r.RecallAt5 < 0.80 || r.EscalatedUnanswerable < 0.75 || r.AnsweredCorrect < 0.50 {
		t.Fatalf("recall@5 %.3f (want ≥ 0.80), escalated unanswerable %.3f (≥ 0.75), answered correct %.3f (≥ 0.50)",
			r.RecallAt5, r.EscalatedUnanswerable, r.AnsweredCorrect)
	}
}

// whole returns the articles with their sections merged into one: the
// whole-article baseline.
func whole(as []Article) []Article {
	out := make([]Article, len(as))
	for i, a := range as {
		var b strings.Builder
		for _, s := range a.Sections {
			b.WriteString(strings.Join(s.Headings, " "))
			b.WriteString("\n")
			b.WriteString(s.Text)
			b.WriteString("\n")
		}
		a.Sections = []Section{{Text: b.String()}}
		out[i] = a
	}
	return out
}

// TestDevSweep prints the figures of docs/KNOWLEDGE.md: the variants of
// the index and the local mode's trade-off over thresholds.
//
//	ARTICLES_SWEEP=1 go test ./faq/articles -run TestDevSweep -v
func TestDevSweep(t *testing.T) {
	if os.Getenv("ARTICLES_SWEEP") == "" {
		t.Skip("set ARTICLES_SWEEP=1")
	}
	as, cases := mustEvalSet(t)
	for _, v := range []struct {
		name string
		as   []Article
		o    Options
	}{
		{"whole articles, no title boost", whole(as), Options{MaxPassageWords: 1 << 20, TitleBoost: 1e-9}},
		{"whole articles, title boost 2", whole(as), Options{MaxPassageWords: 1 << 20}},
		{"sections (no split), title 2", as, Options{MaxPassageWords: 1 << 20}},
		{"default: 200-word passages, title 2, heading 1", as, Options{}},
		{"120-word passages", as, Options{MaxPassageWords: 120}},
		{"80-word passages", as, Options{MaxPassageWords: 80}},
		{"title boost 1", as, Options{TitleBoost: 1}},
		{"title boost 3", as, Options{TitleBoost: 3}},
		{"heading boost 2", as, Options{HeadingBoost: 2}},
		{"b 0.75", as, Options{B: 0.75}},
		{"k1 2", as, Options{K1: 2}},
	} {
		r := Evaluate(Build(v.as, v.o), cases)
		t.Logf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f |", v.name, r.RecallAt1, r.RecallAt5, r.RecallAt10, r.AnsweredCorrect, r.EscalatedUnanswerable)
	}
	ix := Build(as, Options{})
	for _, th := range []float64{0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5} {
		ix.opts.Threshold = th
		r := Evaluate(ix, cases)
		t.Logf("| %.2f | %.3f | %.3f |", th, r.AnsweredCorrect, r.EscalatedUnanswerable)
	}
}
