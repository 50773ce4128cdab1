package articles

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/internal/atomicfile"
	"github.com/supportbot/supportbot/internal/vector"
)

// EmbedBatch is the number of passages per embeddings request.
const EmbedBatch = 64

// RRFK is the constant of reciprocal rank fusion (Cormack et al. 2009): a
// passage's fused score is the sum over rankings of 1/(RRFK+rank).
const RRFK = 60

// Vectors are the embeddings of passages, kept per passage content hash
// (the model, the article's title, the heading path and the text), so that
// a changed help center re-embeds only the passages that changed. With Dir
// set they are kept on disk too. Safe for concurrent use.
type Vectors struct {
	Embedder bot.Embedder
	Model    string
	// Dir holds the cache file ("" keeps the vectors in memory only).
	Dir string

	mu     sync.Mutex
	byHash map[[32]byte][]float32
	loaded bool
}

// passageKey is a passage's content hash under model.
func passageKey(model string, p *Passage) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "supportbot passage v1\n%d:%s%d:%s%d:%s%d:", len(model), model, len(p.Article.Title), p.Article.Title,
		len(p.Heading()), p.Heading(), len(p.Text))
	h.Write([]byte(p.Text))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (v *Vectors) path() string {
	if v.Dir == "" {
		return ""
	}
	m := sha256.Sum256([]byte(v.Model))
	return filepath.Join(v.Dir, "passages-"+hex.EncodeToString(m[:8])+".bin")
}

// Update embeds the passages of ix that have no vector yet, in batches,
// and keeps (in memory and in the cache file) the vectors of ix's passages
// only: those of removed or changed passages are dropped. It returns how many passages it embedded.
func (v *Vectors) Update(ctx context.Context, ix *Index) (int, error) {
	v.mu.Lock()
	if !v.loaded {
		v.loaded = true
		v.byHash = map[[32]byte][]float32{}
		if p := v.path(); p != "" {
			if m, err := readPassageVectors(p); err == nil {
				v.byHash = m
			}
		}
	}
	var todo []*Passage
	var keys [][32]byte
	seen := map[[32]byte]bool{}
	for i := range ix.passages {
		k := passageKey(v.Model, &ix.passages[i])
		if _, ok := v.byHash[k]; !ok && !seen[k] {
			seen[k] = true
			todo = append(todo, &ix.passages[i])
			keys = append(keys, k)
		}
	}
	v.mu.Unlock()

	done := 0
	for i := 0; i < len(todo); i += EmbedBatch {
		batch := todo[i:min(i+EmbedBatch, len(todo))]
		texts := make([]string, len(batch))
		for n, p := range batch {
			texts[n] = p.Article.Title + "\n" + p.Heading() + "\n" + p.Text
		}
		vs, err := v.Embedder.Embed(ctx, texts)
		if err == nil && len(vs) != len(batch) {
			err = fmt.Errorf("%d vectors for %d passages", len(vs), len(batch))
		}
		if err != nil {
			return done, fmt.Errorf("embed passages: %w", err)
		}
		v.mu.Lock()
		for n := range batch {
			v.byHash[keys[i+n]] = vs[n]
		}
		v.mu.Unlock()
		done += len(batch)
	}
	// Only the current passages' vectors are kept, in memory and on disk.
	v.mu.Lock()
	keep := make(map[[32]byte][]float32, len(ix.passages))
	for i := range ix.passages {
		k := passageKey(v.Model, &ix.passages[i])
		if vec, ok := v.byHash[k]; ok {
			keep[k] = vec
		}
	}
	v.byHash = keep
	v.mu.Unlock()
	if p := v.path(); p != "" {
		if err := writePassageVectors(p, keep); err != nil {
			return done, fmt.Errorf("write passage vectors: %w", err)
		}
	}
	return done, nil
}

// Rank fuses the lexical ranking of ix's passages for text (its best
// pool passages) with their ranking by cosine similarity to the question's
// vector, by reciprocal rank fusion, and returns the k best articles with
// their best passage. Passages without a vector yet take part in the
// lexical ranking only. A fused hit keeps its lexical Relevance (0 when
// only the embeddings found it): the relevancy check stays lexical.
func (v *Vectors) Rank(ctx context.Context, ix *Index, text string, k int) ([]ArticleHit, error) {
	const pool = 200
	qv, err := v.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("embed question: %w", err)
	}
	if len(qv) != 1 {
		return nil, errors.New("embed question: no vector")
	}
	lex := ix.Search(text, pool)
	fused := make(map[*Passage]*Hit, 2*pool)
	rrf := map[*Passage]float64{}
	for r, h := range lex {
		fused[h.Passage] = &h
		rrf[h.Passage] += 1 / float64(RRFK+r+1)
	}
	type cos struct {
		p *Passage
		c float64
	}
	var cs []cos
	v.mu.Lock()
	for i := range ix.passages {
		p := &ix.passages[i]
		if vec, ok := v.byHash[passageKey(v.Model, p)]; ok {
			cs = append(cs, cos{p, vector.Cosine(qv[0], vec)})
		}
	}
	v.mu.Unlock()
	slices.SortFunc(cs, func(a, b cos) int { return cmp.Compare(b.c, a.c) })
	for r, c := range cs[:min(pool, len(cs))] {
		if fused[c.p] == nil {
			fused[c.p] = &Hit{Passage: c.p}
		}
		rrf[c.p] += 1 / float64(RRFK+r+1)
	}
	hits := make([]Hit, 0, len(fused))
	for p, h := range fused {
		h.Score = rrf[p]
		hits = append(hits, *h)
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Passage.ID, b.Passage.ID))
	})
	return aggregate(hits, k), nil
}

// Len returns the number of vectors held.
func (v *Vectors) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.byHash)
}

// The cache file: records of a 32-byte passage hash, the vector's length
// (uint32) and its float32s, little-endian.
func writePassageVectors(path string, m map[[32]byte][]float32) error {
	var b []byte
	for k, v := range m {
		b = append(b, k[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		for _, f := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	return atomicfile.Write(path, b, 0o600)
}

func readPassageVectors(path string) (map[[32]byte][]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[[32]byte][]float32{}
	for len(b) > 0 {
		if len(b) < 36 {
			return nil, errors.New("passage vectors: truncated")
		}
		var k [32]byte
		copy(k[:], b)
		n := int(binary.LittleEndian.Uint32(b[32:]))
		b = b[36:]
		if n == 0 || n > len(b)/4 {
			return nil, errors.New("passage vectors: truncated")
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*n:]
		m[k] = v
	}
	return m, nil
}
