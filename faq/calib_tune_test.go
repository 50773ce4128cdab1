//go:build tune

package faq

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestTuneSelfCalib prints, per knowledge base, statistics of raw scores
// the KB itself yields (its own texts scored on their entry, and on the
// best other entry with their own left out of the softmax), beside the
// raw threshold that the eval cases would pick.
func TestTuneSelfCalib(t *testing.T) {
	sets := append([]tuneSet{}, sparseSets...)
	sets = append(sets, tuneSet{"CLINC150 full", "clinc150/faq.yaml", []string{"clinc150/val.jsonl"}}, tuneSet{"BANKING77 full", "banking77/faq_dev.yaml", []string{"banking77/val.jsonl"}})
	for _, s := range sets {
		kb := mustLoadKB(t, s.kb)
		cfg := tuneHook(defaultTrainConfig())
		cfg.CalibA, cfg.CalibB = 0, 0
		m, err := build(context.Background(), kb, Options{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var cases []Case
		for _, f := range s.cases {
			cs, _ := LoadCases(filepath.Join(evalDir, f))
			cases = append(cases, cs...)
		}
		C := len(m.entries)
		sc := m.model.newScratch()
		var self, other []float64
		n := 0
		for c, e := range m.entries {
			texts := append([]string{e.Question}, e.Examples...)
			step := max(1, len(texts)/10)
			for i := 0; i < len(texts); i += step {
				n++
				sc.text.tokenize(texts[i])
				var own float32
				best := float32(0)
				confs := make([]float32, C)
				for mi, mem := range m.model.members {
					mem.probs(&sc.members[mi], &sc.text)
					own += mem.confidence(&sc.members[mi], c) / float32(len(m.model.members))
					pc := sc.members[mi].p[c]
					for c2 := 0; c2 < C; c2++ {
						if c2 == c {
							continue
						}
						confs[c2] += mem.confidence(&sc.members[mi], c2) / (1 - pc) / float32(len(m.model.members))
					}
				}
				for _, v := range confs {
					best = max(best, v)
				}
				self = append(self, float64(own))
				other = append(other, float64(best))
			}
		}
		slices.Sort(self)
		slices.Sort(other)
		q := func(xs []float64, p float64) float64 { return xs[min(int(p*float64(len(xs))), len(xs)-1)] }
		// oracle raw threshold: best acc with oos recall >= .8
		type pt struct {
			s       float64
			ok, oos bool
		}
		var pts []pt
		in, nOOS := 0, 0
		var oosScores []float64
		for _, cs := range cases {
			b := m.Match(cs.Q, 1)[0]
			p := pt{b.Score, cs.FAQ != "" && b.Entry.ID == cs.FAQ, cs.FAQ == ""}
			pts = append(pts, p)
			if p.oos {
				nOOS++
				oosScores = append(oosScores, b.Score)
			} else {
				in++
			}
		}
		slices.Sort(oosScores)
		line := fmt.Sprintf("%-14s self q10 %.4f q50 %.4f | other q50 %.4f q80 %.4f q90 %.4f q95 %.4f", s.name, q(self, .1), q(self, .5), q(other, .5), q(other, .8), q(other, .9), q(other, .95))
		if nOOS > 0 {
			line += fmt.Sprintf(" | real oos q75 %.4f q80 %.4f q90 %.4f", q(oosScores, .75), q(oosScores, .8), q(oosScores, .9))
		}
		t.Log(line)
	}
}
