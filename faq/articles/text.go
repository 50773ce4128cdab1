package articles

import (
	"strings"
	"unicode"
)

// maxQueryBytes caps the text a question is read from: a pasted log must
// cost no more than a question does.
const maxQueryBytes = 4 << 10

// words returns the lower-cased words of s: runs of letters, digits and
// combining marks. An apostrophe separates words ("veteran's" → "veteran",
// "s"; "don't" → "don", "t"), whose stray parts are stopwords. The words
// are substrings of one lower-cased copy of s: indexing a large help
// center allocates little.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// terms returns the index terms of s: words without stopwords, stemmed.
func terms(s string) []string {
	var out []string
	eachTerm(s, func(t string) { out = append(out, t) })
	return out
}

// eachTerm calls f with each index term of s, in order, without building
// a slice of its words.
func eachTerm(s string, f func(string)) {
	low := strings.ToLower(s)
	start := -1
	for i, r := range low {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if w := low[start:i]; !stopwords[w] {
				f(stem(w))
			}
			start = -1
		}
	}
	if start >= 0 {
		if w := low[start:]; !stopwords[w] {
			f(stem(w))
		}
	}
}

// stopwords are function words and the glue of questions ("how do I",
// "can you tell me", "information about", "good morning, hope you're
// doing well"), which say nothing about what a question is about and,
// when counted, lower its relevancy however well a passage matches it.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if then else of to in on at by for with from
		into onto over under about as is are was were be been being am do does did doing done have has had
		having i me my mine myself we us our ours you your yours he him his she her hers it its they them
		their theirs this that these those there here what which who whom whose when where why how
		can could would should will shall may might must not no nor so too very just also only than
		s t ll d m re ve don doesn didn isn aren wasn weren won wouldn couldn shouldn cant dont
		hi hello hey please thanks thank tell know like want wanted need needs get got give let
		some any all each more most much many other such own same one ones im ive id youre
		information info details detail question questions help regarding wondering trying looking
		go going able way ok okay yes up out just also
		good morning afternoon evening night day doing hope well hopefully kinda kind sort perhaps maybe
		say said heard hear learn find found look looking search searching guidance assist assistance
		use using came come little bit something anything things thing curious interested interest
		wondered wonder think thought sure already still really actually`) {
		m[w] = true
	}
	return m
}()

// stem strips common English suffixes so that inflections and close
// derivations share a term ("applying", "applied", "applies" → "appli";
// "payments" → "payment"). It is a light stemmer in the spirit of Porter's
// step 1 with a few step-2 endings; it only has to map related words to
// one key, not produce a word.
func stem(w string) string {
	if len(w) <= 3 || !isASCII(w) {
		return w
	}
	for _, s := range [...]struct{ suf, rep string }{
		{"ational", "ate"}, {"ization", "ize"}, {"fulness", "ful"}, {"iveness", "ive"},
		{"ations", "ate"}, {"ation", "ate"}, {"ements", "e"}, {"ement", "e"},
		{"ments", ""}, {"ment", ""}, {"ities", ""}, {"ity", ""}, {"ness", ""},
		{"ingly", ""}, {"edly", ""}, {"ings", ""}, {"ing", ""}, {"ies", "y"}, {"ied", "y"},
		{"sses", "ss"}, {"ed", ""}, {"ly", ""}, {"es", "e"}, {"s", ""},
	} {
		if strings.HasSuffix(w, s.suf) && len(w)-len(s.suf) >= 3 {
			if s.suf == "s" && (strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is")) {
				continue
			}
			if s.suf == "ly" && len(w) < 6 {
				continue // "apply", "only"
			}
			if s.suf == "es" && !strings.ContainsAny(w[len(w)-3:len(w)-2], "sxzh") {
				continue // "homes" → "home" + "s" below
			}
			w = w[:len(w)-len(s.suf)] + s.rep
			break
		}
	}
	// "applying"→"apply", "apply"→"appli": y and i agree.
	if n := len(w); n > 3 && w[n-1] == 'y' {
		w = w[:n-1] + "i"
	}
	if n := len(w); n > 3 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	if n := len(w); n > 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
		w = w[:n-1] // "stopped" → "stopp" → "stop"
	}
	return w
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
