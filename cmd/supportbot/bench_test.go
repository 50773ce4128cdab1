package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestBenchReports runs the load command small, both modes, and checks
// that every event was acknowledged by both servers and answered by the
// service, and that the report carries each figure it promises.
func TestBenchReports(t *testing.T) {
	for _, intakeOnly := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out bytes.Buffer
		o := benchOptions{Concurrency: 4, Events: 120, FAQPath: "../../faq/kb", IntakeOnly: intakeOnly}
		if err := runBench(ctx, o, &out); err != nil {
			t.Fatalf("intake-only %v: %v\n%s", intakeOnly, err, out.String())
		}
		report := out.String()
		for _, side := range []string{"no-op baseline", "supportbot", "no-op again"} {
			re := regexp.MustCompile(regexp.QuoteMeta(side) + ` +accepted +120/120 +errors 0 .*CPU \S+/event`)
			if !re.MatchString(report) {
				t.Errorf("intake-only %v: no complete line for %q in:\n%s", intakeOnly, side, report)
			}
		}
		m := regexp.MustCompile(`ratio supportbot/baseline: ([0-9.]+) \(to the baseline before ([0-9.]+), after ([0-9.]+)\)`).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("intake-only %v: no ratio in:\n%s", intakeOnly, report)
		}
		for _, v := range m[1:] {
			if f, err := strconv.ParseFloat(v, 64); err != nil || f <= 0 {
				t.Errorf("intake-only %v: ratio %q is not a positive number", intakeOnly, v)
			}
		}
		if !regexp.MustCompile(`ack to reply delivered: .*\(120 replies\)\n(?s:.*)every accepted event answered \S+ after the first was sent \(120 distinct replies\)`).MatchString(report) {
			t.Errorf("intake-only %v: not every event answered:\n%s", intakeOnly, report)
		}
		if !regexp.MustCompile(`database [0-9.]+ MiB for 120 conversations`).MatchString(report) {
			t.Errorf("intake-only %v: no database size in:\n%s", intakeOnly, report)
		}
	}
}
