package faq

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkBuild measures training a matcher on CLINC150 (15,000 texts,
// 150 entries) and reports the heap the built matcher keeps.
func BenchmarkBuild(b *testing.B) {
	kb := mustLoadKB(b, "clinc150/faq.yaml")
	b.ReportAllocs()
	var m *Matcher
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		var err error
		if m, err = Build(context.Background(), kb, Options{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
	b.ReportMetric(float64(retainedHeap(func() any {
		m, _ := Build(context.Background(), kb, Options{})
		return m
	}))/(1<<20), "MiB-retained")
	b.ReportMetric(float64(m.Info().Features), "features")
}

// BenchmarkLoadCache measures loading a built CLINC150 matcher from the
// cache, as a restart does.
func BenchmarkLoadCache(b *testing.B) {
	kb := mustLoadKB(b, "clinc150/faq.yaml")
	dir := b.TempDir()
	if _, err := BuildCached(context.Background(), kb, Options{}, dir); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(CachePath(dir, kb))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := BuildCached(context.Background(), kb, Options{}, dir)
		if err != nil || !m.Info().Cached {
			b.Fatalf("not cached: %v", err)
		}
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB-file")
}

// BenchmarkMatch measures one question against CLINC150's matcher.
func BenchmarkMatch(b *testing.B) {
	m, cases := clinc.MustLoad(b)
	runtime.GC() // not the training's garbage
	b.ReportAllocs()
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		m.Decide(cases[i%len(cases)].Q, 3)
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(i), "cpu-ns/op")
}

// BenchmarkMatchParallel measures throughput with every core matching.
func BenchmarkMatchParallel(b *testing.B) {
	m, cases := clinc.MustLoad(b)
	runtime.GC()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Decide(cases[i%len(cases)].Q, 3)
			i++
		}
	})
}

func mustLoadKB(tb testing.TB, name string) *KB {
	tb.Helper()
	p := filepath.Join(evalDir, name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("eval data not found (%v): it lives in shared/eval beside the repository checkout", err)
	}
	kb, err := Load(p)
	if err != nil {
		tb.Fatal(err)
	}
	return kb
}

// retainedHeap returns the heap bytes that the value made by f keeps alive.
func retainedHeap(f func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}
