//go:build tune

// The measurements behind docs/MATCHER.md. Run with
//
//	go test -tags tune -run TestTune -v ./faq
//
// They need shared/eval beside the repository checkout and take about a
// minute.
package faq

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tuneSet is a knowledge base and the cases to measure it on.
type tuneSet struct {
	name  string
	kb    string
	cases []string
}

var tuneSets = []tuneSet{
	{"CLINC150 val (3000 in + 100 oos)", "clinc150/faq.yaml", []string{"clinc150/val.jsonl"}},
	{"CLINC150 val + oos_train (3000 in + 200 oos)", "clinc150/faq.yaml", []string{"clinc150/val.jsonl", "clinc150/oos_train.jsonl"}},
	{"BANKING77 faq_dev / val (965 in)", "banking77/faq_dev.yaml", []string{"banking77/val.jsonl"}},
}

func tuneLoad(t *testing.T, s tuneSet, cfg trainConfig) (*Matcher, []Case) {
	t.Helper()
	kb := mustLoadKB(t, s.kb)
	m, err := build(context.Background(), kb, Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	for _, f := range s.cases {
		cs, err := LoadCases(filepath.Join(evalDir, f))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, cs...)
	}
	return m, cases
}

// TestTuneSweep prints the sweep tables and, for the sets with
// out-of-scope cases, the best accuracy reachable at each recall.
func TestTuneSweep(t *testing.T) {
	ths := []float64{0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9}
	var fine []float64
	for i := 1; i < 1000; i++ {
		fine = append(fine, float64(i)/1000)
	}
	var out strings.Builder
	for _, s := range tuneSets {
		m, cases := tuneLoad(t, s, defaultTrainConfig())
		r := Evaluate(m, cases, 0)
		fmt.Fprintf(&out, "\n### %s\n\nbuild %.1fs, %d features; at the default threshold %.2f: accuracy %.4f, oos recall %.4f, oos precision %.4f, p50 %.0f µs, p99 %.0f µs; without a threshold: accuracy %.4f\n\n",
			s.name, m.Info().BuildTime.Seconds(), m.Info().Features, DefaultThreshold, r.InScopeAccuracy, r.OOSRecall, r.OOSPrecision, r.P50us, r.P99us,
			Sweep(m, cases, []float64{1e-9})[0].InScopeAccuracy)
		fmt.Fprintln(&out, "| threshold | in-scope accuracy | oos recall | oos precision |\n|---:|---:|---:|---:|")
		for _, row := range Sweep(m, cases, ths) {
			fmt.Fprintf(&out, "| %.2f | %.4f | %.4f | %.4f |\n", row.Threshold, row.InScopeAccuracy, row.OOSRecall, row.OOSPrecision)
		}
		if r.OOS == 0 {
			continue
		}
		rows := Sweep(m, cases, fine)
		fmt.Fprintln(&out, "\nbest accuracy at a recall of at least:")
		for _, want := range []float64{0.75, 0.8, 0.85, 0.9} {
			best := SweepRow{}
			for _, row := range rows {
				if row.OOSRecall >= want && row.InScopeAccuracy > best.InScopeAccuracy {
					best = row
				}
			}
			fmt.Fprintf(&out, "- %.2f: %.4f (threshold %.3f)\n", want, best.InScopeAccuracy, best.Threshold)
		}
	}
	t.Log(out.String())
}

// TestTuneCalibration fits the Platt scaling of the raw confidence,
// sigmoid(a·ln r + b), to "answered right" on CLINC150 val + oos_train,
// and prints how well calibrated the result is on both data sets.
func TestTuneCalibration(t *testing.T) {
	cfg := defaultTrainConfig()
	cfg.CalibA, cfg.CalibB = 0, 0 // raw confidences
	type obs struct{ x, y float64 }
	collect := func(s tuneSet) []obs {
		m, cases := tuneLoad(t, s, cfg)
		var os []obs
		for _, c := range cases {
			b := m.Match(c.Q, 1)[0]
			y := 0.0
			if c.FAQ != "" && b.Entry.ID == c.FAQ {
				y = 1
			}
			os = append(os, obs{math.Log(max(b.Score, 1e-6)), y})
		}
		return os
	}
	cl, bk := collect(tuneSets[1]), collect(tuneSets[2])
	loss := func(a, b float64) float64 {
		l := 0.0
		for _, o := range cl {
			z := a*o.x + b
			l += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - o.y*z
		}
		return l
	}
	// Newton's method with step halving.
	a, b := 1.0, 0.0
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for _, o := range cl {
			p := 1 / (1 + math.Exp(-(a*o.x + b)))
			ga += (p - o.y) * o.x
			gb += p - o.y
			w := p * (1 - p)
			haa += w * o.x * o.x
			hab += w * o.x
			hbb += w
		}
		det := haa*hbb - hab*hab
		da, db := (hbb*ga-hab*gb)/det, (haa*gb-hab*ga)/det
		step := 1.0
		for loss(a-step*da, b-step*db) > loss(a, b) && step > 1e-6 {
			step /= 2
		}
		a, b = a-step*da, b-step*db
	}
	t.Logf("Platt scaling: a = %.4f, b = %.4f (in use: %.2f, %.2f)", a, b, defaultTrainConfig().CalibA, defaultTrainConfig().CalibB)
	a, b = float64(defaultTrainConfig().CalibA), float64(defaultTrainConfig().CalibB)
	for _, set := range []struct {
		name string
		os   []obs
	}{{"CLINC150 val + oos_train", cl}, {"BANKING77 val", bk}} {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s, share answered right by calibrated confidence:\n\n| confidence | cases | answered right |\n|---|---:|---:|\n", set.name)
		var n, right [10]float64
		for _, o := range set.os {
			p := 1 / (1 + math.Exp(-(a*o.x + b)))
			i := min(int(p*10), 9)
			n[i]++
			right[i] += o.y
		}
		for i := range n {
			if n[i] > 0 {
				fmt.Fprintf(&sb, "| %.1f-%.1f | %d | %.3f |\n", float64(i)/10, float64(i+1)/10, int(n[i]), right[i]/n[i])
			}
		}
		t.Log("\n" + sb.String())
	}
}

// TestTuneLatency prints per-question latency percentiles over three passes
// of each data set (wall clock: other load on the machine shows up here).
func TestTuneLatency(t *testing.T) {
	for _, d := range []*dataset{clinc, banking} {
		m, cases := d.MustLoad(t)
		for run := 0; run < 3; run++ {
			var lat []time.Duration
			var worst string
			for _, c := range cases {
				s := time.Now()
				m.Decide(c.Q, 3)
				e := time.Since(s)
				if len(lat) == 0 || e > slices.Max(lat) {
					worst = c.Q
				}
				lat = append(lat, e)
			}
			slices.Sort(lat)
			t.Logf("%s run %d: p50 %v p90 %v p99 %v max %v (worst %d bytes)", d.kbFile, run, percentile(lat, .5), percentile(lat, .9), percentile(lat, .99), lat[len(lat)-1], len(worst))
		}
	}
}
