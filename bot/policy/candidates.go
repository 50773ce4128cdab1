package policy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/supportbot/supportbot/internal/atomicfile"
	"github.com/supportbot/supportbot/internal/vector"
)

// What the LLM is shown. The agents see TopK entries; the model is shown
// Candidates entries (default DefaultCandidates), ranked by the matcher or,
// with an Embedder, by the matcher and the embeddings fused; and when the
// whole knowledge base fits in ContextBudget tokens, it is shown all of it.

// Defaults of the LLM's candidates.
const (
	DefaultCandidates    = 10
	DefaultContextBudget = 3000
	// MaxWholeKB caps the entries retrieved to learn whether the whole
	// knowledge base fits the budget.
	MaxWholeKB = 200
	// rrfK is the constant of reciprocal rank fusion (Cormack et al. 2009):
	// an entry's fused score is the sum over rankings of 1/(rrfK+rank).
	rrfK = 60
	// embedBatch is the number of texts per embeddings request, and
	// warmBatches the number of requests one decision makes for entries.
	embedBatch  = 64
	warmBatches = 2
	// maxEmbedAll caps the entries ranked by embeddings.
	maxEmbedAll = 20000
)

// EntryTokens estimates the tokens an entry takes in the prompt: about one
// token per 4 bytes of its id, question and answer (English text runs 3.5
// to 4.5 bytes a token with OpenAI's and Llama's tokenizers), plus 12 for
// the <faq_entry> markup around it.
func EntryTokens(h Hit) int {
	return (len(h.ID)+len(h.Question)+len(h.Answer)+3)/4 + 12
}

// retrieveK is the number of entries Decide retrieves: TopK for the agents,
// and with an LLM enough to choose the model's candidates and to tell
// whether the whole knowledge base fits the budget.
func (p *Policy) retrieveK(llm bool) int {
	k := max(p.TopK, 2) // the second entry, for close calls
	if !llm {
		return k
	}
	k = max(k, p.Candidates)
	if p.ContextBudget > 0 {
		k = max(k, min(p.ContextBudget/EntryTokens(Hit{}), MaxWholeKB)+1)
	}
	if p.Embedder != nil {
		k = max(k, maxEmbedAll)
	}
	return k
}

// llmCandidates returns the entries the model is shown, best first: every
// retrieved entry when hits hold the whole knowledge base (fewer than k)
// and it fits ContextBudget; otherwise the first Candidates of the ranking
// (fused with the embeddings' when there is an Embedder), as many as fit
// the budget and at least one.
func (p *Policy) llmCandidates(ctx context.Context, text string, hits []Hit, k int) []Hit {
	if len(hits) < k && p.ContextBudget > 0 {
		total := 0
		for _, h := range hits {
			total += EntryTokens(h)
		}
		if total <= p.ContextBudget {
			return hits
		}
	}
	ranked := hits
	if p.Embedder != nil {
		ectx, cancel := context.WithTimeout(ctx, p.LLMTimeout)
		fused, err := p.fuse(ectx, text, hits)
		cancel()
		switch {
		case errors.Is(err, errWarming):
			p.Logger.Debug("entry embeddings warming up: ranking by the matcher alone")
		case err != nil:
			p.Logger.Warn("embeddings unavailable: ranking by the matcher alone", "err", err)
		default:
			ranked = fused
		}
	}
	out := ranked[:min(p.Candidates, len(ranked))]
	if p.ContextBudget <= 0 {
		return out
	}
	total := 0
	for i, h := range out {
		if total += EntryTokens(h); total > p.ContextBudget && i > 0 {
			return out[:i]
		}
	}
	return out
}

// fuse ranks hits (the matcher's ranking of the whole knowledge base) by
// reciprocal rank fusion with the embeddings' ranking of the same entries.
func (p *Policy) fuse(ctx context.Context, text string, hits []Hit) ([]Hit, error) {
	vecs, err := p.entryVectors(ctx, hits)
	if err != nil {
		return nil, err
	}
	qv, err := p.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("embed question: %w", err)
	}
	if len(qv) != 1 {
		return nil, errors.New("embed question: no vector")
	}
	type ranked struct {
		i        int
		cos, rrf float64
	}
	rs := make([]ranked, len(hits))
	for i, h := range hits {
		rs[i] = ranked{i: i, cos: vector.Cosine(qv[0], vecs[h.ID])}
	}
	byCos := slices.Clone(rs)
	slices.SortStableFunc(byCos, func(a, b ranked) int { return cmp.Compare(b.cos, a.cos) })
	for r, x := range byCos {
		rs[x.i].rrf = 1/float64(rrfK+x.i+1) + 1/float64(rrfK+r+1)
	}
	slices.SortStableFunc(rs, func(a, b ranked) int { return cmp.Compare(b.rrf, a.rrf) })
	out := make([]Hit, len(hits))
	for j, x := range rs {
		out[j] = hits[x.i]
	}
	return out, nil
}

// vectors are the embeddings of one knowledge base's entries, complete or
// being computed.
type vectors struct {
	hash    string
	byID    map[string][]float32
	done    bool // every entry has its vector
	warming bool // a decision is embedding more entries
}

// errWarming means the entry vectors are still being computed: this
// decision ranks by the matcher alone.
var errWarming = errors.New("entry embeddings are still being computed")

