package articles

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Options tune the index. The zero value takes the defaults, which were
// measured on the help-center eval set (docs/KNOWLEDGE.md).
type Options struct {
	// MaxPassageWords splits a section longer than this into passages of
	// about this many words at sentence boundaries (default DefaultMaxPassageWords).
	MaxPassageWords int
	// K1 and B are BM25's parameters (defaults DefaultK1, DefaultB).
	K1, B float64
	// TitleBoost and HeadingBoost weigh a word of the article's title and
	// of the passage's heading path against one of its text.
	TitleBoost, HeadingBoost float64
	// Threshold is the relevancy at or above which the best passage is a
	// confident match (default DefaultThreshold).
	Threshold float64
}

// Defaults of Options, measured in docs/KNOWLEDGE.md.
const (
	DefaultMaxPassageWords = 200
	DefaultK1              = 1.2
	DefaultB               = 0.5
	DefaultTitleBoost      = 2.0
	DefaultHeadingBoost    = 1.0
	DefaultThreshold       = 0.3
)

func (o Options) withDefaults() Options {
	o.MaxPassageWords = cmp.Or(o.MaxPassageWords, DefaultMaxPassageWords)
	o.K1 = cmp.Or(o.K1, DefaultK1)
	o.B = cmp.Or(o.B, DefaultB)
	o.TitleBoost = cmp.Or(o.TitleBoost, DefaultTitleBoost)
	o.HeadingBoost = cmp.Or(o.HeadingBoost, DefaultHeadingBoost)
	o.Threshold = cmp.Or(o.Threshold, DefaultThreshold)
	return o
}

// Passage is a piece of an article: the text under one heading, or a part
// of it when the section is long.
type Passage struct {
	// ID is "<article id>#<n>", n counting from 1 in the article.
	ID       string
	Article  *Article
	Headings []string
	Text     string
}

// Heading returns the passage's heading path, "A › B", or "" for the text
// before the first heading.
func (p *Passage) Heading() string { return strings.Join(p.Headings, " › ") }

// Hit is a retrieved passage with its BM25 score and its relevancy: the
// share, in [0, 1], of the question's term weight that the passage
// matches at BM25's saturation.
type Hit struct {
	Passage   *Passage
	Score     float64
	Relevance float64
}

// scratch is one search's working space, reused through a pool.
type scratch struct {
	scores, bonus []float32
	touched       []int32
}

type posting struct {
	doc int32
	tf  float32
}

// Index is a passage index over a set of articles. It is immutable once
// built and safe for concurrent use.
type Index struct {
	opts     Options
	articles []Article
	passages []Passage
	// hash identifies the articles' content and the options.
	hash     string
	terms    map[string]int32
	postings [][]posting
	idf      []float64
	norm     []float32 // per passage: k1*(1-b+b*len/avg)
	unseen   float64   // idf of a term no passage has
	// titles lists, per term, the articles whose title has it; first is
	// each article's first passage.
	titles [][]int32
	first  []int32
	// scratch holds per-search working space.
	scratch sync.Pool
}

// Build indexes articles' passages.
func Build(articles []Article, opts Options) *Index {
	return newIndex(articles, opts, Hash(articles, opts.withDefaults())).index()
}

// newIndex is an index of articles' passages with nothing indexed yet.
func newIndex(articles []Article, opts Options, hash string) *Index {
	ix := &Index{opts: opts.withDefaults(), articles: articles, hash: hash}
	for i := range ix.articles {
		ix.articles[i].idx = i
		ix.passages = append(ix.passages, split(&ix.articles[i], ix.opts.MaxPassageWords)...)
	}
	return ix
}

