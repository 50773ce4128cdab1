//go:build tune

package faq

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sparseSets are the few-shot knowledge bases and their cases.
var sparseSets = []tuneSet{
	{"CLINC150 k=1", "fewshot/clinc150_k1.yaml", sparseClincCases()},
	{"CLINC150 k=3", "fewshot/clinc150_k3.yaml", sparseClincCases()},
	{"CLINC150 k=5", "fewshot/clinc150_k5.yaml", sparseClincCases()},
	{"BANKING77 k=1", "fewshot/banking77_k1.yaml", []string{"banking77/val.jsonl"}},
	{"BANKING77 k=5", "fewshot/banking77_k5.yaml", []string{"banking77/val.jsonl"}},
}

// TestTuneSparse prints, per few-shot knowledge base: accuracy at the
// default threshold, OOS recall, top-1 accuracy with no threshold,
// recall at 10, and the best accuracy at OOS recall >= 0.75.
func TestTuneSparse(t *testing.T) {
	sets := sparseSets
	if testing.Short() {
		sets = sets[:3]
	}
	var out strings.Builder
	fmt.Fprintln(&out, "| set | build | acc@default | oos recall | acc0 | r@3 | r@10 | best acc (recall>=.75) | thr |")
	for _, s := range sets {
		kb := mustLoadKB(t, s.kb)
		if os.Getenv("TUNE_ANSWER") != "" {
			for i := range kb.Entries {
				kb.Entries[i].Examples = append(kb.Entries[i].Examples, kb.Entries[i].Answer)
			}
		}
		start := time.Now()
		m, err := build(context.Background(), kb, Options{}, tuneHook(defaultTrainConfig()))
		if err != nil {
			t.Fatal(err)
		}
		bt := time.Since(start)
		var cases []Case
		for _, f := range s.cases {
			cs, err := LoadCases(filepath.Join(evalDir, f))
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, cs...)
		}
		r := Evaluate(m, cases, 0)
		in, r3, r10 := 0, 0, 0
		for _, c := range cases {
			if c.FAQ == "" {
				continue
			}
			in++
			for i, x := range m.Match(c.Q, 10) {
				if x.Entry.ID == c.FAQ {
					if i < 3 {
						r3++
					}
					r10++
				}
			}
		}
		var fine []float64
		for i := 1; i < 1000; i++ {
			fine = append(fine, float64(i)/1000)
		}
		rows := Sweep(m, cases, fine)
		best := SweepRow{}
		for _, row := range rows {
			if (r.OOS == 0 || row.OOSRecall >= 0.75) && row.InScopeAccuracy > best.InScopeAccuracy {
				best = row
			}
		}
		acc0 := Sweep(m, cases, []float64{1e-12})[0].InScopeAccuracy
		fmt.Fprintf(&out, "| %s | %.2fs | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f |\n", s.name, bt.Seconds(), r.InScopeAccuracy, r.OOSRecall, acc0,
			float64(r3)/float64(in), float64(r10)/float64(in), best.InScopeAccuracy, best.Threshold)
	}
	t.Log("\n" + out.String())
}

func init() { tuneHook = envConfig }

// envConfig lets an experiment change the configuration without editing
// the code: TUNE_MINSTEPS, TUNE_LR, TUNE_L2, TUNE_COV.
func envConfig(c trainConfig) trainConfig {
	f := func(k string, set func(float64)) {
		if v := os.Getenv(k); v != "" {
			x, _ := strconv.ParseFloat(v, 64)
			set(x)
		}
	}
	f("TUNE_LR", func(x float64) { c.LR = float32(x) })
	f("TUNE_EPOCHS", func(x float64) { c.SmallEpochs = int(x) })
	f("TUNE_L2", func(x float64) { c.L2 = float32(x) })
	f("TUNE_COV", func(x float64) { c.Coverage = float32(x) })
	f("TUNE_CHARMIN", func(x float64) {
		c.Members = slices.Clone(c.Members)
		for i := range c.Members {
			c.Members[i].CharMin = int(x)
		}
	})
	f("TUNE_BIGRAM_B", func(x float64) { c.Members = slices.Clone(c.Members); c.Members[1].BigramWeight = float32(x) })
	f("TUNE_WORD", func(x float64) {
		c.Members = slices.Clone(c.Members)
		for i := range c.Members {
			c.Members[i].WordWeight = float32(x)
		}
	})
	return c
}

var tuneHook = func(c trainConfig) trainConfig { return c }

func init() {
	prev := tuneHook
	tuneHook = func(c trainConfig) trainConfig {
		c = prev(c)
		for i, k := range []string{"TUNE_TOPIC_A", "TUNE_TOPIC_B"} {
			if v := os.Getenv(k); v != "" {
				x, _ := strconv.ParseFloat(v, 64)
				c.Members[i].TopicWeight = float32(x)
			}
		}
		for i, k := range []string{"TUNE_CONCEPT_A", "TUNE_CONCEPT_B"} {
			if v := os.Getenv(k); v != "" {
				x, _ := strconv.ParseFloat(v, 64)
				c.Members[i].ConceptWeight = float32(x)
			}
		}
		return c
	}
}

func init() {
	prev := tuneHook
	tuneHook = func(c trainConfig) trainConfig {
		c = prev(c)
		if v := os.Getenv("TUNE_ANSWERW"); v != "" {
			x, _ := strconv.ParseFloat(v, 64)
			c.AnswerWeight = float32(x)
		}
		if v := os.Getenv("TUNE_SPARSEEXP"); v != "" {
			x, _ := strconv.ParseFloat(v, 64)
			c.SparseExp = float32(x)
		}
		return c
	}
}

// sparseClincCases are CLINC150's val cases, with oos_train beside oos_val
// when TUNE_OOS_TRAIN is set (200 out-of-scope questions instead of 100).
func sparseClincCases() []string {
	if os.Getenv("TUNE_OOS_TRAIN") != "" {
		return []string{"clinc150/val.jsonl", "clinc150/oos_train.jsonl"}
	}
	return []string{"clinc150/val.jsonl"}
}