// entryVectors returns the vectors of the entries in hits, computed once
// per knowledge-base hash: kept in memory, and in EmbeddingCacheDir when
// set, so that a restart does not embed the whole knowledge base again. A
// decision that finds them missing embeds at most warmBatches batches of
// entries, outside the lock, and returns errWarming until all are done: a
// large knowledge base warms up over its first decisions instead of holding
// one of them for minutes.
func (p *Policy) entryVectors(ctx context.Context, hits []Hit) (map[string][]float32, error) {
	hash := kbHash(p.EmbeddingModel, hits)
	path := ""
	if p.EmbeddingCacheDir != "" {
		path = filepath.Join(p.EmbeddingCacheDir, "embeddings-"+hash[:24]+".bin")
	}
	p.vecMu.Lock()
	if p.vecs == nil || p.vecs.hash != hash {
		p.vecs = &vectors{hash: hash, byID: map[string][]float32{}}
		if path != "" {
			if byID, err := readVectors(path, hits); err == nil {
				p.vecs.byID, p.vecs.done = byID, true
			}
		}
	}
	v := p.vecs
	if v.done {
		p.vecMu.Unlock()
		return v.byID, nil
	}
	if v.warming {
		p.vecMu.Unlock()
		return nil, errWarming
	}
	var todo []Hit
	for _, h := range hits {
		if _, ok := v.byID[h.ID]; !ok {
			if todo = append(todo, h); len(todo) == warmBatches*embedBatch {
				break
			}
		}
	}
	v.warming = true
	p.vecMu.Unlock()

	got := map[string][]float32{}
	var err error
	for i := 0; i < len(todo) && err == nil; i += embedBatch {
		batch := todo[i:min(i+embedBatch, len(todo))]
		texts := make([]string, len(batch))
		for n, h := range batch {
			texts[n] = h.Question + "\n" + h.Answer
		}
		var vs [][]float32
		if vs, err = p.Embedder.Embed(ctx, texts); err == nil && len(vs) != len(batch) {
			err = fmt.Errorf("%d vectors for %d texts", len(vs), len(batch))
		}
		for n := range vs {
			if err == nil {
				got[batch[n].ID] = vs[n]
			}
		}
	}

	p.vecMu.Lock()
	defer p.vecMu.Unlock()
	v.warming = false
	if p.vecs != v {
		return nil, errWarming // the knowledge base changed meanwhile
	}
	for id, vec := range got {
		v.byID[id] = vec
	}
	if err != nil {
		return nil, fmt.Errorf("embed entries: %w", err)
	}
	for _, h := range hits {
		if _, ok := v.byID[h.ID]; !ok {
			return nil, errWarming
		}
	}
	v.done = true
	if path != "" {
		if err := writeVectors(path, hits, v.byID); err != nil {
			p.Logger.Warn("embedding cache not written", "path", path, "err", err)
		}
	}
	return v.byID, nil
}

// kbHash identifies the embedding model and the entries' ids and texts,
// whatever their order.
func kbHash(model string, hits []Hit) string {
	keys := make([]string, len(hits))
	for i, h := range hits {
		keys[i] = fmt.Sprintf("%d:%s%d:%s%d:%s", len(h.ID), h.ID, len(h.Question), h.Question, len(h.Answer), h.Answer)
	}
	slices.Sort(keys)
	s := sha256.New()
	fmt.Fprintf(s, "supportbot embeddings v1\n%d:%s\n", len(model), model)
	for _, k := range keys {
		io.WriteString(s, k)
	}
	return hex.EncodeToString(s.Sum(nil))
}

// The cache file: for each entry of hits, in order, the vector's length
// (uint32) and its float32s, little-endian. The file name carries the hash
// of the ids and texts, so the order of hits (sorted by id) is all it needs.
func writeVectors(path string, hits []Hit, byID map[string][]float32) error {
	ids := sortedIDs(hits)
	var b []byte
	for _, id := range ids {
		v := byID[id]
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		for _, f := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	return atomicfile.Write(path, b, 0o600)
}

func readVectors(path string, hits []Hit) (map[string][]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids := sortedIDs(hits)
	byID := make(map[string][]float32, len(ids))
	for _, id := range ids {
		if len(b) < 4 {
			return nil, errors.New("embedding cache: truncated")
		}
		n := int(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if n == 0 || n > len(b)/4 {
			return nil, errors.New("embedding cache: truncated")
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*n:]
		byID[id] = v
	}
	if len(b) != 0 {
		return nil, errors.New("embedding cache: trailing data")
	}
	return byID, nil
}

func sortedIDs(hits []Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	slices.Sort(ids)
	return ids
}

// LLMCandidates returns the entries the LLM would be shown for text, best
// first (for supportbot eval --recall): with no LLM configured, those it
// would be shown if there were one.
func (p *Policy) LLMCandidates(ctx context.Context, text string) ([]Hit, error) {
	if err := p.Init(); err != nil {
		return nil, err
	}
	k := p.retrieveK(true)
	all, _, ready := p.Retriever.Retrieve(text, k)
	if !ready {
		return nil, errors.New("llm candidates: the FAQ index is not ready")
	}
	return p.llmCandidates(ctx, text, all, k), nil
}
