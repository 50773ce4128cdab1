package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/openai"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/faq"
	"github.com/supportbot/supportbot/prompts"
)

// augmentCmd is `supportbot faq augment`: the language model writes
// paraphrases of each entry's question, stored as example suggestions for
// review; the knowledge base itself is not touched.
func (c *cli) augmentCmd() *cobra.Command {
	var n, concurrency int
	var entryIDs []string
	cmd := &cobra.Command{
		Use:   "augment [--n N] [--entry ID]",
		Short: "Ask the language model for paraphrases of each entry's question, as suggestions to review",
		Long: `augment asks the configured OpenAI-compatible model (llm.base_url, llm.model,
llm.api_key) for N paraphrases of each entry's question in faq.path and stores
them as pending example suggestions: review them with "faq suggestions list",
approve (one, or --all) or reject them. Nothing is written into the knowledge
base until a suggestion is approved. Entries asked about before, unchanged
(question, answer, model, N and prompt), make no call on a rerun. Token use is
printed per entry and in total.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 50 {
				return &usageError{fmt.Errorf("--n: %d is outside 1..50", n)}
			}
			if concurrency < 1 || concurrency > 32 {
				return &usageError{fmt.Errorf("--concurrency: %d is outside 1..32", concurrency)}
			}
			cfg, err := c.config()
			if err != nil {
				return err
			}
			if err := augmentLLMReady(cfg.LLM); err != nil {
				return err
			}
			set, err := prompts.Load(cfg.Prompts.Dir)
			if err != nil {
				return err
			}
			kb, err := faq.Load(cfg.FAQ.Path)
			if err != nil {
				return fmt.Errorf("faq.path: %w", err)
			}
			entries := kb.Entries
			if len(entryIDs) > 0 {
				entries = nil
				for _, id := range entryIDs {
					e, ok := kb.Entry(id)
					if !ok {
						return &usageError{fmt.Errorf("--entry %q: %w in %s", id, faq.ErrUnknownEntry, cfg.FAQ.Path)}
					}
					entries = append(entries, e)
				}
			}
			s, err := c.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			a := &faq.Augmenter{
				LLM: openai.NewAnswerer(openai.Config{BaseURL: cfg.LLM.BaseURL, Model: cfg.LLM.Model,
					APIKey: cfg.LLM.APIKey, Timeout: cfg.LLM.Timeout, Temperature: 0.8}),
				Store: s, Model: cfg.LLM.Model, PromptID: set.AugmentID(), N: n, Concurrency: concurrency,
				MaxTokens: 60 * n,
				Prompt: func(e faq.Entry, n int) (string, string, error) {
					return set.RenderAugment(prompts.AugmentData{ID: e.ID, Question: e.Question, Examples: e.Examples, Answer: e.Answer, N: n})
				},
			}
			return c.printAugment(a.Augment(cmd.Context(), entries))
		},
	}
	cmd.Flags().IntVar(&n, "n", faq.DefaultParaphrases, "paraphrases per entry")
	cmd.Flags().StringSliceVar(&entryIDs, "entry", nil, "only this entry (repeat for more)")
	cmd.Flags().IntVar(&concurrency, "concurrency", faq.DefaultConcurrency, "requests in flight at once")
	return cmd
}

// augmentLLMReady checks that a model is configured for augment, whatever
// llm.mode the service runs with.
func augmentLLMReady(l LLMConfig) error {
	switch {
	case strings.TrimSpace(l.BaseURL) == "":
		return &ConfigError{bot.Invalid("llm.base_url", "required by faq augment (an OpenAI-compatible server)")}
	case strings.TrimSpace(l.Model) == "":
		return &ConfigError{bot.Invalid("llm.model", "required by faq augment")}
	case l.APIKey == "" && strings.Contains(l.BaseURL, "api.openai.com"):
		return &ConfigError{bot.Invalid("llm.api_key", "required by faq augment with %s (SUPPORTBOT_LLM_API_KEY)", l.BaseURL)}
	}
	return nil
}

// printAugment prints one line per entry and the totals; it fails when an
// entry failed, after printing what the others did.
func (c *cli) printAugment(res []faq.AugmentResult, runErr error) error {
	tw := c.table("ENTRY\tSUGGESTED\tDROPPED\tCALLS\tPROMPT_TOKENS\tCOMPLETION_TOKENS\tNOTE")
	var suggested, cached, failed, calls, pt, ct int
	var firstErr error
	for _, r := range res {
		if r.EntryID == "" {
			continue // not started: the run was cancelled
		}
		note := ""
		switch {
		case r.Err != nil:
			failed++
			note = "error: " + oneLine(r.Err.Error(), 120)
			if firstErr == nil {
				firstErr = r.Err
			}
		case r.Cached:
			cached++
			note = "cached: unchanged since the last run"
		}
		suggested += r.Suggested
		calls += r.Calls
		pt += r.PromptTokens
		ct += r.CompletionTokens
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.EntryID, r.Suggested, r.Dropped, r.Calls, r.PromptTokens, r.CompletionTokens, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d entries: %d new suggestions, %d cached, %d failed; %d calls\n", len(res), suggested, cached, failed, calls)
	fmt.Fprintf(c.stdout, "tokens: %d prompt + %d completion = %d\n", pt, ct, pt+ct)
	if suggested > 0 {
		fmt.Fprintln(c.stdout, `review with "supportbot faq suggestions list", then approve or reject them`)
	}
	switch {
	case runErr != nil:
		return fmt.Errorf("faq augment: %w", runErr)
	case firstErr != nil:
		return fmt.Errorf("faq augment: %d of %d entries failed; the first: %w", failed, len(res), firstErr)
	}
	return nil
}

// errExampleTooLong refuses to approve a phrasing longer than an example
// may be (a customer's several messages joined, say): shorten it first.
var errExampleTooLong = fmt.Errorf("longer than %d bytes: approve it with a shorter --question, or reject it", faq.MaxExampleLen)

// approveExamples writes pending example suggestions into the knowledge
// base at path, entry by entry, and marks them approved (an example already
// in the entry is approved without a second copy). Phrasings longer than
// faq.MaxExampleLen are left pending; with a single suggestion that is an
// error wrapping errExampleTooLong. It returns the approved suggestions'
// ids; on error, those approved before it.
func approveExamples(ctx context.Context, s *sqlite.Store, path string, list []bot.FAQSuggestion, by string) ([]int64, error) {
	var order []string
	byEntry := map[string][]bot.FAQSuggestion{}
	for _, x := range list {
		if x.Kind != bot.SuggestionExample || x.Status != bot.SuggestionPending {
			continue
		}
		if len(strings.Join(strings.Fields(x.Question), " ")) > faq.MaxExampleLen {
			if len(list) == 1 {
				return nil, fmt.Errorf("suggestion %d: %w", x.ID, errExampleTooLong)
			}
			continue
		}
		if _, ok := byEntry[x.EntryID]; !ok {
			order = append(order, x.EntryID)
		}
		byEntry[x.EntryID] = append(byEntry[x.EntryID], x)
	}
	var done []int64
	for _, id := range order {
		qs := make([]string, len(byEntry[id]))
		for i, x := range byEntry[id] {
			qs[i] = x.Question
		}
		if _, err := faq.AddExamples(path, id, qs); err != nil {
			return done, err
		}
		for _, x := range byEntry[id] {
			err := s.DecideSuggestion(ctx, x.ID, true, by, id)
			if err != nil && !errors.Is(err, bot.ErrConflict) {
				return done, err
			}
			if err == nil {
				done = append(done, x.ID)
			}
		}
	}
	return done, nil
}
