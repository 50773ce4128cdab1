package faq

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// MustBuildCached calls BuildCached and fails the test on error.
func MustBuildCached(tb testing.TB, kb *KB, dir string) *Matcher {
	tb.Helper()
	m, err := BuildCached(context.Background(), kb, Options{}, dir)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var probeQuestions = []string{"reset my password", "where is my parcel", "invoice please", "cancel it", "the meaning of life", ""}

// sameAnswers fails if a and b score any probe question differently.
func sameAnswers(tb testing.TB, a, b *Matcher) {
	tb.Helper()
	for _, q := range probeQuestions {
		if diff := cmp.Diff(a.Match(q, 3), b.Match(q, 3)); diff != "" {
			tb.Fatalf("matchers differ on %q (-a +b):\n%s", q, diff)
		}
	}
}

func cacheFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, cachePrefix+"*"+cacheSuffix))
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

func TestCacheRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "faq-cache") // created on demand
	kb := smallKB()
	built := MustBuildCached(t, kb, dir)
	if built.Info().Cached || built.Info().CacheErr != nil {
		t.Fatalf("first build: %+v, want trained and cached without error", built.Info())
	}
	if _, err := os.Stat(CachePath(dir, kb)); err != nil {
		t.Fatalf("cache file not written: %v", err)
	}
	loaded := MustBuildCached(t, kb, dir)
	if !loaded.Info().Cached || loaded.Info().CacheErr != nil {
		t.Fatalf("second build: %+v, want loaded from the cache", loaded.Info())
	}
	sameAnswers(t, built, loaded)
	if got, want := loaded.Info().Features, built.Info().Features; got != want {
		t.Fatalf("features %d, want %d", got, want)
	}
	// No temporary files are left behind.
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".tmp") {
			t.Fatalf("temporary file %s left behind", de.Name())
		}
	}
}

func TestCacheSingleEntry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kb := &KB{Entries: []Entry{{ID: "only", Question: "How do I reset my password?", Answer: "Link."}}}
	a := MustBuildCached(t, kb, dir)
	b := MustBuildCached(t, kb, dir)
	if !b.Info().Cached {
		t.Fatal("not loaded from the cache")
	}
	sameAnswers(t, a, b)
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kb := smallKB()
	MustBuildCached(t, kb, dir)

	// A new tag reuses the model, and serves the new tag.
	edited := smallKB()
	edited.Entries[1].Tags = []string{"billing"}
	m := MustBuildCached(t, edited, dir)
	if !m.Info().Cached {
		t.Fatal("tag edit retrained the model")
	}
	if got := m.Match("download invoice", 1)[0].Entry.Tags; len(got) != 1 || got[0] != "billing" {
		t.Fatalf("tags %q, want the edited ones", got)
	}
	if m.Info().KBHash != edited.Hash() {
		t.Fatal("Info().KBHash is not the loaded KB's")
	}

	// The answer is weak evidence the matcher learns from: a new one
	// retrains, and is served.
	edited.Entries[0].Answer = "A brand new answer."
	m = MustBuildCached(t, edited, dir)
	if m.Info().Cached {
		t.Fatal("answer edit loaded a stale model")
	}
	if got := m.Match("reset my password", 1)[0].Entry.Answer; got != "A brand new answer." {
		t.Fatalf("answer %q, want the edited one", got)
	}

	// A new example retrains.
	edited.Entries[2].Examples = append(edited.Entries[2].Examples, "close my plan")
	if m := MustBuildCached(t, edited, dir); m.Info().Cached {
		t.Fatal("example edit loaded a stale model")
	}
	if CachePath(dir, edited) == CachePath(dir, kb) {
		t.Fatal("same cache path for different training data")
	}
}

func TestCacheCorrupt(t *testing.T) {
	t.Parallel()
	kb := smallKB()
	tests := []struct {
		name    string
		corrupt func(data []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(d []byte) []byte { return d[:len(d)/2] }},
		{"one bit flipped", func(d []byte) []byte { d[len(d)/2] ^= 1; return d }},
		{"bad magic", func(d []byte) []byte { d[0] = 'X'; return d }},
		{"garbage", func([]byte) []byte { return []byte(strings.Repeat("garbage", 1000)) }},
		{"trailing bytes", func(d []byte) []byte { return append(d, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := MustBuildCached(t, kb, dir)
			path := CachePath(dir, kb)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.corrupt(data), 0o644); err != nil {
				t.Fatal(err)
			}
			m := MustBuildCached(t, kb, dir)
			if m.Info().Cached {
				t.Fatal("corrupt cache was used")
			}
			if err := m.Info().CacheErr; err == nil || !strings.Contains(err.Error(), "read cache") {
				t.Fatalf("CacheErr = %v, want the read error reported", err)
			}
			sameAnswers(t, want, m)
			// The rebuild rewrote a good cache.
			if m := MustBuildCached(t, kb, dir); !m.Info().Cached {
				t.Fatalf("cache not rewritten after a corrupt file: %+v", m.Info())
			}
		})
	}
}

func TestDecodeModelRejects(t *testing.T) {
	t.Parallel()
	m := MustBuild(t, smallKB())
	cfg := defaultTrainConfig()
	key := cacheKey(m.kb, cfg)
	ids := []string{"cancel", "invoice", "password", "shipping"}
	good := encodeModel(m.model, key, ids)
	if _, _, err := decodeModel(good, key, cfg); err != nil {
		t.Fatalf("decode good file: %v", err)
	}
	otherKey := key
	otherKey[0] ^= 1
	if _, _, err := decodeModel(good, otherKey, cfg); !errors.Is(err, errCorrupt) {
		t.Fatalf("decode with another key: %v, want errCorrupt", err)
	}
	// Every truncation fails cleanly.
	for n := 0; n < len(good); n += 1 + n/7 {
		if _, _, err := decodeModel(good[:n], key, cfg); err == nil {
			t.Fatalf("decode of %d/%d bytes succeeded", n, len(good))
		}
	}
}

func TestCacheUnwritable(t *testing.T) {
	t.Parallel()
	// A file where the cache directory should be: the build still works.
	parent := t.TempDir()
	dir := MustWriteFile(t, parent, "not-a-dir", "x")
	m := MustBuildCached(t, smallKB(), dir)
	if err := m.Info().CacheErr; err == nil || !strings.Contains(err.Error(), "write cache") {
		t.Fatalf("CacheErr = %v, want the write error reported", err)
	}
	if !m.Decide("reset my password", 1).InScope {
		t.Fatal("matcher does not work without a cache")
	}
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	m := MustBuildCached(t, smallKB(), "")
	if m.Info().Cached || m.Info().CacheErr != nil {
		t.Fatalf("Info() = %+v", m.Info())
	}
}

func TestCachePrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var paths []string
	for i := 0; i < cacheKeep+2; i++ {
		kb := smallKB()
		kb.Entries[0].Examples = append(kb.Entries[0].Examples, strings.Repeat("x", i+1))
		MustBuildCached(t, kb, dir)
		p := CachePath(dir, kb)
		// Distinct modification times, oldest first.
		mt := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if got := len(cacheFiles(t, dir)); got != cacheKeep {
		t.Fatalf("%d cache files, want %d", got, cacheKeep)
	}
	for _, p := range paths[len(paths)-cacheKeep:] {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("newest cache file removed: %v", err)
		}
	}
}
