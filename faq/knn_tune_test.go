//go:build tune

package faq

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

type scored struct {
	want int // -1 oos
	lr   []float32
	knn  []float32
}

// TestTuneKNN compares the classifier's confidence, the max cosine to an
// entry's texts and mixes of the two on the few-shot sets.
func TestTuneKNN(t *testing.T) {
	w, _ := strconv.ParseFloat(os.Getenv("TUNE_W"), 64)
	for _, s := range sparseSets {
		kb := mustLoadKB(t, s.kb)
		m, err := build(context.Background(), kb, Options{}, defaultTrainConfig())
		if err != nil {
			t.Fatal(err)
		}
		cls := map[string]int{}
		for i, e := range m.entries {
			cls[e.ID] = i
		}
		var cases []Case
		for _, f := range s.cases {
			cs, _ := LoadCases(filepath.Join(evalDir, f))
			cases = append(cases, cs...)
		}
		C := len(m.entries)
		// training vectors per member
		type tv struct {
			c int
			v map[int32]float32
		}
		var texts [][]tv
		for _, mem := range m.model.members {
			var buf textBuf
			var ts []tv
			for c, e := range m.entries {
				for _, x := range append([]string{e.Question}, e.Examples...) {
					buf.tokenize(x)
					v, _ := vectorize(sparse{}, mem.features.extract(&buf), mem.features.weights(), mem.vocab, mem.idf, mem.unknownIDF)
					mm := map[int32]float32{}
					for k, j := range v.idx {
						mm[j] = v.val[k]
					}
					ts = append(ts, tv{c, mm})
				}
			}
			texts = append(texts, ts)
		}
		var all []scored
		sc := m.model.newScratch()
		for _, cs := range cases {
			want := -1
			if cs.FAQ != "" {
				want = cls[cs.FAQ]
			}
			o := scored{want: want, lr: make([]float32, C), knn: make([]float32, C)}
			sc.text.tokenize(cs.Q)
			for i, mem := range m.model.members {
				mem.probs(&sc.members[i], &sc.text)
				for c := 0; c < C; c++ {
					o.lr[c] += mem.confidence(&sc.members[i], c) / float32(len(m.model.members))
				}
				best := make([]float32, C)
				x := sc.members[i].x
				for _, tt := range texts[i] {
					var d float32
					for k, j := range x.idx {
						d += x.val[k] * tt.v[j]
					}
					d *= float32(math.Sqrt(float64(sc.members[i].known)))
					best[tt.c] = max(best[tt.c], d)
				}
				for c := range best {
					o.knn[c] += best[c] / float32(len(m.model.members))
				}
			}
			all = append(all, o)
		}
		report := func(name string, f func(o scored, c int) float64) {
			var pts []struct {
				s   float64
				ok  bool
				oos bool
			}
			in, top1, r10 := 0, 0, 0
			for _, o := range all {
				sc := make([]float64, C)
				for c := range sc {
					sc[c] = f(o, c)
				}
				idx := make([]int, C)
				for i := range idx {
					idx[i] = i
				}
				slices.SortFunc(idx, func(a, b int) int {
					if sc[a] > sc[b] {
						return -1
					}
					if sc[a] < sc[b] {
						return 1
					}
					return a - b
				})
				if o.want >= 0 {
					in++
					if idx[0] == o.want {
						top1++
					}
					if slices.Contains(idx[:10], o.want) {
						r10++
					}
				}
				pts = append(pts, struct {
					s   float64
					ok  bool
					oos bool
				}{sc[idx[0]], idx[0] == o.want, o.want < 0})
			}
			// best acc at recall>=.75
			slices.SortFunc(pts, func(a, b struct {
				s   float64
				ok  bool
				oos bool
			}) int {
				if a.s < b.s {
					return -1
				}
				if a.s > b.s {
					return 1
				}
				return 0
			})
			nOOS := 0
			for _, p := range pts {
				if p.oos {
					nOOS++
				}
			}
			best := 0.0
			esc, right := 0, 0
			for _, p := range pts {
				if p.ok {
					right++
				}
			}
			for _, p := range pts {
				if nOOS == 0 || float64(esc)/float64(nOOS) >= 0.75 {
					best = max(best, float64(right)/float64(in))
				}
				if p.oos {
					esc++
				}
				if p.ok {
					right--
				}
			}
			t.Logf("%-14s %-22s acc0 %.4f r@10 %.4f best@.75 %.4f", s.name, name, float64(top1)/float64(in), float64(r10)/float64(in), best)
		}
		report("lr", func(o scored, c int) float64 { return float64(o.lr[c]) })
		report("knn", func(o scored, c int) float64 { return float64(o.knn[c]) })
		for _, a := range []float64{0.25, 0.5, 0.75} {
			report(fmt.Sprintf("mix %.2f", a), func(o scored, c int) float64 {
				return (1-a)*math.Sqrt(float64(o.lr[c])) + a*float64(o.knn[c])
			})
		}
		_ = w
	}
}
