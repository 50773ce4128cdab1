package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/supportbot/supportbot/bot/policy"
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

// articleService owns the live article index: built at start, rebuilt on
// Reload (SIGHUP) and swapped in once built, so traffic never waits.
type articleService struct {
	dir    string
	opts   articles.Options
	ix     atomic.Pointer[articles.Index]
	logger *slog.Logger
}

var _ policy.ArticleRetriever = (*articleService)(nil)

func openArticles(cfg KnowledgeConfig, logger *slog.Logger) (*articleService, error) {
	s := &articleService{dir: cfg.Articles, opts: articles.Options{Threshold: cfg.Threshold}, logger: logger.With("component", "articles")}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the directory; on an error the index in use stays.
func (s *articleService) Reload() error {
	start := time.Now()
	as, err := articles.Load(s.dir)
	if err != nil {
		return err
	}
	ix := articles.Build(as, s.opts)
	s.ix.Store(ix)
	s.logger.Info("articles indexed", "articles", len(as), "passages", ix.Passages(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// RetrievePassages implements policy.ArticleRetriever: the best passage of
// each of the k best articles.
func (s *articleService) RetrievePassages(text string, k int) ([]policy.Passage, float64, bool) {
	ix := s.ix.Load()
	if ix == nil {
		return nil, 0, false
	}
	return indexRetriever{ix}.RetrievePassages(text, k)
}

// indexRetriever serves one built index to the policy.
type indexRetriever struct{ ix *articles.Index }

func (r indexRetriever) RetrievePassages(text string, k int) ([]policy.Passage, float64, bool) {
	hits := r.ix.SearchArticles(text, k)
	out := make([]policy.Passage, len(hits))
	for i, h := range hits {
		p := h.Best.Passage
		out[i] = policy.Passage{ID: p.ID, ArticleID: p.Article.ID, Title: p.Article.Title, Heading: p.Heading(),
			URL: p.Article.URL, Text: p.Text, Score: h.Best.Score, Relevance: h.Best.Relevance}
	}
	return out, r.ix.Threshold(), true
}
