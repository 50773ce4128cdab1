package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/faq"
)

// faqLearner is the bot.FAQLearner of Slack's and the dashboard's "Send
// FAQ answer": entries come from the live matcher's knowledge base, the
// questions learned become example suggestions, written at once into the
// knowledge base (and the matcher rebuilt in the background) when
// faq.auto_approve_examples is on.
type faqLearner struct {
	store       *sqlite.Store
	faq         *faqService
	path        string
	autoApprove bool
	logger      *slog.Logger
}

var _ bot.FAQLearner = (*faqLearner)(nil)

// errMatcherNotReady is retryable: the first build has not finished.
var errMatcherNotReady = errors.New("the faq matcher is not ready yet")

// FAQEntry implements bot.FAQLearner.
func (l *faqLearner) FAQEntry(id string) (bot.FAQEntry, error) {
	m := l.faq.live.Current()
	if m == nil {
		return bot.FAQEntry{}, fmt.Errorf("faq entry %q: %w", id, errMatcherNotReady)
	}
	e, ok := m.KB().Entry(id)
	if !ok {
		return bot.FAQEntry{}, fmt.Errorf("faq entry %q: %w", id, bot.ErrNotFound)
	}
	return bot.FAQEntry{ID: e.ID, Question: e.Question, Answer: e.Answer}, nil
}

// LearnExample implements bot.FAQLearner. With auto-approval, a failure to
// write the knowledge base is logged and leaves the suggestion pending: the
// customer has the answer already, and an operator can still approve it.
func (l *faqLearner) LearnExample(ctx context.Context, replyID, entryID, by string) (bot.FAQSuggestion, bool, error) {
	sg, ok, err := l.store.LearnExample(ctx, replyID, entryID, by)
	if err != nil || !ok || !l.autoApprove || sg.Status != bot.SuggestionPending {
		return sg, ok, err
	}
	log := l.logger.With("suggestion_id", sg.ID, "entry", entryID)
	if len(sg.Question) > faq.MaxExampleLen {
		log.Info("example left for review: longer than an example may be")
		return sg, ok, nil
	}
	if _, err := approveExamples(ctx, l.store, l.path, []bot.FAQSuggestion{sg}, "auto-approve"); err != nil {
		log.Warn("auto-approve example", "err", err)
		return sg, ok, nil
	}
	if err := l.faq.reloadInBackground(); err != nil {
		log.Warn("reload faq after auto-approval", "err", err)
	}
	if fresh, err := l.store.Suggestion(ctx, sg.ID); err == nil {
		sg = fresh
	}
	log.Info("example auto-approved")
	return sg, ok, nil
}

// reloadInBackground re-reads the knowledge base and rebuilds the matcher
// without waiting for it; Current serves the previous one meanwhile.
func (s *faqService) reloadInBackground() error {
	kb, _, err := faq.LoadOrDefault(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("reload faq: %w", err)
	}
	s.live.Start(kb)
	return nil
}

// faqLearner returns the learner of the running service.
func (m *Main) faqLearner() *faqLearner {
	return &faqLearner{store: m.Store, faq: m.FAQ, path: m.Config.FAQ.Path,
		autoApprove: m.Config.FAQ.AutoApproveExamples, logger: m.Logger.With("component", "faq_learning")}
}
