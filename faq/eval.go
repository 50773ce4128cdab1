package faq

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Case is one labelled question: FAQ is the id of the entry that answers Q,
// or "" when Q is out of scope and must be escalated.
type Case struct {
	Q    string `json:"q"`
	FAQ  string `json:"faq"`
	Line int    `json:"-"` // 1-based line in the cases file
}

// MaxCaseLine caps one line of a cases file.
const MaxCaseLine = 1 << 20

// LoadCases reads eval cases from a JSON Lines file: one object per line,
// {"q": "...", "faq": "<id>"} with "faq": "" for a question that must be
// escalated. Blank lines are skipped; errors name the file and the line.
func LoadCases(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load cases: %w", err)
	}
	defer f.Close()
	cases, err := ReadCases(f, path)
	if err != nil {
		return nil, fmt.Errorf("load cases: %w", err)
	}
	return cases, nil
}

// ReadCases is LoadCases over a reader; name is used in errors.
func ReadCases(r io.Reader, name string) ([]Case, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxCaseLine)
	var cases []Case
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var c struct {
			Q   *string `json:"q"`
			FAQ *string `json:"faq"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value", name, line)
		}
		switch {
		case c.Q == nil || strings.TrimSpace(*c.Q) == "":
			return nil, fmt.Errorf("%s:%d: missing or empty \"q\"", name, line)
		case c.FAQ == nil:
			return nil, fmt.Errorf("%s:%d: missing \"faq\" (use \"\" for a question that must be escalated)", name, line)
		}
		cases = append(cases, Case{Q: *c.Q, FAQ: *c.FAQ, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", name)
	}
	return cases, nil
}

// CheckCases reports the first case whose entry id is not in kb: such a case
// could never be answered right, which is a mistake in the cases or the KB.
func CheckCases(kb *KB, cases []Case) error {
	ids := make(map[string]bool, len(kb.Entries))
	for _, e := range kb.Entries {
		ids[e.ID] = true
	}
	for _, c := range cases {
		if c.FAQ != "" && !ids[c.FAQ] {
			return fmt.Errorf("check cases: line %d: unknown faq id %q", c.Line, c.FAQ)
		}
	}
	return nil
}

// Report is the result of an evaluation. Its JSON form is the contract of
// `supportbot eval --json`: exactly the keys cases, in_scope_accuracy,
// oos_recall, oos_precision, p50_us and p99_us. A rate whose denominator is
// zero (no out-of-scope cases, no escalations) is 0 in JSON and "n/a" in
// text.
type Report struct {
	Cases int `json:"cases"`
	// InScopeAccuracy is in-scope cases answered with the right entry over
	// in-scope cases; an escalation counts as wrong.
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	// OOSRecall is out-of-scope cases escalated over out-of-scope cases.
	OOSRecall float64 `json:"oos_recall"`
	// OOSPrecision is out-of-scope cases escalated over all escalations.
	OOSPrecision float64 `json:"oos_precision"`
	// P50us and P99us are latency percentiles per question, in
	// microseconds.
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`

	InScope        int     `json:"-"` // in-scope cases
	InScopeCorrect int     `json:"-"` // answered with the right entry
	InScopeWrong   int     `json:"-"` // answered with another entry
	OOS            int     `json:"-"` // out-of-scope cases
	OOSEscalated   int     `json:"-"` // out-of-scope cases escalated
	Escalations    int     `json:"-"` // all escalations
	Threshold      float64 `json:"-"` // the matcher's threshold; 0 for a DecideFunc
}

// DecideFunc is an answer-or-escalate decision under evaluation: the id of
// the entry it answers q with, or escalate true. The full policy (with its
// rules) is evaluated through one.
type DecideFunc func(q string) (id string, escalate bool)

// Evaluate runs m on every case at threshold (0: m's threshold) and reports
// accuracy, out-of-scope recall and precision, and latency.
func Evaluate(m *Matcher, cases []Case, threshold float64) Report {
	m = m.WithThreshold(threshold)
	r := EvaluateFunc(m.DecideFunc(), cases)
	r.Threshold = m.threshold
	return r
}

// DecideFunc returns m's decision as a DecideFunc: the best entry if it is
// in scope, otherwise an escalation.
func (m *Matcher) DecideFunc() DecideFunc {
	return func(q string) (string, bool) {
		r := m.Decide(q, 1)
		return r.Best.Entry.ID, !r.InScope
	}
}

