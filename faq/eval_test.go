package faq

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Case
		wantErr string
	}{
		{
			name: "valid with blank lines",
			in:   "{\"q\": \"reset password\", \"faq\": \"password\"}\n\n  \n{\"q\": \"weather?\", \"faq\": \"\"}\n",
			want: []Case{{Q: "reset password", FAQ: "password", Line: 1}, {Q: "weather?", FAQ: "", Line: 4}},
		},
		{name: "no trailing newline", in: `{"q": "a", "faq": "b"}`, want: []Case{{Q: "a", FAQ: "b", Line: 1}}},
		{name: "crlf", in: "{\"q\": \"a\", \"faq\": \"b\"}\r\n", want: []Case{{Q: "a", FAQ: "b", Line: 1}}},
		{name: "bad json", in: "{\"q\": \"a\", \"faq\": \"b\"}\n{\"q\": \n", wantErr: "cases.jsonl:2: unexpected EOF"},
		{name: "missing faq", in: "{\"q\": \"a\", \"faq\": \"b\"}\n{\"q\": \"a\"}\n", wantErr: `cases.jsonl:2: missing "faq"`},
		{name: "null faq", in: `{"q": "a", "faq": null}`, wantErr: `cases.jsonl:1: missing "faq"`},
		{name: "missing q", in: `{"faq": "b"}`, wantErr: `cases.jsonl:1: missing or empty "q"`},
		{name: "empty q", in: `{"q": " ", "faq": "b"}`, wantErr: `cases.jsonl:1: missing or empty "q"`},
		{name: "unknown field", in: `{"q": "a", "faq": "b", "intent": "x"}`, wantErr: `cases.jsonl:1: json: unknown field "intent"`},
		{name: "wrong type", in: `{"q": 1, "faq": "b"}`, wantErr: "cases.jsonl:1: json: cannot unmarshal number"},
		{name: "two values on a line", in: `{"q": "a", "faq": "b"} {"q": "c", "faq": ""}`, wantErr: "cases.jsonl:1: more than one JSON value"},
		{name: "array", in: `["a", "b"]`, wantErr: "cases.jsonl:1: json: cannot unmarshal array"},
		{name: "empty", in: "", wantErr: "cases.jsonl: no cases"},
		{name: "line too long", in: `{"q": "` + strings.Repeat("a", MaxCaseLine) + `", "faq": ""}`, wantErr: "cases.jsonl:1: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadCases(strings.NewReader(tt.in), "cases.jsonl")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadCases() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadCases() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("cases (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadCases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := MustWriteFile(t, dir, "c.jsonl", "{\"q\": \"a\", \"faq\": \"x\"}\n{\"q\": \"b\"}\n")
	if _, err := LoadCases(p); err == nil || err.Error() != `load cases: `+p+`:2: missing "faq" (use "" for a question that must be escalated)` {
		t.Fatalf("LoadCases() error = %v", err)
	}
	if _, err := LoadCases(filepath.Join(dir, "missing.jsonl")); err == nil || !strings.HasPrefix(err.Error(), "load cases: open ") {
		t.Fatalf("LoadCases(missing) error = %v", err)
	}
	cases, err := LoadCases("testdata/default_cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCases(DefaultKB(), cases); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCases(t *testing.T) {
	t.Parallel()
	cases := []Case{{Q: "a", FAQ: "password", Line: 1}, {Q: "b", FAQ: "", Line: 2}, {Q: "c", FAQ: "nope", Line: 3}}
	if err := CheckCases(smallKB(), cases[:2]); err != nil {
		t.Fatal(err)
	}
	if err := CheckCases(smallKB(), cases); err == nil || err.Error() != `check cases: line 3: unknown faq id "nope"` {
		t.Fatalf("CheckCases() error = %v", err)
	}
}

func TestEvaluateFunc(t *testing.T) {
	t.Parallel()
	cases := []Case{
		{Q: "in-right", FAQ: "a"},
		{Q: "in-right-2", FAQ: "b"},
		{Q: "in-wrong", FAQ: "a"},
		{Q: "in-escalated", FAQ: "b"},
		{Q: "oos-escalated", FAQ: ""},
		{Q: "oos-answered", FAQ: ""},
	}
	decide := func(q string) (string, bool) {
		switch q {
		case "in-right":
			return "a", false
		case "in-right-2":
			return "b", false
		case "in-wrong":
			return "b", false
		case "oos-answered":
			return "a", false
		}
		return "", true
	}
	r := EvaluateFunc(decide, cases)
	want := Report{
		Cases: 6, InScopeAccuracy: 0.5, OOSRecall: 0.5, OOSPrecision: 0.5,
		InScope: 4, InScopeCorrect: 2, InScopeWrong: 1, OOS: 2, OOSEscalated: 1, Escalations: 2,
	}
	if diff := cmp.Diff(want, r, cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".P50us" || f == ".P99us"
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("report (-want +got):\n%s", diff)
	}
	if r.P50us < 0 || r.P99us < r.P50us {
		t.Fatalf("latency p50 %v p99 %v", r.P50us, r.P99us)
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	r := Report{Cases: 3, InScopeAccuracy: 0.5, OOSRecall: 1, OOSPrecision: 0.25, P50us: 12.5, P99us: 40, InScope: 2, Threshold: 0.5}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cases", "in_scope_accuracy", "oos_precision", "oos_recall", "p50_us", "p99_us"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("JSON keys (-want +got):\n%s", diff)
	}
	if got, want := string(b), `{"cases":3,"in_scope_accuracy":0.5,"oos_recall":1,"oos_precision":0.25,"p50_us":12.5,"p99_us":40}`; got != want {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
}

func TestReportWriteText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    Report
		want string
	}{
		{
			name: "full",
			r: Report{Cases: 6, InScopeAccuracy: 0.5, OOSRecall: 0.5, OOSPrecision: 0.5, P50us: 12.3, P99us: 45.6,
				InScope: 4, InScopeCorrect: 2, InScopeWrong: 1, OOS: 2, OOSEscalated: 1, Escalations: 2, Threshold: 0.5},
			want: `cases              6 (4 in scope, 2 out of scope)
threshold          0.500
in-scope accuracy  0.5000 (2/4)
  wrong entry      1
  escalated        1
oos recall         0.5000 (1/2)
oos precision      0.5000 (1/2)
latency p50        12.3 µs
latency p99        45.6 µs
`,
		},
		{
			name: "no out-of-scope cases and no threshold",
			r:    Report{Cases: 2, InScopeAccuracy: 1, InScope: 2, InScopeCorrect: 2, P50us: 1, P99us: 2},
			want: `cases              2 (2 in scope, 0 out of scope)
in-scope accuracy  1.0000 (2/2)
  wrong entry      0
  escalated        0
oos recall         n/a (no out-of-scope cases)
oos precision      n/a (no escalations)
latency p50        1.0 µs
latency p99        2.0 µs
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Fatalf("WriteText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateMatcher(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	cases := []Case{
		{Q: "I forgot my password", FAQ: "password"},
		{Q: "where is my order", FAQ: "shipping"},
		{Q: "please send me the invoice", FAQ: "invoice"},
		{Q: "what is the capital of mongolia", FAQ: ""},
		{Q: "zxqv blorft", FAQ: ""},
	}
	r := Evaluate(m, cases, 0)
	if r.Cases != 5 || r.InScopeAccuracy != 1 || r.OOSRecall != 1 || r.OOSPrecision != 1 || r.Threshold != DefaultThreshold {
		t.Fatalf("Evaluate = %+v", r)
	}
	// At a threshold above every score everything escalates.
	r = Evaluate(m, cases, math.Nextafter(1, 2))
	if r.InScopeAccuracy != 0 || r.OOSRecall != 1 || r.Escalations != 5 || r.OOSPrecision != 0.4 {
		t.Fatalf("Evaluate(threshold > 1) = %+v", r)
	}
	// Evaluate agrees with Sweep and with the matcher's DecideFunc.
	for _, th := range []float64{0.1, 0.5, 0.9} {
		e := Evaluate(m, cases, th)
		s := Sweep(m, cases, []float64{th})[0]
		if e.InScopeAccuracy != s.InScopeAccuracy || e.OOSRecall != s.OOSRecall || e.OOSPrecision != s.OOSPrecision {
			t.Fatalf("threshold %v: Evaluate %+v, Sweep %+v", th, e, s)
		}
		f := EvaluateFunc(m.WithThreshold(th).DecideFunc(), cases)
		if f.InScopeAccuracy != e.InScopeAccuracy || f.OOSRecall != e.OOSRecall {
			t.Fatalf("threshold %v: EvaluateFunc %+v, Evaluate %+v", th, f, e)
		}
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	cases := []Case{
		{Q: "I forgot my password", FAQ: "password"},
		{Q: "track my package", FAQ: "shipping"},
		{Q: "how do I stop paying", FAQ: "cancel"},
		{Q: "what is the capital of mongolia", FAQ: ""},
		{Q: "my password and my invoice and my order", FAQ: ""},
	}
	rows := Sweep(m, cases, nil)
	if got, want := len(rows), len(DefaultSweepThresholds()); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	if !slices.ContainsFunc(rows, func(r SweepRow) bool { return r.Threshold == DefaultThreshold }) {
		t.Fatal("default threshold not swept")
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if b.Threshold <= a.Threshold || b.InScopeAccuracy > a.InScopeAccuracy || b.OOSRecall < a.OOSRecall {
			t.Fatalf("rows not monotone: %+v then %+v", a, b)
		}
	}
	var buf bytes.Buffer
	if err := WriteSweep(&buf, rows[:2]); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "threshold") || !strings.Contains(lines[1], "0.050") {
		t.Fatalf("WriteSweep:\n%s", buf.String())
	}
	b, err := json.Marshal(rows[0])
	if err != nil || !strings.HasPrefix(string(b), `{"threshold":0.05,"in_scope_accuracy":`) {
		t.Fatalf("SweepRow JSON = %s, %v", b, err)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i))
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ds[:1], 0.99, 1},
		{"median of 100", ds, 0.5, 50},
		{"p99 of 100", ds, 0.99, 99},
		{"max", ds, 1, 100},
		{"p99 of 10", ds[:10], 0.99, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.q); got != tt.want {
				t.Fatalf("percentile(q=%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