// index builds the lexical index of ix's passages.
func (ix *Index) index() *Index {
	ix.terms = map[string]int32{}
	lens := make([]float64, len(ix.passages))
	total := 0.0
	tf := map[int32]float64{}
	for d := range ix.passages {
		p := &ix.passages[d]
		clear(tf)
		add := func(text string, w float64, body bool) {
			eachTerm(text, func(t string) {
				id, ok := ix.terms[t]
				if !ok {
					id = int32(len(ix.postings))
					ix.terms[t] = id
					ix.postings = append(ix.postings, nil)
				}
				tf[id] += w
				if body {
					lens[d]++
				}
			})
		}
		add(p.Text, 1, true)
		add(p.Heading(), ix.opts.HeadingBoost, false)
		total += lens[d]
		for id, f := range tf {
			ix.postings[id] = append(ix.postings[id], posting{doc: int32(d), tf: float32(f)})
		}
	}
	// Titles are a field of the article, not of each passage: a title
	// word adds the same bonus to every passage of the article, so that
	// the title ranks articles and the passages' own text and headings
	// choose among an article's passages.
	ix.titles = make([][]int32, len(ix.postings))
	for a := range ix.articles {
		seen := map[string]bool{}
		for _, t := range terms(ix.articles[a].Title) {
			if seen[t] {
				continue
			}
			seen[t] = true
			if id, ok := ix.terms[t]; ok {
				ix.titles[id] = append(ix.titles[id], int32(a))
			}
		}
	}
	n := float64(len(ix.passages))
	avg := max(total/max(n, 1), 1)
	ix.norm = make([]float32, len(ix.passages))
	for d := range ix.passages {
		ix.norm[d] = float32(ix.opts.K1 * (1 - ix.opts.B + ix.opts.B*lens[d]/avg))
	}
	// One flat array for all postings, each term's slice cut from it at
	// its exact length: half the memory of grown slices.
	size := 0
	for _, ps := range ix.postings {
		size += len(ps)
	}
	flat := make([]posting, 0, size)
	for id, ps := range ix.postings {
		flat = append(flat, ps...)
		ix.postings[id] = flat[len(flat)-len(ps) : len(flat) : len(flat)]
	}
	return ix.finish()
}

// finish derives from the terms, postings and norms (built, or read from
// the cache) what search needs besides.
func (ix *Index) finish() *Index {
	ix.first = make([]int32, len(ix.articles))
	for d := len(ix.passages) - 1; d >= 0; d-- {
		ix.first[ix.passages[d].Article.idx] = int32(d)
	}
	n := float64(len(ix.passages))
	// A small help center would make every word it has common, and the
	// relevancy of any question low: idf counts at least minIDFDocs
	// passages.
	ix.idf = make([]float64, len(ix.postings))
	for id, ps := range ix.postings {
		ix.idf[id] = bm25IDF(max(n, minIDFDocs), float64(len(ps)))
	}
	ix.unseen = bm25IDF(max(n, minIDFDocs), 0)
	ix.scratch.New = func() any {
		return &scratch{scores: make([]float32, len(ix.passages)), bonus: make([]float32, len(ix.articles))}
	}
	return ix
}

// minIDFDocs is the least number of passages idf assumes: below it (a
// help center of a few dozen articles) a word in every passage would weigh
// nothing, and relevancy would not mean the same as on a real one.
const minIDFDocs = 500

func bm25IDF(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }

// Articles returns the indexed articles, by id.
func (ix *Index) Articles() []Article { return ix.articles }

// Passages returns the number of passages.
func (ix *Index) Passages() int { return len(ix.passages) }

// Hash identifies the indexed content and options.
func (ix *Index) Hash() string { return ix.hash }

// Threshold is the relevancy at or above which a best passage is confident.
func (ix *Index) Threshold() float64 { return ix.opts.Threshold }

// Passage returns the passage with id, or nil.
func (ix *Index) Passage(id string) *Passage {
	art, _, _ := strings.Cut(id, "#")
	i, ok := slices.BinarySearchFunc(ix.articles, art, func(a Article, id string) int { return strings.Compare(a.ID, id) })
	if !ok {
		return nil
	}
	for d := range ix.passages {
		if ix.passages[d].Article == &ix.articles[i] && ix.passages[d].ID == id {
			return &ix.passages[d]
		}
	}
	return nil
}

