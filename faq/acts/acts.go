// Package acts recognises conversation acts: the small talk around an answer
// (a greeting, thanks, goodbye, yes, no, or a rejection of the last answer)
// that the engine handles itself instead of searching the FAQ.
//
// Recognition is built for precision. A message is an act only when act
// phrases and fillers ("so", "ai", "my friend", punctuation, emoji) cover all
// of it, so "thanks, but how do I cancel?" is not thanks: Parse finds the
// leading act and returns the question after it, to be answered as if the
// act had not been there.
//
// The phrases are data (phrases.txt, embedded), in sections named after the
// acts. A phrase may hold groups of alternatives: "(it was|this was|) (nice|
// lovely) talking to you" stands for each combination, an empty alternative
// making the group optional. Operators can replace the list with their own
// file (see Parse).
package acts

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Act is one conversation act.
type Act string

// Acts, and None for a message that is not one.
const (
	None      Act = ""
	Greeting  Act = "greeting"
	Thanks    Act = "thanks" // thanks or an acknowledgement ("ok", "great", "that worked")
	Goodbye   Act = "goodbye"
	Yes       Act = "yes"
	No        Act = "no"
	Rejection Act = "rejection" // the last answer did not help
)

// order ranks acts when a message holds several: the strongest wins
// ("thanks, bye" is a goodbye; "no, that's wrong" a rejection).
var order = []Act{Rejection, No, Yes, Goodbye, Thanks, Greeting}

const filler = "filler"

//go:embed phrases.txt
var defaultPhrases []byte

// Result is what Parse found in a message.
type Result struct {
	// Act is the message's act when act phrases and fillers cover all of it,
	// else None.
	Act Act
	// Lead is the act that opens a message that goes on with something
	// else (a question), and Rest is that remainder, verbatim. Both are
	// empty when Act is set or nothing opens the message.
	Lead Act
	Rest string
}

// Recognizer finds acts in messages. It is safe for concurrent use.
type Recognizer struct {
	// byFirst indexes the patterns by the words they may start with.
	byFirst map[string][]*pattern
	// vocab holds every word of every phrase, to undo stretched words.
	vocab map[string]bool
	// conj are the words that may join an act to a question ("but").
	conj map[string]bool
}

// pattern is one phrase line: a sequence of groups, each a set of
// alternative word sequences (an empty one makes the group optional).
type pattern struct {
	groups [][][]string
	bit    uint8 // the act's bit; 0 for a filler
}

var bits = map[Act]uint8{Greeting: 1, Thanks: 2, Goodbye: 4, Yes: 8, No: 16, Rejection: 32}

var def = func() *Recognizer {
	r, err := Parse(defaultPhrases)
	if err != nil {
		panic(fmt.Sprintf("acts: embedded phrases: %v", err))
	}
	return r
}()

// Default returns the recognizer of the embedded phrase list.
func Default() *Recognizer { return def }

// DefaultPhrases returns the embedded phrase list, a starting point for an
// operator's own file.
func DefaultPhrases() []byte { return append([]byte(nil), defaultPhrases...) }

// Parse reads a phrase list: "[act]" section headers (greeting, thanks,
// goodbye, yes, no, rejection, filler, conjunction), one phrase a line, "#"
// comments. It returns an error that names the line for an unknown section,
// an unbalanced group or a phrase outside a section.
func Parse(data []byte) (*Recognizer, error) {
	r := &Recognizer{byFirst: map[string][]*pattern{}, vocab: map[string]bool{}, conj: map[string]bool{}}
	section := ""
	for n, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			if _, ok := bits[Act(section)]; !ok && section != filler && section != "conjunction" {
				return nil, fmt.Errorf("line %d: unknown section %q", n+1, section)
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: phrase before the first [section]", n+1)
		}
		p, err := parsePattern(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		p.bit = bits[Act(section)]
		for _, g := range p.groups {
			for _, alt := range g {
				for _, w := range alt {
					r.vocab[w] = true
				}
			}
		}
		if section == "conjunction" {
			for _, g := range p.groups {
				for _, alt := range g {
					if len(alt) > 0 {
						r.conj[strings.Join(alt, " ")] = true
					}
				}
			}
			continue
		}
		first := map[string]bool{}
		for _, g := range p.groups {
			optional := false
			for _, alt := range g {
				if len(alt) == 0 {
					optional = true
				} else {
					first[alt[0]] = true
				}
			}
			if !optional {
				break
			}
		}
		for w := range first {
			r.byFirst[w] = append(r.byFirst[w], p)
		}
	}
	return r, nil
}

// parsePattern splits a phrase into groups: "(a|b c|)" is a group, and each
// word outside parentheses a group of its own.
func parsePattern(line string) (*pattern, error) {
	p := &pattern{}
	for line != "" {
		i := strings.IndexAny(line, "()|")
		if i < 0 {
			p.groups = appendWords(p.groups, line)
			break
		}
		if line[i] != '(' {
			return nil, fmt.Errorf("%q outside a group", line[i])
		}
		j := strings.IndexAny(line[i+1:], "()")
		if j < 0 || line[i+1+j] != ')' {
			return nil, fmt.Errorf("unbalanced group")
		}
		p.groups = appendWords(p.groups, line[:i])
		var g [][]string
		for _, alt := range strings.Split(line[i+1:i+1+j], "|") {
			g = append(g, words(alt))
		}
		p.groups = append(p.groups, g)
		line = line[i+2+j:]
	}
	return p, nil
}

func appendWords(groups [][][]string, s string) [][][]string {
	for _, w := range words(s) {
		groups = append(groups, [][]string{{w}})
	}
	return groups
}

