package faq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/supportbot/supportbot/internal/atomicfile"
)

// The cache file: a magic line, the cache key, the model, and a SHA-256 of
// everything before it. Integers and floats are little-endian.
const (
	cacheMagic   = "supportbot faq matcher v1\n"
	cachePrefix  = "faq-matcher-"
	cacheSuffix  = ".bin"
	cacheKeep    = 3       // newest cache files kept in the directory
	maxCacheSize = 4 << 30 // a larger file is not ours
)

// errCorrupt marks a cache file that cannot be decoded.
var errCorrupt = errors.New("corrupt cache file")

// cacheKey identifies a model: the matcher version, the training
// configuration and the parts of the knowledge base the model learns from
// (ids, questions, examples and, when it trains on them, answers), and the
// synonym and topic tables when they are used.
func cacheKey(kb *KB, cfg trainConfig) [32]byte {
	c, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // a struct of numbers always encodes
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", MatcherVersion, c, kb.trainingHash())
	if cfg.AnswerWeight > 0 {
		fmt.Fprintf(h, "%s\n", kb.answerHash())
	}
	for _, m := range cfg.Members {
		if m.ConceptWeight > 0 || m.TopicWeight > 0 {
			fmt.Fprintf(h, "%x\n", tablesHash())
			break
		}
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// CachePath returns the file BuildCached uses for kb in dir.
func CachePath(dir string, kb *KB) string {
	return cachePath(dir, cacheKey(kb, defaultTrainConfig()))
}

func cachePath(dir string, key [32]byte) string {
	return filepath.Join(dir, cachePrefix+hex.EncodeToString(key[:12])+cacheSuffix)
}

// BuildCached is Build with a cache of built models in dir. A model cached
// for the same matcher version and the same ids, questions, examples and
// answers is loaded in milliseconds instead of trained (tags may differ:
// they are taken from kb). Otherwise the model is trained and written to dir
// atomically (a temporary file renamed into place), and older cache files
// beyond the newest few are removed. A corrupt or unreadable cache file is
// rebuilt, and a cache that cannot be written is not an error: both are
// reported in Info().CacheErr. An empty dir disables the cache.
func BuildCached(ctx context.Context, kb *KB, opts Options, dir string) (*Matcher, error) {
	if dir == "" {
		return Build(ctx, kb, opts)
	}
	if kb == nil || len(kb.Entries) == 0 {
		return nil, fmt.Errorf("build matcher: %w", ErrEmptyKB)
	}
	// The key hashes every training text: computed once for the path, the
	// check of a cached file and the file written.
	key := cacheKey(kb, defaultTrainConfig())
	path := cachePath(dir, key)
	start := time.Now()
	m, loadErr := loadCache(path, key, kb, opts)
	if loadErr == nil {
		m.info.BuildTime = time.Since(start)
		m.info.Cached = true
		return m, nil
	}
	m, err := Build(ctx, kb, opts)
	if err != nil {
		return nil, err
	}
	if !errors.Is(loadErr, fs.ErrNotExist) {
		m.info.CacheErr = fmt.Errorf("read cache: %w", loadErr)
	}
	if err := m.writeCache(path, key); err != nil {
		m.info.CacheErr = errors.Join(m.info.CacheErr, fmt.Errorf("write cache: %w", err))
	}
	return m, nil
}

// loadCache reads the model for kb, whose cache key is key, from path.
func loadCache(path string, key [32]byte, kb *KB, opts Options) (*Matcher, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxCacheSize {
		return nil, fmt.Errorf("%s: %w: %d bytes", path, errCorrupt, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	mod, ids, err := decodeModel(data, key, defaultTrainConfig().forKB(kb.phrasings(), len(kb.Entries)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	entries := sortedByID(kb.Entries)
	if len(ids) != len(entries) {
		return nil, fmt.Errorf("%s: %w: %d classes for %d entries", path, errCorrupt, len(ids), len(entries))
	}
	for i, id := range ids {
		if entries[i].ID != id {
			return nil, fmt.Errorf("%s: %w: class %d is %q, want %q", path, errCorrupt, i, id, entries[i].ID)
		}
	}
	return newMatcher(kb, entries, mod, opts), nil
}

// writeCache writes m's model to path through a temporary file and a
// rename, so that a reader never sees half a file, and prunes old files.
func (m *Matcher) writeCache(path string, key [32]byte) error {
	ids := make([]string, len(m.entries))
	for i, e := range m.entries {
		ids[i] = e.ID
	}
	if err := atomicfile.Write(path, encodeModel(m.model, key, ids), 0o600); err != nil {
		return err
	}
	atomicfile.Prune(filepath.Dir(path), cachePrefix, cacheSuffix, path, cacheKeep)
	return nil
}

// encodeModel serialises e with its key and class ids.
func encodeModel(e *ensemble, key [32]byte, ids []string) []byte {
	var b bytes.Buffer
	b.WriteString(cacheMagic)
	b.Write(key[:])
	le := binary.LittleEndian
	u32 := func(v int) { b.Write(le.AppendUint32(nil, uint32(v))) }
	f32s := func(vs []float32) {
		buf := make([]byte, 4*len(vs))
		for i, v := range vs {
			le.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		b.Write(buf)
	}
	u32(len(ids))
	for _, id := range ids {
		u32(len(id))
		b.WriteString(id)
	}
	u32(e.classes)
	u32(len(e.members))
	for _, m := range e.members {
		u32(len(m.hashes))
		buf := make([]byte, 8*len(m.hashes))
		for i, h := range m.hashes {
			le.PutUint64(buf[8*i:], h)
		}
		b.Write(buf)
		f32s(m.idf)
		f32s([]float32{m.unknownIDF})
		f32s(m.qscale)
		q := make([]byte, len(m.q))
		for i, v := range m.q {
			q[i] = byte(v)
		}
		b.Write(q)
		f32s(m.b)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// decoder reads the cache format and never panics: every read is checked
// against the remaining length.
type decoder struct {
	data []byte
	err  error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.data) {
		d.err = fmt.Errorf("%w: truncated", errCorrupt)
		return nil
	}
	b := d.data[:n]
	d.data = d.data[n:]
	return b
}

func (d *decoder) u32() int {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b))
}

// count reads a length and checks that that many items of size bytes can
// still follow.
func (d *decoder) count(size int) int {
	n := d.u32()
	if d.err == nil && n > len(d.data)/max(size, 1) {
		d.err = fmt.Errorf("%w: length %d too large", errCorrupt, n)
		return 0
	}
	return n
}

func (d *decoder) f32s(n int) []float32 {
	b := d.take(4 * n)
	if b == nil {
		return nil
	}
	vs := make([]float32, n)
	for i := range vs {
		vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return vs
}

// decodeModel checks data's magic, checksum and key, and decodes the model
// and its class ids.
func decodeModel(data []byte, key [32]byte, cfg trainConfig) (*ensemble, []string, error) {
	if len(data) < len(cacheMagic)+32+sha256.Size || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, nil, fmt.Errorf("%w: bad header", errCorrupt)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return decodeBody(body[len(cacheMagic):], key, cfg)
}

// decodeBody decodes what follows the magic line, up to the checksum.
func decodeBody(body []byte, key [32]byte, cfg trainConfig) (*ensemble, []string, error) {
	d := &decoder{data: body}
	if !bytes.Equal(d.take(32), key[:]) {
		return nil, nil, fmt.Errorf("%w: key mismatch", errCorrupt)
	}
	ids := make([]string, d.count(4))
	for i := range ids {
		ids[i] = string(d.take(d.count(1)))
	}
	C := d.u32()
	if d.err == nil && (C < len(ids) || C > len(ids)+1) {
		return nil, nil, fmt.Errorf("%w: %d classes for %d ids", errCorrupt, C, len(ids))
	}
	e := &ensemble{cfg: cfg, classes: C}
	if n := d.count(1); d.err == nil && n != len(cfg.Members) {
		return nil, nil, fmt.Errorf("%w: %d members, want %d", errCorrupt, n, len(cfg.Members))
	}
	for _, fc := range cfg.Members {
		m := &classifier{features: fc, coverage: cfg.Coverage, classes: C}
		V := d.count(8 + 4 + 4 + C)
		hb := d.take(8 * V)
		m.idf = d.f32s(V)
		if u := d.f32s(1); u != nil {
			m.unknownIDF = u[0]
		}
		m.qscale = d.f32s(V)
		q := d.take(V * C)
		m.b = d.f32s(C)
		if d.err != nil {
			return nil, nil, d.err
		}
		m.hashes = make([]uint64, V)
		m.vocab = make(map[uint64]int32, V)
		for j := range m.hashes {
			m.hashes[j] = binary.LittleEndian.Uint64(hb[8*j:])
			m.vocab[m.hashes[j]] = int32(j)
		}
		if len(m.vocab) != V {
			return nil, nil, fmt.Errorf("%w: duplicate features", errCorrupt)
		}
		m.q = make([]int8, len(q))
		for i, v := range q {
			m.q[i] = int8(v)
		}
		e.members = append(e.members, m)
	}
	if d.err == nil && len(d.data) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.data))
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return e, ids, nil
}
