package dashboard

import (
	"strings"
	"testing"
	"time"
)

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct{ in, want int64 }{
		{0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {99, 100}, {101, 200}, {4999, 5000},
	} {
		if got := niceMax(tc.in); got != tc.want {
			t.Errorf("niceMax(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestDecisionChart(t *testing.T) {
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	sp := span{Name: "1h", Step: time.Minute, N: 5, Label: "per minute"}
	b := func(i int, answered, escalated int64) Bucket {
		return Bucket{Start: base.Add(time.Duration(i) * time.Minute), Answered: answered, Escalated: escalated}
	}
	// Two runs of decided buckets separated by an empty one: two line
	// segments, one per run of at least two points.
	c := decisionChart([]Bucket{b(0, 3, 1), b(1, 1, 1), b(2, 0, 0), b(3, 4, 0), b(4, 0, 2)}, sp)
	if got, want := len(c.Lines), 2; got != want {
		t.Fatalf("%d line segments, want %d: %q", got, want, c.Lines)
	}
	if got, want := len(c.Dots), 4; got != want {
		t.Fatalf("%d dots, want %d", got, want)
	}
	// 100% deflection sits on the top of the plot, 0% on its bottom.
	if got := c.Dots[2].Y; got != plotTop {
		t.Fatalf("100%% deflection at y=%v, want %v", got, plotTop)
	}
	if got := c.Dots[3].Y; got != plotBottom {
		t.Fatalf("0%% deflection at y=%v, want %v", got, plotBottom)
	}
	if !strings.Contains(c.Dots[0].Title, "deflection 75%") {
		t.Fatalf("first dot's tooltip %q lacks its deflection", c.Dots[0].Title)
	}
	// The tallest stack fills the plot: 4 turns on an axis topped at 5.
	var tallest float64
	for _, r := range c.Bars {
		tallest = max(tallest, plotBottom-r.Y)
	}
	if want := 4.0 / 5.0 * plotH; tallest < want-0.01 || tallest > want+0.01 {
		t.Fatalf("tallest stack %.2f high, want %.2f", tallest, want)
	}
	if c.Empty {
		t.Fatal("a chart with decisions is marked empty")
	}
	if e := decisionChart([]Bucket{b(0, 0, 0)}, sp); !e.Empty || len(e.Bars) != 0 || len(e.Lines) != 0 {
		t.Fatalf("empty period: %+v", e)
	}
}

func TestLaneConversation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"chat/c-1#out", "chat/c-1"},
		{"chat/c#1#in", "chat/c#1"},
		{"#slack", ""},
		{"nolane", ""},
		{"x#out", ""},
	} {
		if got := laneConversation(tc.in); got != tc.want {
			t.Errorf("laneConversation(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
