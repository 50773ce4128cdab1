package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
	"github.com/supportbot/supportbot/faq"
)

// faqService owns the live FAQ matcher: it builds in the background (from
// the cache under data/ when the knowledge base is unchanged), answers
// Retrieve for the policy, and rebuilds on Reload without dropping traffic.
type faqService struct {
	cfg    FAQConfig
	live   *faq.Live
	logger *slog.Logger
}

var _ policy.Retriever = (*faqService)(nil)

func openFAQ(ctx context.Context, cfg FAQConfig, cacheDir string, logger *slog.Logger) (*faqService, error) {
	kb, usedDefault, err := faq.LoadOrDefault(cfg.Path)
	if err != nil {
		return nil, err
	}
	if usedDefault {
		logger.Warn("faq.path not found: using the embedded default knowledge base", "path", cfg.Path)
	}
	s := &faqService{cfg: cfg, logger: logger.With("component", "faq")}
	s.live = faq.NewLive(faq.Options{Threshold: cfg.Threshold}, cacheDir)
	s.live.Logger = s.logger
	s.live.Start(kb)
	return s, nil
}

// Retrieve implements policy.Retriever.
func (s *faqService) Retrieve(text string, k int) ([]policy.Hit, float64, bool) {
	m := s.live.Current()
	if m == nil {
		return nil, 0, false
	}
	ms := m.Match(text, k)
	hits := make([]policy.Hit, len(ms))
	for i, x := range ms {
		hits[i] = policy.Hit{ID: x.Entry.ID, Question: x.Entry.Question, Answer: x.Entry.Answer, Tags: x.Entry.Tags, Score: x.Score}
	}
	return hits, m.Threshold(), true
}

// Reload re-reads the knowledge base and swaps in the new matcher once built.
func (s *faqService) Reload(ctx context.Context) error {
	kb, _, err := faq.LoadOrDefault(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("reload faq: %w", err)
	}
	return s.live.Reload(ctx, kb)
}

// WaitReady blocks until the first matcher is built.
func (s *faqService) WaitReady(ctx context.Context) error {
	m, err := s.live.Wait(ctx)
	if err != nil {
		return fmt.Errorf("build faq matcher: %w", err)
	}
	if m == nil {
		return fmt.Errorf("build faq matcher: no matcher")
	}
	return nil
}

// Close stops a build in progress.
func (s *faqService) Close() error { return s.live.Close() }

func (c *cli) evalCmd() *cobra.Command { return &cobra.Command{Use: "eval", Hidden: true} }

func (c *cli) askCmd() *cobra.Command { return &cobra.Command{Use: "ask", Hidden: true} }

var _ = bot.ActionAnswer
