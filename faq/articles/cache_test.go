package articles

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// searchAll is what an index answers for qs: passage ids, scores and
// relevancies.
func searchAll(ix *Index, qs []string) [][]Hit {
	var out [][]Hit
	for _, q := range qs {
		out = append(out, ix.Search(q, 20))
	}
	return out
}

func sameHits(t *testing.T, a, b [][]Hit) {
	t.Helper()
	for i := range a {
		if len(a[i]) != len(b[i]) {
			t.Fatalf("query %d: %d hits vs %d", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			if x.Passage.ID != y.Passage.ID || x.Score != y.Score || x.Relevance != y.Relevance {
				t.Fatalf("query %d hit %d: %s %v %v vs %s %v %v", i, j, x.Passage.ID, x.Score, x.Relevance, y.Passage.ID, y.Score, y.Relevance)
			}
		}
	}
}

// TestBuildCached: the first build writes the cache, the second reads it
// and answers exactly as a fresh build; changed articles or options miss
// it.
func TestBuildCached(t *testing.T) {
	dir := t.TempDir()
	qs := []string{"w1q w2q", "pair the pump", "w5d2q w1q w3f0q", ""}
	as := synthetic(60)
	fresh := Build(synthetic(60), Options{})
	first, info := BuildCached(synthetic(60), Options{}, dir)
	if info.Cached || info.Err != nil {
		t.Fatalf("first build: %+v, want built with no error", info)
	}
	if _, err := os.Stat(CachePath(dir, as, Options{})); err != nil {
		t.Fatalf("no cache file: %v", err)
	}
	second, info := BuildCached(synthetic(60), Options{}, dir)
	if !info.Cached || info.Err != nil {
		t.Fatalf("second build: %+v, want read from the cache", info)
	}
	for _, ix := range []*Index{first, second} {
		sameHits(t, searchAll(fresh, qs), searchAll(ix, qs))
		if !reflect.DeepEqual(fresh.idf, ix.idf) || !reflect.DeepEqual(fresh.norm, ix.norm) || !reflect.DeepEqual(fresh.first, ix.first) ||
			fresh.Hash() != ix.Hash() || fresh.Passages() != ix.Passages() {
			t.Fatal("a cached index differs from a fresh build")
		}
	}
	for _, q := range []string{"w1q", "w2q w3q"} {
		if reflect.DeepEqual(fresh.SearchArticles(q, 5), second.SearchArticles(q, 5)) {
			continue
		}
		a, b := fresh.SearchArticles(q, 5), second.SearchArticles(q, 5)
		for i := range a {
			if a[i].Article.ID != b[i].Article.ID || a[i].Score != b[i].Score {
				t.Fatalf("%q: article %d %s %v vs %s %v", q, i, a[i].Article.ID, a[i].Score, b[i].Article.ID, b[i].Score)
			}
		}
	}

	// An edited article, or other options, is another key.
	edited := synthetic(60)
	edited[3].Sections[0].Text += " edited"
	if _, info := BuildCached(edited, Options{}, dir); info.Cached {
		t.Fatal("an edited help center read the old cache")
	}
	if _, info := BuildCached(synthetic(60), Options{MaxPassageWords: 120}, dir); info.Cached {
		t.Fatal("other passage options read the old cache")
	}
	if _, info := BuildCached(synthetic(60), Options{Threshold: 0.5}, dir); !info.Cached {
		t.Fatal("the threshold, which the index does not depend on, missed the cache")
	}
}

// TestBuildCachedCorrupt: a corrupt, truncated, foreign or mismatched
// cache file is reported and rebuilt (and rewritten, so the next start
// reads it), never trusted and never a panic.
func TestBuildCachedCorrupt(t *testing.T) {
	dir := t.TempDir()
	as := synthetic(30)
	path := CachePath(dir, as, Options{})
	fresh := Build(synthetic(30), Options{})
	BuildCached(synthetic(30), Options{}, dir)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	BuildCached(synthetic(31), Options{}, other)
	foreign, err := os.ReadFile(CachePath(other, synthetic(31), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	oldVersion := append([]byte(strings.Replace(indexCacheMagic, "v1", "v0", 1)), good[len(indexCacheMagic):]...)
	for name, data := range map[string][]byte{
		"flipped byte":     flipped,
		"truncated":        good[:len(good)/3],
		"empty":            {},
		"garbage":          []byte("not a cache file at all, but long enough to have a checksum's worth of bytes in it"),
		"other articles":   foreign, // a valid file of another help center under this name
		"another version":  oldVersion,
		"trailing garbage": append(append([]byte(nil), good...), 1, 2, 3),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ix, info := BuildCached(synthetic(30), Options{}, dir)
		if info.Cached || info.Err == nil || !errors.Is(info.Err, errCorrupt) {
			t.Fatalf("%s: %+v, want rebuilt with a corrupt-cache error", name, info)
		}
		sameHits(t, searchAll(fresh, []string{"w1q w2q", "w7q"}), searchAll(ix, []string{"w1q w2q", "w7q"}))
		if _, info := BuildCached(synthetic(30), Options{}, dir); !info.Cached || info.Err != nil {
			t.Fatalf("%s: after the rebuild %+v, want the rewritten file read", name, info)
		}
	}
	// Every prefix of a good file is refused without a panic.
	ix := newIndex(synthetic(30), Options{}, fresh.Hash())
	key := cacheKey(fresh.Hash())
	for n := 0; n < len(good); n += max(1, len(good)/500) {
		if err := ix.decodeCache(good[:n], key); err == nil {
			t.Fatalf("a %d-byte prefix of a %d-byte file decoded", n, len(good))
		}
	}
}

// TestBuildCachedUnwritable: a cache directory that cannot be written is
// reported, and the index built all the same.
func TestBuildCachedUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ix, info := BuildCached(synthetic(10), Options{}, file)
	if ix == nil || info.Cached || info.Err == nil {
		t.Fatalf("%+v, want built with a write error", info)
	}
}

// TestPruneIndexCache: the directory keeps the newest few cache files and
// leaves other files alone.
func TestPruneIndexCache(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "faq-matcher-x.bin")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range 5 {
		as := synthetic(5 + i)
		BuildCached(as, Options{}, dir)
		p := CachePath(dir, as, Options{})
		paths = append(paths, p)
		old := time.Now().Add(time.Duration(i-10) * time.Minute) // in order, whatever the clock's resolution
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	as := synthetic(11)
	BuildCached(as, Options{}, dir)
	var left []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		left = append(left, de.Name())
	}
	want := []string{filepath.Base(CachePath(dir, as, Options{})), filepath.Base(paths[3]), filepath.Base(paths[4]), "faq-matcher-x.bin"}
	for _, w := range want {
		found := false
		for _, l := range left {
			found = found || l == w
		}
		if !found {
			t.Fatalf("left %q, want %q", left, want)
		}
	}
	if len(left) != len(want) {
		t.Fatalf("left %q, want %q", left, want)
	}
}

func BenchmarkCachedLoad1000(b *testing.B) {
	dir := b.TempDir()
	BuildCached(synthetic(1000), Options{}, dir)
	as := synthetic(1000)
	b.ResetTimer()
	for b.Loop() {
		if _, info := BuildCached(as, Options{}, dir); !info.Cached {
			b.Fatal(info.Err)
		}
	}
}

// BenchmarkStart1000 is what a start or a SIGHUP costs with 1,000
// articles on disk: reading and parsing the files, then building the
// index or reading it from the cache.
func BenchmarkStart1000(b *testing.B) {
	dir, cache := b.TempDir(), b.TempDir()
	writeSynthetic(b, dir, 1000)
	for _, bc := range []struct {
		name  string
		cache string
	}{{"built", ""}, {"cached", cache}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				as, err := Load(dir)
				if err != nil {
					b.Fatal(err)
				}
				if _, info := BuildCached(as, Options{}, bc.cache); info.Err != nil {
					b.Fatal(info.Err)
				}
			}
		})
	}
}
