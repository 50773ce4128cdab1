package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/supportbot/supportbot/faq/articles"
)

// evalArticles runs supportbot eval --articles DIR --cases FILE.
func (c *cli) evalArticles(dir, casesPath string, asJSON bool) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &usageError{fmt.Errorf("--articles: %s is not a directory", dir)}
	}
	as, err := articles.Load(dir)
	if err != nil {
		return &usageError{fmt.Errorf("--articles: %w", err)}
	}
	cases, err := articles.LoadCases(casesPath)
	if err != nil {
		return &usageError{fmt.Errorf("--cases: %w", err)}
	}
	ix := articles.Build(as, articles.Options{})
	if err := articles.CheckCases(ix, cases); err != nil {
		return &usageError{fmt.Errorf("--cases: %w", err)}
	}
	r := articles.Evaluate(ix, cases)
	if asJSON {
		return json.NewEncoder(c.stdout).Encode(r)
	}
	return r.WriteText(c.stdout)
}