// EvaluateFunc runs decide on every case and reports accuracy, out-of-scope
// recall and precision, and latency.
func EvaluateFunc(decide DecideFunc, cases []Case) Report {
	var r Report
	lat := make([]time.Duration, 0, len(cases))
	for _, c := range cases {
		start := time.Now()
		id, esc := decide(c.Q)
		lat = append(lat, time.Since(start))
		r.count(c.FAQ, id, esc)
	}
	r.rates()
	slices.Sort(lat)
	r.P50us = micros(percentile(lat, 0.50))
	r.P99us = micros(percentile(lat, 0.99))
	return r
}

func (r *Report) count(want, got string, esc bool) {
	r.Cases++
	if esc {
		r.Escalations++
	}
	if want == "" {
		r.OOS++
		if esc {
			r.OOSEscalated++
		}
		return
	}
	r.InScope++
	switch {
	case esc:
	case got == want:
		r.InScopeCorrect++
	default:
		r.InScopeWrong++
	}
}

func (r *Report) rates() {
	r.InScopeAccuracy = ratio(r.InScopeCorrect, r.InScope)
	r.OOSRecall = ratio(r.OOSEscalated, r.OOS)
	r.OOSPrecision = ratio(r.OOSEscalated, r.Escalations)
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// percentile returns the nearest-rank percentile q of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func micros(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)*10) / 10
}

// WriteText writes the report for people, one figure a line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-19s%s\n", label, fmt.Sprintf(format, args...))
	}
	rate := func(v float64, n, d int, none string) string {
		if d == 0 {
			return "n/a (" + none + ")"
		}
		return fmt.Sprintf("%.4f (%d/%d)", v, n, d)
	}
	line("cases", "%d (%d in scope, %d out of scope)", r.Cases, r.InScope, r.OOS)
	if r.Threshold > 0 {
		line("threshold", "%.3f", r.Threshold)
	}
	line("in-scope accuracy", "%s", rate(r.InScopeAccuracy, r.InScopeCorrect, r.InScope, "no in-scope cases"))
	if r.InScope > 0 {
		line("  wrong entry", "%d", r.InScopeWrong)
		line("  escalated", "%d", r.InScope-r.InScopeCorrect-r.InScopeWrong)
	}
	line("oos recall", "%s", rate(r.OOSRecall, r.OOSEscalated, r.OOS, "no out-of-scope cases"))
	line("oos precision", "%s", rate(r.OOSPrecision, r.OOSEscalated, r.Escalations, "no escalations"))
	line("latency p50", "%.1f µs", r.P50us)
	line("latency p99", "%.1f µs", r.P99us)
	_, err := io.WriteString(w, b.String())
	return err
}

// SweepRow is the outcome of an evaluation at one threshold.
type SweepRow struct {
	Threshold       float64 `json:"threshold"`
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	OOSRecall       float64 `json:"oos_recall"`
	OOSPrecision    float64 `json:"oos_precision"`
}

// DefaultSweepThresholds are the thresholds Sweep tries when given none:
// 0.05 to 0.95 in steps of 0.05, plus DefaultThreshold.
func DefaultSweepThresholds() []float64 {
	var ts []float64
	for i := 1; i <= 19; i++ {
		ts = append(ts, float64(i)/20)
	}
	if !slices.Contains(ts, DefaultThreshold) {
		ts = append(ts, DefaultThreshold)
		slices.Sort(ts)
	}
	return ts
}

// Sweep evaluates m at each threshold (DefaultSweepThresholds if none), so
// that an operator can pick one. It matches each case once.
func Sweep(m *Matcher, cases []Case, thresholds []float64) []SweepRow {
	if len(thresholds) == 0 {
		thresholds = DefaultSweepThresholds()
	}
	type outcome struct {
		want, got string
		score     float64
	}
	outs := make([]outcome, len(cases))
	for i, c := range cases {
		best := m.Match(c.Q, 1)[0]
		outs[i] = outcome{c.FAQ, best.Entry.ID, best.Score}
	}
	rows := make([]SweepRow, 0, len(thresholds))
	for _, t := range thresholds {
		var r Report
		for _, o := range outs {
			r.count(o.want, o.got, o.score < t)
		}
		r.rates()
		rows = append(rows, SweepRow{Threshold: t, InScopeAccuracy: r.InScopeAccuracy, OOSRecall: r.OOSRecall, OOSPrecision: r.OOSPrecision})
	}
	return rows
}

// WriteSweep writes sweep rows as a plain-text table.
func WriteSweep(w io.Writer, rows []SweepRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threshold\tin-scope accuracy\toos recall\toos precision\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%.3f\t%.4f\t%.4f\t%.4f\t\n", r.Threshold, r.InScopeAccuracy, r.OOSRecall, r.OOSPrecision)
	}
	return tw.Flush()
}
