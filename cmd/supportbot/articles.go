package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/supportbot/supportbot/bot/openai"
	"github.com/supportbot/supportbot/bot/policy"
	"github.com/supportbot/supportbot/faq/articles"
)

// evalArticles runs supportbot eval --articles DIR --cases FILE.
func (c *cli) evalArticles(ctx context.Context, dir, casesPath string, asJSON bool) error {
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
	cfg, err := c.config()
	if err != nil {
		return err
	}
	var r articles.Report
	if v := evalVectors(cfg.LLM); v != nil {
		// As the service ranks with llm.embedding_model: the passages are
		// embedded first (in memory: eval writes no cache), then each
		// question is embedded and the two rankings fused.
		n, err := v.Update(ctx, ix)
		if err != nil {
			return fmt.Errorf("eval --articles with llm.embedding_model %s: %w", cfg.LLM.EmbeddingModel, err)
		}
		r, err = articles.EvaluateRank(ix, cases, func(q string) ([]articles.ArticleHit, error) { return v.Rank(ctx, ix, q, 10) })
		if err != nil {
			return fmt.Errorf("eval --articles with llm.embedding_model %s: %w", cfg.LLM.EmbeddingModel, err)
		}
		r.Ranking, r.EmbeddingModel, r.EmbeddedPassages = "fused", cfg.LLM.EmbeddingModel, n
	} else {
		r = articles.Evaluate(ix, cases)
	}
	if asJSON {
		return json.NewEncoder(c.stdout).Encode(r)
	}
	return r.WriteText(c.stdout)
}

// evalVectors are the passage embeddings eval ranks with: those of the
// service's config (llm.mode not off and llm.embedding_model set), kept in
// memory; nil ranks lexically.
func evalVectors(cfg LLMConfig) *articles.Vectors {
	if cfg.Mode == "off" || cfg.EmbeddingModel == "" {
		return nil
	}
	return &articles.Vectors{
		Embedder: openai.NewEmbedder(openai.Config{BaseURL: cfg.BaseURL, Model: cfg.EmbeddingModel, APIKey: cfg.APIKey, Timeout: cfg.Timeout}),
		Model:    cfg.EmbeddingModel,
	}
}

// articleService owns the live article index: built at start, rebuilt on
// Reload (SIGHUP) and swapped in once built, so traffic never waits. With
// embeddings it keeps the passages' vectors up to date in the background
// (only changed passages are embedded again) and fuses the two rankings.
type articleService struct {
	dir     string
	opts    articles.Options
	ix      atomic.Pointer[articles.Index]
	vectors *articles.Vectors
	// cacheDir keeps built indexes by content hash ("": none).
	cacheDir string
	logger   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // one embedding update at a time
}

var _ policy.ArticleRetriever = (*articleService)(nil)

func openArticles(cfg KnowledgeConfig, vectors *articles.Vectors, logger *slog.Logger) (*articleService, error) {
	s := &articleService{dir: cfg.Articles, opts: articles.Options{Threshold: cfg.Threshold}, vectors: vectors,
		cacheDir: cfg.cacheDir, logger: logger.With("component", "articles")}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.Reload(); err != nil {
		s.cancel()
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
	ix, info := articles.BuildCached(as, s.opts, s.cacheDir)
	s.ix.Store(ix)
	if info.Err != nil {
		s.logger.Warn("article index cache not used: index built", "dir", s.cacheDir, "err", info.Err)
	}
	s.logger.Info("articles indexed", "articles", len(as), "passages", ix.Passages(), "cached", info.Cached,
		"index", info.Took.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	if s.vectors != nil && s.ctx.Err() == nil {
		s.wg.Add(1)
		go s.embed(ix)
	}
	return nil
}

// embed brings the passage vectors up to date with ix.
func (s *articleService) embed(ix *articles.Index) {
	defer s.wg.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix.Load() != ix {
		return // a newer index is being embedded
	}
	start := time.Now()
	n, err := s.vectors.Update(s.ctx, ix)
	if err != nil {
		s.logger.Warn("passage embeddings not updated: ranking lexically", "embedded", n, "err", err)
		return
	}
	s.logger.Info("passage embeddings up to date", "embedded", n, "took", time.Since(start).Round(time.Millisecond))
}

// Close stops an embedding update in progress and waits for it.
func (s *articleService) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// RetrievePassages implements policy.ArticleRetriever: the best passage of
// each of the k best articles, ranked lexically or, when the passages have
// vectors, by the fused ranking.
func (s *articleService) RetrievePassages(ctx context.Context, text string, k int) ([]policy.Passage, float64, bool) {
	ix := s.ix.Load()
	if ix == nil {
		return nil, 0, false
	}
	if s.vectors != nil && s.vectors.Len() > 0 {
		hits, err := s.vectors.Rank(ctx, ix, text, k)
		if err == nil {
			return passages(hits), ix.Threshold(), true
		}
		s.logger.Warn("embeddings unavailable: ranking passages lexically", "err", err)
	}
	return indexRetriever{ix}.RetrievePassages(ctx, text, k)
}

// indexRetriever serves one built index to the policy.
type indexRetriever struct{ ix *articles.Index }

func (r indexRetriever) RetrievePassages(_ context.Context, text string, k int) ([]policy.Passage, float64, bool) {
	return passages(r.ix.SearchArticles(text, k)), r.ix.Threshold(), true
}

func passages(hits []articles.ArticleHit) []policy.Passage {
	out := make([]policy.Passage, len(hits))
	for i, h := range hits {
		p := h.Best.Passage
		out[i] = policy.Passage{ID: p.ID, ArticleID: p.Article.ID, Title: p.Article.Title, Heading: p.Heading(),
			URL: p.Article.URL, Text: p.Text, Score: h.Best.Score, Relevance: h.Best.Relevance}
	}
	return out
}
