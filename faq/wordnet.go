package faq

import (
	"bytes"
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

// lexicon is the parsed synonym table.
type lexicon struct {
	concepts  map[string][]int32 // word → synsets of its most frequent senses
	hypers    map[string][]int32 // word → the hypernyms of those synsets
	irregular map[string]string  // inflected form → lemma ("went" → "go")
}

// topicsTable maps words to the HWU64 intents and scenarios they are
// typical of (topics.txt, derived from the HWU64 corpus by internal/hwugen;
// CC BY 4.0, attribution in the file).
//
//go:embed topics.txt
var topicsTable string

var (
	wordnet    = sync.OnceValue(func() *lexicon { return parseLexicon(wordnetTable, "wordnet.txt") })
	topics     = sync.OnceValue(func() *lexicon { return parseLexicon(topicsTable, "topics.txt") })
	tablesHash = sync.OnceValue(func() [32]byte { return sha256.Sum256([]byte(wordnetTable + topicsTable)) })
)

// parseLexicon parses a table made by internal/wngen or internal/hwugen.
func parseLexicon(table, name string) *lexicon {
	lx := &lexicon{concepts: map[string][]int32{}, hypers: map[string][]int32{}, irregular: map[string]string{}}
	for line := range strings.Lines(table) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '=' {
			form, lemma, _ := strings.Cut(line[1:], " ")
			lx.irregular[form] = lemma
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		direct, hyper, _ := strings.Cut(rest, "|")
		parse := func(f string) []int32 {
			var ids []int32
			for _, x := range strings.Fields(f) {
				n, err := strconv.Atoi(x)
				if err != nil {
					panic("faq: " + name + ": " + line)
				}
				ids = append(ids, int32(n))
			}
			return ids
		}
		lx.concepts[word] = parse(direct)
		if h := parse(hyper); len(h) > 0 {
			lx.hypers[word] = h
		}
	}
	return lx
}

// detach lists WordNet's inflection rules (morphy): a suffix and what
// replaces it to give a lemma candidate.
var detach = [][2]string{
	{"ies", "y"}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"},
	{"es", "e"}, {"es", ""}, {"s", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""},
	{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"},
}

// lookup returns the synsets of word or of its lemma.
func (lx *lexicon) lookup(word string) []int32 {
	var buf []byte
	ids, _ := lx.lookupBytes([]byte(word), &buf)
	return ids
}

// lookupBytes is lookup on a word's UTF-8 bytes, with *buf as working
// space (once that has grown, it does not allocate); it also returns the
// hypernyms of the word's synsets.
func (lx *lexicon) lookupBytes(word []byte, buf *[]byte) (ids, hypers []int32) {
	if ids, ok := lx.concepts[string(word)]; ok {
		return ids, lx.hypers[string(word)]
	}
	if lemma, ok := lx.irregular[string(word)]; ok {
		return lx.concepts[lemma], lx.hypers[lemma]
	}
	for _, d := range detach {
		if stem, ok := bytes.CutSuffix(word, []byte(d[0])); ok && len(stem) >= 2 {
			*buf = append(append((*buf)[:0], stem...), d[1]...)
			if ids, ok := lx.concepts[string(*buf)]; ok {
				return ids, lx.hypers[string(*buf)]
			}
		}
	}
	return nil, nil
}
