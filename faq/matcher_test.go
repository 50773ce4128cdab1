package faq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"lower-case and punctuation", "How do I reset my PASSWORD?!", []string{"how", "do", "i", "reset", "my", "password"}},
		{"apostrophes join", "I don't know what's wrong", []string{"i", "dont", "know", "whats", "wrong"}},
		{"curly apostrophe", "customer’s card", []string{"customers", "card"}},
		{"quotes are not apostrophes", "say 'hello' please", []string{"say", "hello", "please"}},
		{"digits", "order #12345, 3-5 days", []string{"order", "12345", "3", "5", "days"}},
		{"unicode", "Ärger mit Überweisung ÇA VA", []string{"ärger", "mit", "überweisung", "ça", "va"}},
		{"combining marks", "cafe\u0301 ok", []string{"cafe\u0301", "ok"}},
		{"cjk", "密码 重置", []string{"密码", "重置"}},
		{"symbols and emoji", "help!!! 😡 $$$", []string{"help"}},
		{"invalid utf-8 separates", "pass\xffword", []string{"pass", "word"}},
		{"empty", "", nil},
		{"only punctuation", "?!.,;", nil},
		{"newlines and tabs", "line one\nline\ttwo", []string{"line", "one", "line", "two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tokenize(tt.in)); diff != "" {
				t.Fatalf("tokenize(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCapInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int // length
	}{
		{"short", "hello", 5},
		{"exact", strings.Repeat("a", MaxInputBytes), MaxInputBytes},
		{"long ascii", strings.Repeat("a", 3*MaxInputBytes), MaxInputBytes},
		{"cut inside a rune", strings.Repeat("a", MaxInputBytes-1) + "é", MaxInputBytes - 1},
		{"cut inside a 4-byte rune", strings.Repeat("a", MaxInputBytes-2) + "😀", MaxInputBytes - 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := len(capInput(tt.in)); got != tt.want {
				t.Fatalf("len(capInput()) = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	tests := []struct {
		name      string
		q         string
		wantID    string // best entry; "" to skip the check
		wantScope bool
	}{
		{"canonical question", "How do I reset my password?", "password", true},
		{"example verbatim", "download invoice", "invoice", true},
		{"paraphrase", "i forgot my password, how can i reset it", "password", true},
		{"case and punctuation", "WHERE IS MY ORDER???", "shipping", true},
		{"typo", "cancel my subscripton", "cancel", true},
		{"off topic", "what is the capital of mongolia", "", false},
		{"gibberish", "zxqv blorft wug", "", false},
		{"empty", "", "", false},
		{"punctuation only", "?!?!", "", false},
		{"invalid utf-8", "\xff\xfe\xfd", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := m.Decide(tt.q, 3)
			if tt.wantID != "" && r.Best.Entry.ID != tt.wantID {
				t.Errorf("Decide(%q).Best = %s (%.3f), want %s", tt.q, r.Best.Entry.ID, r.Best.Score, tt.wantID)
			}
			if r.InScope != tt.wantScope {
				t.Errorf("Decide(%q).InScope = %v (best %s %.3f), want %v", tt.q, r.InScope, r.Best.Entry.ID, r.Best.Score, tt.wantScope)
			}
		})
	}
}

func TestMatchResultShape(t *testing.T) {
	t.Parallel()
	kb := smallKB()
	m := MustBuild(t, kb)
	for _, k := range []int{-1, 0, 1, 2, 4, 100} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			ms := m.Match("reset my password", k)
			want := min(max(k, 1), len(kb.Entries))
			if len(ms) != want {
				t.Fatalf("len(Match(k=%d)) = %d, want %d", k, len(ms), want)
			}
			seen := map[string]bool{}
			for i, x := range ms {
				if x.Score < 0 || x.Score > 1 || math.IsNaN(x.Score) {
					t.Fatalf("score %v out of [0, 1]", x.Score)
				}
				if i > 0 && x.Score > ms[i-1].Score {
					t.Fatalf("scores not descending: %v", ms)
				}
				if seen[x.Entry.ID] {
					t.Fatalf("entry %s twice", x.Entry.ID)
				}
				seen[x.Entry.ID] = true
			}
		})
	}
	// The match carries the whole entry.
	best := m.Match("reset my password", 1)[0].Entry
	if diff := cmp.Diff(kb.Entries[0], best); diff != "" {
		t.Fatalf("entry (-want +got):\n%s", diff)
	}
	// Decide agrees with Match and the threshold.
	r := m.Decide("reset my password", 2)
	if !cmp.Equal(r.Best, r.Matches[0]) || r.InScope != (r.Best.Score >= m.Threshold()) {
		t.Fatalf("Decide = %+v inconsistent with threshold %v", r, m.Threshold())
	}
}

