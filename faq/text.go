package faq

import (
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// MaxInputBytes caps the text that Match looks at: a question is short, and a
// pasted log or a hostile megabyte must cost no more than a question does.
// Longer input is cut at a rune boundary.
const MaxInputBytes = 4 << 10

// capInput cuts s to at most MaxInputBytes without splitting a rune.
func capInput(s string) string {
	if len(s) <= MaxInputBytes {
		return s
	}
	s = s[:MaxInputBytes]
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// isApostrophe reports whether r joins the parts of a word ("don't",
// "customer’s") rather than separating words.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u02bc', '\u2018', '`', '\u00b4':
		return true
	}
	return false
}

// textBuf is reusable working space for turning a text into features.
type textBuf struct {
	runes  []rune     // the words' lower-cased runes, back to back
	words  [][2]int32 // each word's [start, end) in runes
	chars  []rune     // a word or the text with boundary marks
	hashes []uint64
	feats  []rawFeature
	utf8   []byte // a word's UTF-8, for the lexicons
	lemma  []byte // a lemma candidate
}

// wordUTF8 returns the i-th word as UTF-8, valid until the next call.
func (b *textBuf) wordUTF8(i int) []byte {
	b.utf8 = b.utf8[:0]
	for _, r := range b.word(i) {
		b.utf8 = utf8.AppendRune(b.utf8, r)
	}
	return b.utf8
}

// word returns the i-th word's runes.
func (b *textBuf) word(i int) []rune { return b.runes[b.words[i][0]:b.words[i][1]] }

// tokenize lower-cases s (cut to MaxInputBytes) and splits it into words:
// runs of letters, digits and combining marks. Apostrophes inside a word
// are dropped ("don't" → "dont"); every other rune (punctuation, symbols,
// space, invalid UTF-8) separates words.
func (b *textBuf) tokenize(s string) {
	s = capInput(s)
	b.runes, b.words = b.runes[:0], b.words[:0]
	start := 0
	flush := func() {
		if len(b.runes) > start {
			b.words = append(b.words, [2]int32{int32(start), int32(len(b.runes))})
		}
		start = len(b.runes)
	}
	for i, r := range s {
		inWord := len(b.runes) > start
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (inWord && unicode.Is(unicode.Mn, r)):
			b.runes = append(b.runes, unicode.ToLower(r))
		case inWord && isApostrophe(r):
			// Keep the word going only if a letter follows.
			if next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):]); !unicode.IsLetter(next) {
				flush()
			}
		default:
			flush()
		}
	}
	flush()
}

// tokenize returns the words of s, as textBuf.tokenize splits them.
func tokenize(s string) []string {
	var b textBuf
	b.tokenize(s)
	var words []string
	for i := range b.words {
		words = append(words, string(b.word(i)))
	}
	return words
}

// featureConfig says which features a text turns into. It is part of the
// model: a cached model is only reused with the same config.
type featureConfig struct {
	WordWeight   float32 // weight of word unigrams
	BigramWeight float32 // weight of word bigrams (with sentence boundaries)
	CharWeight   float32 // weight of character n-grams within words
	// SpanWeight weighs character n-grams over the whole text, across word
	// boundaries (words joined by one space).
	SpanWeight float32
	// ConceptWeight weighs WordNet synsets of the words (wordnet.go), so
	// that synonyms ("modify", "change") share a feature.
	ConceptWeight float32
	// Hypernyms adds the synsets' hypernyms as synset features ("dog" and
	// "cat" share "domestic animal").
	Hypernyms bool
	// TopicWeight weighs the HWU64 intents and scenarios the words are
	// typical of (topics.txt), so that "wake" and "alarm" share a feature.
	TopicWeight float32
	CharMin     int // shortest character n-gram
	CharMax     int // longest character n-gram
}

// Feature kinds. The kind is kept in the top three bits of a feature's hash,
// so that the word "ab" and the character bigram "ab" are different
// features and the kind's weight can be looked up from the hash.
const (
	kindWord = iota
	kindBigram
	kindChar
	kindSpan
	kindConcept
	kindTopic
	kindShift = 61
	hashMask  = 1<<kindShift - 1
)

