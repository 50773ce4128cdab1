package faq

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"slices"
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

// lexicon is a parsed table: each word's ids (synsets or topics), and the
// hypernyms of its synsets, kept in one arena to keep the heap small (the
// words are substrings of the embedded table).
type lexicon struct {
	words     map[string]lexEntry
	ids       []int32           // the arena
	irregular map[string]string // inflected form → lemma ("went" → "go")
}

// lexEntry locates a word's ids in the arena: n ids, then h hypernyms.
type lexEntry struct {
	off  uint32
	n, h uint16
}

// get returns the ids and the hypernyms of word.
func (lx *lexicon) get(word string) (ids, hypers []int32, ok bool) {
	e, ok := lx.words[word]
	if !ok {
		return nil, nil, false
	}
	a := lx.ids[e.off : e.off+uint32(e.n)+uint32(e.h)]
	return a[:e.n:e.n], a[e.n:], true
}

// parseLexicon parses a table made by internal/wngen or internal/hwugen.
func parseLexicon(table, name string) *lexicon {
	lx := &lexicon{words: map[string]lexEntry{}, irregular: map[string]string{}}
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
		e := lexEntry{off: uint32(len(lx.ids))}
		for i, f := range []string{direct, hyper} {
			for _, x := range strings.Fields(f) {
				n, err := strconv.Atoi(x)
				if err != nil {
					panic("faq: " + name + ": " + line)
				}
				lx.ids = append(lx.ids, int32(n))
				if i == 0 {
					e.n++
				} else {
					e.h++
				}
			}
		}
		lx.words[word] = e
	}
	lx.ids = slices.Clip(lx.ids)
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
	if ids, hypers, ok := lx.get(string(word)); ok {
		return ids, hypers
	}
	if lemma, ok := lx.irregular[string(word)]; ok {
		ids, hypers, _ := lx.get(lemma)
		return ids, hypers
	}
	for _, d := range detach {
		if stem, ok := bytes.CutSuffix(word, []byte(d[0])); ok && len(stem) >= 2 {
			*buf = append(append((*buf)[:0], stem...), d[1]...)
			if ids, hypers, ok := lx.get(string(*buf)); ok {
				return ids, hypers
			}
		}
	}
	return nil, nil
}