func TestThreshold(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	if got, want := m.Threshold(), DefaultThreshold; got != want {
		t.Fatalf("Threshold() = %v, want %v", got, want)
	}
	score := m.Match("I forgot my password", 1)[0].Score
	tests := []struct {
		name      string
		threshold float64
		want      bool
	}{
		{"just below the score", score - 1e-6, true},
		{"at the score", score, true},
		{"above the score", math.Nextafter(score, 2), false},
		{"zero means default", 0, score >= DefaultThreshold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := m.WithThreshold(tt.threshold).Decide("I forgot my password", 1).InScope; got != tt.want {
				t.Fatalf("InScope at %v (score %v) = %v, want %v", tt.threshold, score, got, tt.want)
			}
		})
	}
	// WithThreshold does not change the original.
	if m.WithThreshold(0.99).Threshold() != 0.99 || m.Threshold() != DefaultThreshold {
		t.Fatal("WithThreshold changed the original matcher")
	}
	built, err := Build(context.Background(), smallKB(), Options{Threshold: 0.7})
	if err != nil || built.Threshold() != 0.7 {
		t.Fatalf("Build with Threshold 0.7: %v, %v", built.Threshold(), err)
	}
}

func TestBuildDeterministic(t *testing.T) {
	t.Parallel()
	kb := DefaultKB()
	a, b := MustBuild(t, kb), MustBuild(t, kb)
	// Entry order does not matter either.
	rev := &KB{}
	for i := len(kb.Entries) - 1; i >= 0; i-- {
		rev.Entries = append(rev.Entries, kb.Entries[i])
	}
	c := MustBuild(t, rev)
	for _, q := range []string{"how do i reset my password", "where are my invoices", "what is the weather", "x"} {
		ma, mb, mc := a.Match(q, 5), b.Match(q, 5), c.Match(q, 5)
		if diff := cmp.Diff(ma, mb); diff != "" {
			t.Fatalf("two builds differ on %q:\n%s", q, diff)
		}
		if diff := cmp.Diff(ma, mc); diff != "" {
			t.Fatalf("entry order changes the result on %q:\n%s", q, diff)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	if _, err := Build(context.Background(), nil, Options{}); !errors.Is(err, ErrEmptyKB) {
		t.Fatalf("Build(nil) error = %v, want ErrEmptyKB", err)
	}
	if _, err := Build(context.Background(), &KB{}, Options{}); !errors.Is(err, ErrEmptyKB) {
		t.Fatalf("Build(empty) error = %v, want ErrEmptyKB", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, smallKB(), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Build(cancelled) error = %v, want context.Canceled", err)
	}
}

func TestSingleEntryKB(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, &KB{Entries: []Entry{{ID: "only", Question: "How do I reset my password?", Answer: "Link."}}})
	if r := m.Decide("how do i reset my password", 3); !r.InScope || len(r.Matches) != 1 {
		t.Fatalf("single entry, its own question: %+v", r)
	}
	if r := m.Decide("what time is it in tokyo", 1); r.InScope {
		t.Fatalf("single entry, unrelated question in scope: %+v", r)
	}
}

func TestDefaultKBMatches(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, DefaultKB())
	for _, e := range m.KB().Entries {
		if r := m.Decide(e.Question, 1); !r.InScope || r.Best.Entry.ID != e.ID {
			t.Errorf("question of %s: best %s %.3f in scope %v", e.ID, r.Best.Entry.ID, r.Best.Score, r.InScope)
		}
	}
	for _, q := range []string{"who won the world cup", "tell me a joke", "hello", "what's the capital of peru"} {
		if r := m.Decide(q, 1); r.InScope {
			t.Errorf("%q in scope: %s %.3f", q, r.Best.Entry.ID, r.Best.Score)
		}
	}
}

func TestMatchHostileInput(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	inputs := []string{
		strings.Repeat("password ", 1<<20),
		strings.Repeat("\xff", 1<<16),
		strings.Repeat("a", 1<<20),
		strings.Repeat("😀", 1<<16),
		"\x00\x01\x02",
		strings.Repeat("é", MaxInputBytes),
	}
	for i, in := range inputs {
		for _, x := range m.Match(in, 4) {
			if x.Score < 0 || x.Score > 1 || math.IsNaN(x.Score) {
				t.Fatalf("input %d: score %v", i, x.Score)
			}
		}
	}
	// Text beyond the cap is ignored.
	long := "reset my password " + strings.Repeat("x", 2*MaxInputBytes) + " invoice"
	if diff := cmp.Diff(m.Match(long, 2), m.Match(capInput(long), 2)); diff != "" {
		t.Fatalf("capped input differs:\n%s", diff)
	}
}

func TestMatchConcurrent(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	want := m.Match("where is my order", 2)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if got := m.Match("where is my order", 2); !cmp.Equal(got, want) {
					t.Errorf("concurrent Match = %v, want %v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestInfo(t *testing.T) {
	t.Parallel()
	kb := smallKB()
	info := MustBuild(t, kb).Info()
	if info.Entries != 4 || info.Examples != 24 || info.Features == 0 || info.KBHash != kb.Hash() || info.Cached || info.BuildTime <= 0 {
		t.Fatalf("Info() = %+v", info)
	}
}
