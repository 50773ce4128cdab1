package articles

import (
	"os"
	"testing"
)

const evalDir = "../../../shared/eval/articles"

func TestDevFigures(t *testing.T) {
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
	ix := Build(as, Options{})
	r := Evaluate(ix, cases)
	t.Logf("%d passages: %+v", ix.Passages(), r)
}

func TestDevSweep(t *testing.T) {
	if _, err := os.Stat(evalDir); err != nil || os.Getenv("ARTICLES_SWEEP") == "" {
		t.Skip("set ARTICLES_SWEEP=1")
	}
	as, _ := Load(evalDir + "/articles")
	cases, _ := LoadCases(evalDir + "/dev.jsonl")
	for _, o := range []Options{{}, {MaxPassageWords: 80}, {MaxPassageWords: 200}, {MaxPassageWords: 1000}, {TitleBoost: 1}, {TitleBoost: 3}, {HeadingBoost: 2}, {HeadingBoost: 0.5}, {B: 0.75}, {B: 0.3}, {K1: 2}} {
		ix := Build(as, o)
		r := Evaluate(ix, cases)
		t.Logf("%+v: r1 %.3f r5 %.3f r10 %.3f", o, r.RecallAt1, r.RecallAt5, r.RecallAt10)
	}
	for _, o := range []Options{{}, {MaxPassageWords: 200}, {MaxPassageWords: 200, TitleBoost: 1}, {MaxPassageWords: 200, TitleBoost: 3}} {
		ix := Build(as, o)
		for _, th := range []float64{0.2, 0.25, 0.3, 0.35, 0.4} {
			ix.opts.Threshold = th
			r := Evaluate(ix, cases)
			t.Logf("%d words, title %.0f, threshold %.2f: answered right %.3f escalated unanswerable %.3f", ix.opts.MaxPassageWords, ix.opts.TitleBoost, th, r.AnsweredCorrect, r.EscalatedUnanswerable)
		}
	}
}
