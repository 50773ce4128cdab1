package articles

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/supportbot/supportbot/internal/atomicfile"
)

// The index cache: the lexical index of a help center, kept on disk by
// content hash like the FAQ matcher's model (faq/cache.go), so that a
// restart or a SIGHUP with unchanged articles reads it instead of
// tokenising every passage again. The articles are still read and parsed
// (their text is what answers, and their hash is the key); the passages
// are cut again (cheap, and checked against the file); the terms, postings,
// passage norms and title lists are read.
//
// The file: a magic line with the format version, the 32-byte key, the
// counts, the norms, the terms with their postings and title lists, and a
// SHA-256 of everything before it. Integers and floats are little-endian.
const (
	indexCacheMagic  = "supportbot articles index v1\n"
	indexCachePrefix = "articles-index-"
	indexCacheSuffix = ".bin"
	indexCacheKeep   = 3       // newest cache files kept in the directory
	maxIndexCache    = 1 << 30 // a larger file is not ours
)

// IndexVersion changes whenever the index's terms or weights change for
// the same articles and options (the tokenizer, the stopwords, the stemmer,
// the norms): a cache written by another version is rebuilt. The stopword
// list and a probe of the tokenizer are hashed into the key too, so that a
// change that forgets to bump it is caught as well.
const IndexVersion = "1"

// errCorrupt marks a cache file that cannot be decoded.
var errCorrupt = errors.New("corrupt index cache")

// tokenizerProbe exercises the stemmer and the stopwords.
const tokenizerProbe = "Hello, I'm applying for the veterans' benefits: how do applications get applied? Ünïcödé 42 tests"

// cacheKey is the key of ix's cache file: the index version, the
// tokenizer's fingerprint and the articles' hash (content and options).
func cacheKey(hash string) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "supportbot articles index %s\n%s\n", IndexVersion, hash)
	sw := make([]string, 0, len(stopwords))
	for w := range stopwords {
		sw = append(sw, w)
	}
	slices.Sort(sw)
	fmt.Fprintf(h, "%s\n%s\n", strings.Join(sw, " "), strings.Join(terms(tokenizerProbe), " "))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// CachePath returns the file BuildCached uses for articles and opts in dir.
func CachePath(dir string, articles []Article, opts Options) string {
	return indexCachePath(dir, cacheKey(Hash(articles, opts.withDefaults())))
}

func indexCachePath(dir string, key [32]byte) string {
	return filepath.Join(dir, indexCachePrefix+hex.EncodeToString(key[:12])+indexCacheSuffix)
}

// CacheInfo says how BuildCached got its index.
type CacheInfo struct {
	// Cached is true when the index was read from the cache file.
	Cached bool
	// Err is a cache file that could not be read (corrupt, another
	// version) or written; the index was built all the same.
	Err error
	// Took is the time to read or build the index (the articles' loading
	// not included).
	Took time.Duration
}

// BuildCached is Build with a cache of built indexes in dir: an index
// cached for the same articles (content and options) and the same
// IndexVersion is read instead of built. Otherwise it is built and written
// to dir atomically (a temporary file renamed into place), and older cache
// files beyond the newest few are removed. A corrupt or mismatched file is
// rebuilt, and a cache that cannot be written is not an error: both are
// reported in CacheInfo.Err. An empty dir is Build.
func BuildCached(articles []Article, opts Options, dir string) (*Index, CacheInfo) {
	start := time.Now()
	if dir == "" {
		ix := Build(articles, opts)
		return ix, CacheInfo{Took: time.Since(start)}
	}
	hash := Hash(articles, opts.withDefaults())
	key := cacheKey(hash)
	path := indexCachePath(dir, key)
	ix := newIndex(articles, opts, hash)
	var info CacheInfo
	loadErr := ix.readCache(path, key)
	if loadErr == nil {
		info.Cached, info.Took = true, time.Since(start)
		return ix.finish(), info
	}
	ix = ix.index() // a failed read leaves ix unindexed
	if !errors.Is(loadErr, fs.ErrNotExist) {
		info.Err = fmt.Errorf("read index cache: %w", loadErr)
	}
	if err := ix.writeCache(path, key); err != nil {
		info.Err = errors.Join(info.Err, fmt.Errorf("write index cache: %w", err))
	}
	info.Took = time.Since(start)
	return ix, info
}

