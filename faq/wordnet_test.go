package faq

import (
	"slices"
	"strings"
	"testing"
)

func TestWordnetLookup(t *testing.T) {
	t.Parallel()
	lx := wordnet()
	shares := func(a, b string) bool {
		for _, id := range lx.lookup(a) {
			if slices.Contains(lx.lookup(b), id) {
				return true
			}
		}
		return false
	}
	for _, p := range [][2]string{{"change", "alter"}, {"changing", "alter"}, {"modified", "change"}, {"went", "go"}, {"children", "child"}, {"buy", "purchased"}} {
		if !shares(p[0], p[1]) {
			t.Errorf("%q and %q share no synset (%v, %v)", p[0], p[1], lx.lookup(p[0]), lx.lookup(p[1]))
		}
	}
	for _, w := range []string{"xyzzy", "", "a"} {
		if ids := lx.lookup(w); ids != nil {
			t.Errorf("lookup(%q) = %v, want none", w, ids)
		}
	}
	if !strings.Contains(wordnetTable, "WordNet 3.0 Copyright 2006 by Princeton University") {
		t.Error("wordnet.txt lost its attribution")
	}
}