// Search returns the k best passages for text, best first. Passages that
// match none of its terms are not returned.
func (ix *Index) Search(text string, k int) []Hit {
	if len(text) > maxQueryBytes {
		text = strings.ToValidUTF8(text[:maxQueryBytes], "")
	}
	qs := terms(text)
	slices.Sort(qs)
	qs = slices.Compact(qs)
	if len(qs) == 0 || k <= 0 || len(ix.passages) == 0 {
		return nil
	}
	sc := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(sc)
	scores, bonus := sc.scores, sc.bonus
	clear(scores)
	clear(bonus)
	k1 := float32(ix.opts.K1)
	maxScore := 0.0
	touched := sc.touched[:0]
	defer func() { sc.touched = touched[:0] }()
	for _, t := range qs {
		id, ok := ix.terms[t]
		if !ok {
			maxScore += ix.unseen * (ix.opts.K1 + 1 + ix.opts.TitleBoost)
			continue
		}
		idf := ix.idf[id]
		maxScore += idf * (ix.opts.K1 + 1 + ix.opts.TitleBoost)
		w := float32(idf) * (k1 + 1)
		for _, p := range ix.postings[id] {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			scores[p.doc] += w * p.tf / (p.tf + ix.norm[p.doc])
		}
		for _, a := range ix.titles[id] {
			if bonus[a] == 0 {
				if d := ix.first[a]; scores[d] == 0 {
					touched = append(touched, d) // a title match with no word in the text
					scores[d] = math.SmallestNonzeroFloat32
				}
			}
			bonus[a] += float32(idf * ix.opts.TitleBoost)
		}
	}
	for _, d := range touched {
		scores[d] += bonus[ix.passages[d].Article.idx]
	}
	// Partial selection: keep the k best in a small sorted slice.
	top := make([]Hit, 0, k+1)
	for _, d := range touched {
		s := float64(scores[d])
		if len(top) == k && s <= top[k-1].Score {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, s, func(h Hit, s float64) int { return cmp.Compare(s, h.Score) })
		top = slices.Insert(top, i, Hit{Passage: &ix.passages[d], Score: s})
		if len(top) > k {
			top = top[:k]
		}
	}
	for i := range top {
		top[i].Relevance = min(top[i].Score/maxScore, 1)
	}
	return top
}

// ArticleHit is an article's best passage and its aggregated score.
type ArticleHit struct {
	Article *Article
	Best    Hit
	Score   float64
}

// SearchArticles ranks articles by their best passage's score plus
// SecondWeight times the score of their second-best (an article that
// answers from two places is likelier the one), best first. It looks at
// the best perArticle*k passages.
func (ix *Index) SearchArticles(text string, k int) []ArticleHit {
	return aggregate(ix.Search(text, max(k*8, 50)), k)
}

// aggregate groups passage hits (best first) by article: an article scores
// its best passage's score plus SecondWeight times its second-best's.
func aggregate(hits []Hit, k int) []ArticleHit {
	var out []ArticleHit
	idx := map[*Article]int{}
	for _, h := range hits {
		a := h.Passage.Article
		i, ok := idx[a]
		if !ok {
			idx[a] = len(out)
			out = append(out, ArticleHit{Article: a, Best: h, Score: h.Score})
			continue
		}
		if out[i].Score == out[i].Best.Score { // the second passage of this article
			out[i].Score += SecondWeight * h.Score
		}
	}
	slices.SortStableFunc(out, func(a, b ArticleHit) int { return cmp.Compare(b.Score, a.Score) })
	return out[:min(k, len(out))]
}

// SecondWeight is the weight of an article's second-best passage in its score.
const SecondWeight = 0.3

// split cuts an article's sections into passages of at most about
// maxWords words, at sentence ends when it can.
func split(a *Article, maxWords int) []Passage {
	var out []Passage
	for _, s := range a.Sections {
		for _, t := range chunk(s.Text, maxWords) {
			out = append(out, Passage{ID: a.ID + "#" + strconv.Itoa(len(out)+1), Article: a, Headings: s.Headings, Text: t})
		}
	}
	return out
}

// chunk splits text into pieces of at most about maxWords words, ending
// pieces at a sentence end (". ", "? ", "! ", a line break) when one falls
// in the second half of the piece.
func chunk(text string, maxWords int) []string {
	if countFields(text) <= maxWords+maxWords/4 {
		return []string{strings.TrimSpace(text)} // shares the section's memory
	}
	fs := strings.Fields(text)
	var out []string
	for len(fs) > 0 {
		if len(fs) <= maxWords+maxWords/4 {
			out = append(out, strings.Join(fs, " "))
			break
		}
		cut := maxWords
		for i := maxWords; i > maxWords/2; i-- {
			if w := fs[i-1]; strings.HasSuffix(w, ".") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, "!") || strings.HasSuffix(w, ":") {
				cut = i
				break
			}
		}
		out = append(out, strings.Join(fs[:cut], " "))
		fs = fs[cut:]
	}
	return out
}

// countFields is len(strings.Fields(s)) without the slice.
func countFields(s string) int {
	n, in := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			in = false
		} else if !in {
			in, n = true, n+1
		}
	}
	return n
}
