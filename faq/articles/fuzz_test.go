package articles

import (
	"strings"
	"testing"
)

// FuzzParse: no article text makes the parsers or the index panic, and
// what loads can be searched.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: T\nurl: https://x.example/a\n---\n# T\n\n## A\n\ntext\n",
		"---\ntitle: [\n---\n",
		"# T\n```\n# code\n```\n###### deep\ntext",
		"<html><head><title>T</title><link rel=canonical href=/a></head><body><h1>T</h1><h2>A</h2><p>x</p></body></html>",
		"<h3>no h1</h3>text<script>x</script>",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string, []byte) (Article, error){parseMarkdown, parseHTML} {
			a, err := parse("x", []byte(s))
			if err != nil {
				continue
			}
			a.ID = "x"
			if a.validate() != nil {
				continue
			}
			ix := Build([]Article{a}, Options{})
			for _, q := range []string{a.Title, s, strings.Repeat("é ", 100)} {
				for _, h := range ix.Search(q, 5) {
					if h.Relevance < 0 || h.Relevance > 1 {
						t.Fatalf("relevance %v", h.Relevance)
					}
				}
			}
		}
	})
}