// weights returns the weight of each feature kind.
func (c featureConfig) weights() [8]float32 {
	return [8]float32{kindWord: c.WordWeight, kindBigram: c.BigramWeight, kindChar: c.CharWeight, kindSpan: c.SpanWeight, kindConcept: c.ConceptWeight, kindTopic: c.TopicWeight}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashRune(h uint64, r rune) uint64 {
	h ^= uint64(r)
	h *= fnvPrime
	return h
}

func hashRunes(h uint64, rs []rune) uint64 {
	for _, r := range rs {
		h = hashRune(h, r)
	}
	return h
}

// Sentence boundaries for bigrams.
var (
	startMark = []rune{2}
	endMark   = []rune{3}
)

func withKind(h uint64, kind uint64) uint64 { return h&hashMask | kind<<kindShift }

// rawFeature is a hashed feature and how often the text has it.
type rawFeature struct {
	hash  uint64
	count float32
}

// extract turns the text tokenized in b into hashed features with their
// counts, each hash once. The result is b.feats: valid until the next call.
func (c featureConfig) extract(b *textBuf) []rawFeature {
	hashes := b.hashes[:0]
	n := len(b.words)
	if c.WordWeight > 0 {
		for i := range n {
			hashes = append(hashes, withKind(hashRunes(fnvOffset, b.word(i)), kindWord))
		}
	}
	if c.BigramWeight > 0 {
		prev := startMark
		for i := 0; i <= n; i++ {
			w := endMark
			if i < n {
				w = b.word(i)
			}
			h := hashRune(hashRunes(fnvOffset, prev), 0)
			hashes = append(hashes, withKind(hashRunes(h, w), kindBigram))
			prev = w
		}
	}
	if c.ConceptWeight > 0 {
		lx := wordnet()
		for i := range n {
			ids, hypers := lx.lookupBytes(b.wordUTF8(i), &b.lemma)
			for _, id := range ids {
				hashes = append(hashes, withKind(hashRune(fnvOffset, rune(id)), kindConcept))
			}
			if c.Hypernyms {
				for _, id := range hypers {
					hashes = append(hashes, withKind(hashRune(fnvOffset, rune(id)), kindConcept))
				}
			}
		}
	}
	if c.TopicWeight > 0 {
		lx := topics()
		for i := range n {
			ids, _ := lx.lookupBytes(b.wordUTF8(i), &b.lemma)
			for _, id := range ids {
				hashes = append(hashes, withKind(hashRune(fnvOffset, rune(id)), kindTopic))
			}
		}
	}
	ngrams := func(kind uint64) {
		chars := b.chars
		for i := range chars {
			h := uint64(fnvOffset)
			for n := 1; n <= c.CharMax && i+n <= len(chars); n++ {
				h = hashRune(h, chars[i+n-1])
				if n >= c.CharMin {
					hashes = append(hashes, withKind(h^uint64(n), kind))
				}
			}
		}
	}
	if c.SpanWeight > 0 {
		b.chars = append(b.chars[:0], '<')
		for i := range n {
			if i > 0 {
				b.chars = append(b.chars, ' ')
			}
			b.chars = append(b.chars, b.word(i)...)
		}
		b.chars = append(b.chars, '>')
		ngrams(kindSpan)
	}
	if c.CharWeight > 0 {
		for i := range n {
			b.chars = append(b.chars[:0], '<')
			b.chars = append(b.chars, b.word(i)...)
			b.chars = append(b.chars, '>')
			ngrams(kindChar)
		}
	}
	// Count duplicates: sort and merge runs.
	slices.Sort(hashes)
	feats := b.feats[:0]
	for _, h := range hashes {
		if n := len(feats); n > 0 && feats[n-1].hash == h {
			feats[n-1].count++
			continue
		}
		feats = append(feats, rawFeature{hash: h, count: 1})
	}
	b.hashes, b.feats = hashes, feats
	return feats
}

// sparse is a feature vector: column indexes into the model and values.
type sparse struct {
	idx []int32
	val []float32
}

// vectorize maps raw features to model columns, weights them by sublinear
// term frequency, inverse document frequency and feature group, and
// normalises the vector to unit length. Features the model has not seen are
// dropped; known is the share of the squared weight they would have had
// (with the IDF of a feature seen nowhere, unknownIDF), so that a question
// made of words the knowledge base never uses scores low.
// The vector is appended to v's slices from length 0.
func vectorize(v sparse, feats []rawFeature, weights [8]float32, vocab map[uint64]int32, idf []float32, unknownIDF float32) (_ sparse, known float32) {
	v.idx, v.val = v.idx[:0], v.val[:0]
	var norm, total float64
	for _, f := range feats {
		tf := weights[f.hash>>kindShift]
		if f.count > 1 {
			tf *= 1 + float32(math.Log(float64(f.count)))
		}
		j, ok := vocab[f.hash]
		if !ok {
			x := float64(tf * unknownIDF)
			total += x * x
			continue
		}
		x := tf * idf[j]
		v.idx = append(v.idx, j)
		v.val = append(v.val, x)
		norm += float64(x) * float64(x)
	}
	total += norm
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range v.val {
			v.val[i] *= inv
		}
		known = float32(norm / total)
	}
	return v, known
}