// encodeCache serialises ix's terms, postings, norms and title lists.
func (ix *Index) encodeCache(key [32]byte) []byte {
	size := len(indexCacheMagic) + 32 + 12 + 4*len(ix.norm) + sha256.Size
	for t, id := range ix.terms {
		size += 12 + len(t) + 8*len(ix.postings[id]) + 4*len(ix.titles[id])
	}
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	b = append(b, indexCacheMagic...)
	b = append(b, key[:]...)
	b = le.AppendUint32(b, uint32(len(ix.articles)))
	b = le.AppendUint32(b, uint32(len(ix.passages)))
	b = le.AppendUint32(b, uint32(len(ix.postings)))
	for _, f := range ix.norm {
		b = le.AppendUint32(b, math.Float32bits(f))
	}
	byID := make([]string, len(ix.postings))
	for t, id := range ix.terms {
		byID[id] = t
	}
	for id, t := range byID {
		b = le.AppendUint32(b, uint32(len(t)))
		b = append(b, t...)
		b = le.AppendUint32(b, uint32(len(ix.postings[id])))
		for _, p := range ix.postings[id] {
			b = le.AppendUint32(b, uint32(p.doc))
			b = le.AppendUint32(b, math.Float32bits(p.tf))
		}
		b = le.AppendUint32(b, uint32(len(ix.titles[id])))
		for _, a := range ix.titles[id] {
			b = le.AppendUint32(b, uint32(a))
		}
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// readCache fills ix's terms, postings, norms and title lists from path,
// checking the file against key and ix's articles and passages.
func (ix *Index) readCache(path string, key [32]byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > maxIndexCache {
		return fmt.Errorf("%s: %w: %d bytes", path, errCorrupt, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return err
	}
	if err := ix.decodeCache(data, key); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// decodeCache checks data's magic, checksum, key and counts, and decodes
// it into ix. It never panics on bad data.
func (ix *Index) decodeCache(data []byte, key [32]byte) error {
	if len(data) < len(indexCacheMagic)+32+12+sha256.Size || string(data[:len(indexCacheMagic)]) != indexCacheMagic {
		return fmt.Errorf("%w: bad header (another version?)", errCorrupt)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	d := &decoder{data: body[len(indexCacheMagic):]}
	if !bytes.Equal(d.take(32), key[:]) {
		return fmt.Errorf("%w: key mismatch", errCorrupt)
	}
	na, np, nt := d.u32(), d.u32(), d.count(12)
	if d.err == nil && (na != len(ix.articles) || np != len(ix.passages)) {
		return fmt.Errorf("%w: %d articles and %d passages, want %d and %d", errCorrupt, na, np, len(ix.articles), len(ix.passages))
	}
	nb := d.take(4 * np)
	if d.err != nil {
		return d.err
	}
	norm := make([]float32, np)
	for i := range norm {
		norm[i] = math.Float32frombits(binary.LittleEndian.Uint32(nb[4*i:]))
	}
	terms := make(map[string]int32, nt)
	postings := make([][]posting, nt)
	titles := make([][]int32, nt)
	// One flat array for all postings, as Build lays them out.
	flat := make([]posting, 0, len(d.data)/8)
	for id := range nt {
		t := string(d.take(d.count(1)))
		n := d.count(8)
		pb := d.take(8 * n)
		if d.err != nil {
			return d.err
		}
		start := len(flat)
		for i := range n {
			doc := binary.LittleEndian.Uint32(pb[8*i:])
			if int(doc) >= np {
				return fmt.Errorf("%w: passage %d of %d", errCorrupt, doc, np)
			}
			flat = append(flat, posting{doc: int32(doc), tf: math.Float32frombits(binary.LittleEndian.Uint32(pb[8*i+4:]))})
		}
		postings[id] = flat[start:len(flat):len(flat)]
		m := d.count(4)
		tb := d.take(4 * m)
		if d.err != nil {
			return d.err
		}
		if m > 0 {
			titles[id] = make([]int32, m)
			for i := range titles[id] {
				a := binary.LittleEndian.Uint32(tb[4*i:])
				if int(a) >= na {
					return fmt.Errorf("%w: article %d of %d", errCorrupt, a, na)
				}
				titles[id][i] = int32(a)
			}
		}
		if _, dup := terms[t]; dup {
			return fmt.Errorf("%w: term %q twice", errCorrupt, t)
		}
		terms[t] = int32(id)
	}
	if d.err == nil && len(d.data) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.data))
	}
	if d.err != nil {
		return d.err
	}
	ix.terms, ix.postings, ix.titles, ix.norm = terms, postings, titles, norm
	return nil
}

// writeCache writes ix to path through a temporary file and a rename, so
// that a reader never sees half a file, and prunes old files.
func (ix *Index) writeCache(path string, key [32]byte) error {
	if err := atomicfile.Write(path, ix.encodeCache(key), 0o600); err != nil {
		return err
	}
	atomicfile.Prune(filepath.Dir(path), indexCachePrefix, indexCacheSuffix, path, indexCacheKeep)
	return nil
}

// decoder reads the cache format: every read is checked against the
// remaining length.
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
