package faq

import (
	"bytes"
	"context"
	"math"
	"sync"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	f.Add([]byte("entries: []\n"))
	f.Add([]byte("entries:\n  - id: a\n    question: q\n    answer: a\n    extra: 1\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// Whatever parses is valid.
		seen := map[string]bool{}
		for _, e := range entries {
			if e.ID == "" || e.Question == "" || e.Answer == "" || seen[e.ID] {
				t.Fatalf("invalid entry accepted: %+v", e)
			}
			seen[e.ID] = true
		}
	})
}

var fuzzMatcher = sync.OnceValue(func() *Matcher {
	m, err := Build(context.Background(), smallKB(), Options{})
	if err != nil {
		panic(err)
	}
	return m
})

func FuzzMatch(f *testing.F) {
	f.Add("How do I reset my password?")
	f.Add("")
	f.Add("\xff\xfe")
	f.Add("don't ’quote’ 'me'")
	f.Add("密码 重置 😀")
	f.Fuzz(func(t *testing.T, text string) {
		m := fuzzMatcher()
		ms := m.Match(text, 3)
		if len(ms) != 3 {
			t.Fatalf("%d matches, want 3", len(ms))
		}
		for i, x := range ms {
			if math.IsNaN(x.Score) || x.Score < 0 || x.Score > 1 {
				t.Fatalf("score %v", x.Score)
			}
			if i > 0 && x.Score > ms[i-1].Score {
				t.Fatalf("not sorted: %v", ms)
			}
		}
		if r := m.Decide(text, 1); r.InScope != (r.Best.Score >= m.Threshold()) {
			t.Fatalf("Decide inconsistent: %+v", r)
		}
	})
}

func FuzzReadCases(f *testing.F) {
	f.Add([]byte("{\"q\": \"a\", \"faq\": \"b\"}\n{\"q\": \"c\", \"faq\": \"\"}\n"))
	f.Add([]byte("{\"q\": \"a\"}\n"))
	f.Add([]byte("\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := ReadCases(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Q == "" || c.Line < 1 {
				t.Fatalf("invalid case accepted: %+v", c)
			}
		}
	})
}

func FuzzDecodeCache(f *testing.F) {
	m := fuzzMatcher()
	cfg := defaultTrainConfig()
	key := cacheKey(m.kb, cfg)
	good := encodeModel(m.model, key, []string{"cancel", "invoice", "password", "shipping"})
	body := good[len(cacheMagic) : len(good)-32]
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		// The checksum guards against accidents; the decoder must also
		// survive whatever passes it.
		e, ids, err := decodeBody(body, key, cfg)
		if err != nil {
			return
		}
		if len(ids) > e.classes || len(e.members) != len(cfg.Members) {
			t.Fatalf("inconsistent model: %d ids, %d classes, %d members", len(ids), e.classes, len(e.members))
		}
		for _, c := range e.members {
			if len(c.q) != len(c.idf)*e.classes || len(c.b) != e.classes {
				t.Fatalf("inconsistent sizes")
			}
		}
	})
}
