package faq

import (
	"crypto/sha256"
	_ "embed"
	"strconv"
	"strings"
	"sync"
)

// wordnetTable maps words to WordNet synsets (wordnet.txt, derived from
// WordNet 3.0 by internal/wngen; the licence is in WORDNET-LICENSE).
//
//go:generate go run ./internal/wngen -dict /usr/share/wordnet -out wordnet.txt
//go:embed wordnet.txt
var wordnetTable string

// wordnetHash identifies the synonym table in the cache key.
var wordnetHash = sync.OnceValue(func() [32]byte { return sha256.Sum256([]byte(wordnetTable)) })

// lexicon is the parsed synonym table.
type lexicon struct {
	concepts  map[string][]int32 // word → synsets of its most frequent senses
	irregular map[string]string  // inflected form → lemma ("went" → "go")
}

var wordnet = sync.OnceValue(func() *lexicon {
	lx := &lexicon{concepts: make(map[string][]int32, 48000), irregular: make(map[string]string, 6000)}
	for line := range strings.Lines(wordnetTable) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '=' {
			form, lemma, _ := strings.Cut(line[1:], " ")
			lx.irregular[form] = lemma
			continue
		}
		fs := strings.Fields(line)
		ids := make([]int32, 0, len(fs)-1)
		for _, f := range fs[1:] {
			n, err := strconv.Atoi(f)
			if err != nil {
				panic("faq: wordnet.txt: " + line)
			}
			ids = append(ids, int32(n))
		}
		lx.concepts[fs[0]] = ids
	}
	return lx
})

// detach lists WordNet's inflection rules (morphy): a suffix and what
// replaces it to give a lemma candidate.
var detach = [][2]string{
	{"ies", "y"}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"},
	{"es", "e"}, {"es", ""}, {"s", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""},
	{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"},
}

// lookup returns the synsets of word or of its lemma.
func (lx *lexicon) lookup(word string) []int32 {
	if ids, ok := lx.concepts[word]; ok {
		return ids
	}
	if lemma, ok := lx.irregular[word]; ok {
		return lx.concepts[lemma]
	}
	for _, d := range detach {
		if stem, ok := strings.CutSuffix(word, d[0]); ok && len(stem) >= 2 {
			if ids, ok := lx.concepts[stem+d[1]]; ok {
				return ids
			}
		}
	}
	return nil
}