// ends returns the positions where p, matched from toks[i], can end.
func (p *pattern) ends(toks []token, i int) []int {
	at := []int{i}
	for _, g := range p.groups {
		var next []int
		for _, pos := range at {
			for _, alt := range g {
				e := pos + len(alt)
				if e <= len(toks) && matches(toks[pos:e], alt) && !slices.Contains(next, e) {
					next = append(next, e)
				}
			}
		}
		if len(next) == 0 {
			return nil
		}
		at = next
	}
	return at
}

// token is one word of a message, with its place in the text and whether a
// boundary (punctuation, a line break, an emoji) follows it.
type token struct {
	w          string
	start, end int
	boundary   bool
}

// words splits a phrase into normalised words.
func words(s string) []string {
	var out []string
	for _, t := range tokenize(s) {
		out = append(out, t.w)
	}
	return out
}

// tokenize lower-cases s, drops apostrophes (so "thats" and "that's" are the
// same word) and splits it into words; symbols such as emoji are words of
// their own, and other punctuation marks a boundary.
func tokenize(s string) []token {
	var out []token
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if start >= 0 {
			out = append(out, token{w: b.String(), start: start, end: end})
			b.Reset()
			start = -1
		}
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start = i
			}
			b.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’' || r == '`') && start >= 0:
			// inside a word: "that's" → "thats"
		case unicode.IsSpace(r) && r != '\n':
			flush(i)
		case unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r):
			flush(i)
			if (r >= 0x1F3FB && r <= 0x1F3FF) || r == 0xFE0F {
				continue // skin tone and variation selectors
			}
			out = append(out, token{w: string(r), start: i, end: i + utf8.RuneLen(r), boundary: true})
		default: // punctuation, line breaks, other marks
			flush(i)
			if n := len(out); n > 0 {
				out[n-1].boundary = true
			}
		}
	}
	flush(len(s))
	return out
}

// maxWord bounds the words destretch looks at: no act phrase is longer.
const maxWord = 40

// destretch undoes a stretched word ("thanksss", "hiii", "sooo") when the
// shortened form is a known word.
func (r *Recognizer) destretch(w string) string {
	if r.vocab[w] || len(w) > maxWord {
		return w
	}
	runes := []rune(w)
	squeeze := func(keep int) string {
		var b strings.Builder
		run := 0
		for i, c := range runes {
			if i > 0 && runes[i-1] == c {
				run++
			} else {
				run = 0
			}
			if run < keep {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	for _, keep := range []int{2, 1} {
		if s := squeeze(keep); r.vocab[s] {
			return s
		}
	}
	return w
}

// Parse finds the act of a message: the whole message's, or the act that
// opens it and the remainder after it.
func (r *Recognizer) Parse(text string) Result {
	toks := tokenize(text)
	for i := range toks {
		if !isSymbol(toks[i].w) {
			toks[i].w = r.destretch(toks[i].w)
		}
	}
	n := len(toks)
	if n == 0 {
		return Result{}
	}
	// reach[i] holds the act bits of the fewest phrases that cover toks[:i]
	// (ties: all of them), with bit 7 set when toks[:i] can be covered at all;
	// cost[i] is that number of phrases. The fewest phrases read a message as
	// its speaker meant it: "it was lovely to speak with you" is one goodbye,
	// not "it was" (yes) and a goodbye.
	const ok = 1 << 7
	reach := make([]uint8, n+1)
	cost := make([]int, n+1)
	reach[0] = ok
	relax := func(e int, b uint8, c int) {
		switch {
		case reach[e] == 0 || c < cost[e]:
			reach[e], cost[e] = b, c
		case c == cost[e]:
			reach[e] |= b
		}
	}
	for i := 0; i < n; i++ {
		if reach[i] == 0 {
			continue
		}
		if isSymbol(toks[i].w) && len(r.byFirst[toks[i].w]) == 0 {
			relax(i+1, reach[i], cost[i]) // an emoji with no meaning of its own
		}
		for _, p := range r.byFirst[toks[i].w] {
			for _, e := range p.ends(toks, i) {
				if e > i {
					relax(e, reach[i]|p.bit, cost[i]+1)
				}
			}
		}
	}
	if reach[n]&^ok != 0 {
		return Result{Act: strongest(reach[n])}
	}
	// The longest opening covered by acts that ends where the message turns to
	// something else: after punctuation, before "but"/"and", or a short
	// greeting ("hi how do I …").
	for p := n - 1; p > 0; p-- {
		acts := reach[p] &^ ok
		if acts == 0 {
			continue
		}
		rest := p
		for k := 3; k >= 1; k-- {
			if rest+k < n && r.conj[joinWords(toks[rest:rest+k])] {
				rest += k
				break
			}
		}
		if !toks[p-1].boundary && rest == p && !(acts == bits[Greeting] && p <= 2) {
			continue
		}
		if rest >= n {
			continue
		}
		return Result{Lead: strongest(acts), Rest: strings.TrimSpace(text[toks[rest].start:])}
	}
	return Result{}
}

func joinWords(ts []token) string {
	w := make([]string, len(ts))
	for i, t := range ts {
		w[i] = t.w
	}
	return strings.Join(w, " ")
}

func matches(ts []token, ws []string) bool {
	for i, w := range ws {
		if ts[i].w != w {
			return false
		}
	}
	return true
}

func isSymbol(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

func strongest(b uint8) Act {
	for _, a := range order {
		if b&bits[a] != 0 {
			return a
		}
	}
	return None
}
