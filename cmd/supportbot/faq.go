package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
	"github.com/supportbot/supportbot/faq"
	"github.com/supportbot/supportbot/faq/articles"
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
	return matcherRetriever{m}.Retrieve(text, k)
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

// matcherRetriever serves one built matcher to the policy (eval, ask).
type matcherRetriever struct{ m *faq.Matcher }

func (r matcherRetriever) Retrieve(text string, k int) ([]policy.Hit, float64, bool) {
	ms := r.m.Match(text, k)
	hits := make([]policy.Hit, len(ms))
	for i, x := range ms {
		hits[i] = policy.Hit{ID: x.Entry.ID, Question: x.Entry.Question, Answer: x.Entry.Answer, Tags: x.Entry.Tags, Score: x.Score}
	}
	return hits, r.m.Threshold(), true
}

// offlinePolicy builds the matcher for path and the policy the service
// would run with the current config, for eval and ask.
func (c *cli) offlinePolicy(ctx context.Context, path string, threshold float64) (*faq.Matcher, *policy.Policy, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, nil, err
	}
	if threshold < 0 || threshold > 1 {
		return nil, nil, &usageError{fmt.Errorf("--threshold: %v is outside [0, 1]", threshold)}
	}
	if path != "" {
		// A path the user named must exist: evaluating the embedded default
		// instead would print figures for a knowledge base they did not ask for.
		if _, err := os.Stat(path); err != nil {
			return nil, nil, &usageError{fmt.Errorf("--faq: %w", err)}
		}
	} else {
		path = cfg.FAQ.Path
	}
	if threshold == 0 {
		threshold = cfg.FAQ.Threshold
	}
	kb, usedDefault, err := faq.LoadOrDefault(path)
	if err != nil {
		return nil, nil, &usageError{fmt.Errorf("--faq: %w", err)}
	}
	if usedDefault {
		fmt.Fprintf(c.stderr, "supportbot: %s not found: using the embedded default knowledge base\n", path)
	}
	m, err := faq.Build(ctx, kb, faq.Options{Threshold: threshold})
	if err != nil {
		return nil, nil, err
	}
	p, err := newPolicy(&cfg, matcherRetriever{m}, slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, nil, err
	}
	return m, p, nil
}

func (c *cli) evalCmd() *cobra.Command {
	var faqPath, casesPath, articlesDir string
	var asJSON, sweep, recall, margins bool
	var threshold float64
	cmd := &cobra.Command{
		Use:   "eval --faq FILE --cases FILE",
		Short: "Measure the answer-or-escalate decision on labelled questions",
		Long: `eval builds the local matcher for the knowledge base, runs the decision the
service makes (with llm.mode off) on each case, and prints in-scope accuracy,
out-of-scope recall and precision, and latency percentiles. Cases are JSON
Lines {"q": "...", "faq": "<id>"}, with "faq": "" for a question that must be
escalated. --sweep prints the trade-off over thresholds. --recall prints, for
the in-scope cases, how often the right entry is among the matcher's first
1, 3, 5, 10 and 20, and among the entries an LLM would be shown
(llm.candidates, or the whole knowledge base within llm.context_budget).
--margins prints, with the local matcher, what bot.close_margin trades: right
answers lost against wrong answers avoided.

With --articles DIR, eval measures the help-center articles instead: cases are
{"q": "...", "articles": ["<article id>", ...]} ([] for a question to
escalate), and it prints recall at 1, 5 and 10 of the articles retrieved, the
share of answerable cases the local mode answers with a passage of a right
article, the share of the others it escalates, and retrieval latency. With
llm.mode not off and llm.embedding_model set, as the service does, it embeds
the passages and each question through llm.base_url and measures the fused
(lexical and embeddings) ranking: the recall and latency figures are the
fused ranking's, the local mode's stay lexical, and the JSON says
"ranking": "fused".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if articlesDir != "" {
				return c.evalArticles(cmd.Context(), articlesDir, casesPath, asJSON)
			}
			cases, err := faq.LoadCases(casesPath)
			if err != nil {
				return &usageError{fmt.Errorf("--cases: %w", err)}
			}
			m, p, err := c.offlinePolicy(cmd.Context(), faqPath, threshold)
			if err != nil {
				return err
			}
			if err := faq.CheckCases(m.KB(), cases); err != nil {
				return &usageError{fmt.Errorf("--cases: %w", err)}
			}
			if margins {
				rows, err := c.measureMargins(cmd.Context(), m, cases)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(rows)
				}
				return writeMargins(c.stdout, rows)
			}
			if recall {
				r, err := measureRecall(cmd.Context(), matcherRetriever{m}, p, cases)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(r)
				}
				return r.writeText(c.stdout)
			}
			if sweep {
				rows := faq.Sweep(m, cases, nil)
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(rows)
				}
				return faq.WriteSweep(c.stdout, rows)
			}
			ctx := cmd.Context()
			r := faq.EvaluateFunc(func(q string) (string, bool) {
				d, err := p.Decide(ctx, bot.Query{Text: q})
				if err != nil || d.Action != bot.ActionAnswer || len(d.FAQIDs) == 0 {
					return "", true
				}
				return d.FAQIDs[0], false
			}, cases)
			r.Threshold = m.Threshold()
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(r)
			}
			return r.WriteText(c.stdout)
		},
	}
	cmd.Flags().StringVar(&faqPath, "faq", "", "knowledge base file or directory (default faq.path)")
	cmd.Flags().StringVar(&articlesDir, "articles", "", "measure the help-center articles of this directory instead of the FAQ")
	cmd.Flags().StringVar(&casesPath, "cases", "", "eval cases, JSON Lines (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object")
	cmd.Flags().BoolVar(&sweep, "sweep", false, "print accuracy and out-of-scope recall over thresholds")
	cmd.Flags().BoolVar(&margins, "margins", false, "print right and wrong answers and ambiguous escalations over close-call margins")
	cmd.Flags().BoolVar(&recall, "recall", false, "print recall at 1/3/5/10/20 of the matcher's ranking and of the LLM's candidates")
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "confidence threshold (default faq.threshold, else the matcher's)")
	_ = cmd.MarkFlagRequired("cases")
	return cmd
}

func (c *cli) askCmd() *cobra.Command {
	var faqPath, articlesDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ask \"question\"",
		Short: "Show the decision for one question, with the entries considered",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, p, err := c.offlinePolicy(cmd.Context(), faqPath, 0)
			if err != nil {
				return err
			}
			cfg, err := c.config()
			if err != nil {
				return err
			}
			text, done, err := c.askAct(cfg.Conversation, m.KB(), args[0], asJSON)
			if done || err != nil {
				return err
			}
			if dir := cmp.Or(articlesDir, cfg.Knowledge.Articles); dir != "" {
				as, err := articles.Load(dir)
				if err != nil {
					return &usageError{fmt.Errorf("--articles: %w", err)}
				}
				p.Articles = indexRetriever{articles.Build(as, articles.Options{Threshold: cfg.Knowledge.Threshold})}
				p.Passages = cfg.Knowledge.Passages
			}
			d, err := p.Decide(cmd.Context(), bot.Query{Text: text})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(d)
			}
			fmt.Fprintf(c.stdout, "decision:   %s\n", d.Action)
			if d.Action == bot.ActionAnswer {
				fmt.Fprintf(c.stdout, "entry:      %s (confidence %.3f)\nanswer:     %s\n", d.FAQIDs[0], d.Confidence, d.Answer)
			} else {
				fmt.Fprintf(c.stdout, "reason:     %s (%s)\n", d.Reason, bot.ReasonText(d.Reason))
			}
			fmt.Fprintln(c.stdout, "considered:")
			for _, cand := range d.Candidates {
				title := cand.Question
				if cand.Heading != "" {
					title += " › " + cand.Heading
				}
				fmt.Fprintf(c.stdout, "  %.3f  %-30s %s\n", cand.Score, cand.ID, oneLine(title, 60))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&faqPath, "faq", "", "knowledge base file or directory (default faq.path)")
	cmd.Flags().StringVar(&articlesDir, "articles", "", "help-center articles directory (default knowledge.articles)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

// recallKs are the ranks eval --recall reports.
var recallKs = []int{1, 3, 5, 10, 20}

// recallReport is what eval --recall prints.
type recallReport struct {
	Cases int `json:"cases"` // in-scope cases
	// RecallAt maps k to the share of cases whose entry is in the
	// matcher's first k.
	RecallAt map[string]float64 `json:"recall_at"`
	// LLMCandidates is the share whose entry is among the entries an LLM
	// would be shown, MeanShown their mean number.
	LLMCandidates float64 `json:"llm_candidates"`
	MeanShown     float64 `json:"mean_shown"`
	// Relevant is the share of in-scope cases whose entry is shown and
	// that policy.Relevant lets through (in always mode, what the model may
	// answer); OOSNotRelevant the share of out-of-scope cases it stops
	// (decided without a call).
	Relevant       float64 `json:"relevant"`
	OOSNotRelevant float64 `json:"oos_not_relevant"`
}

// measureRecall ranks each in-scope case with the policy's retriever.
func measureRecall(ctx context.Context, r policy.Retriever, p *policy.Policy, cases []faq.Case) (recallReport, error) {
	rep := recallReport{RecallAt: map[string]float64{}}
	found := make([]int, len(recallKs))
	shownHits, shown, relevant, oos, oosBelow := 0, 0, 0, 0, 0
	for _, c := range cases {
		hits, threshold, _ := r.Retrieve(c.Q, recallKs[len(recallKs)-1])
		cands, err := p.LLMCandidates(ctx, c.Q)
		if err != nil {
			return rep, err
		}
		isRelevant := p.Relevant(c.Q, hits, threshold, cands)
		if c.FAQ == "" {
			oos++
			if !isRelevant {
				oosBelow++
			}
			continue
		}
		rep.Cases++
		for i, h := range hits {
			if h.ID == c.FAQ {
				for j, k := range recallKs {
					if i < k {
						found[j]++
					}
				}
				break
			}
		}
		shown += len(cands)
		for _, h := range cands {
			if h.ID == c.FAQ {
				shownHits++
				if isRelevant {
					relevant++
				}
				break
			}
		}
	}
	if rep.Cases == 0 {
		return rep, &usageError{fmt.Errorf("--cases: no in-scope case")}
	}
	n := float64(rep.Cases)
	for j, k := range recallKs {
		rep.RecallAt[fmt.Sprint(k)] = float64(found[j]) / n
	}
	rep.LLMCandidates, rep.MeanShown = float64(shownHits)/n, float64(shown)/n
	rep.Relevant, rep.OOSNotRelevant = float64(relevant)/n, ratio(oosBelow, oos)
	return rep, nil
}

func (r recallReport) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "in-scope cases:          %d\n", r.Cases)
	for _, k := range recallKs {
		fmt.Fprintf(&b, "recall@%-2d                %.3f\n", k, r.RecallAt[fmt.Sprint(k)])
	}
	fmt.Fprintf(&b, "llm candidates recall    %.3f (%.1f entries shown on average)\n", r.LLMCandidates, r.MeanShown)
	fmt.Fprintf(&b, "  and relevant           %.3f (sent to the model in always mode)\n", r.Relevant)
	fmt.Fprintf(&b, "out of scope, not sent   %.3f\n", r.OOSNotRelevant)
	_, err := io.WriteString(w, b.String())
	return err
}

// marginRow is one line of eval --margins.
type marginRow struct {
	Margin float64 `json:"margin"`
	// Right and Wrong are in-scope cases answered with the right and a wrong
	// entry, Ambiguous cases escalated as close calls, all over the in-scope
	// cases; OOSRecall is the share of out-of-scope cases escalated.
	Right     float64 `json:"right"`
	Wrong     float64 `json:"wrong"`
	Ambiguous float64 `json:"ambiguous"`
	OOSRecall float64 `json:"oos_recall"`
}

// evalMargins are the margins eval --margins tries.
var evalMargins = []float64{0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2}

// measureMargins runs the local decision (llm.mode off) on cases once per
// margin.
func (c *cli) measureMargins(ctx context.Context, m *faq.Matcher, cases []faq.Case) ([]marginRow, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	cfg.LLM.Mode = "off"
	logger := slog.New(slog.DiscardHandler)
	var rows []marginRow
	for _, mg := range evalMargins {
		cfg.Bot.CloseMargin = mg
		p, err := newPolicy(&cfg, matcherRetriever{m}, logger)
		if err != nil {
			return nil, err
		}
		var in, oos, right, wrong, amb, oosEsc int
		for _, cs := range cases {
			d, err := p.Decide(ctx, bot.Query{Text: cs.Q})
			if err != nil {
				return nil, err
			}
			answered := d.Action == bot.ActionAnswer && len(d.FAQIDs) > 0
			if cs.FAQ == "" {
				oos++
				if !answered {
					oosEsc++
				}
				continue
			}
			in++
			switch {
			case answered && d.FAQIDs[0] == cs.FAQ:
				right++
			case answered:
				wrong++
			case d.Reason == bot.ReasonAmbiguous:
				amb++
			}
		}
		rows = append(rows, marginRow{Margin: mg, Right: ratio(right, in), Wrong: ratio(wrong, in),
			Ambiguous: ratio(amb, in), OOSRecall: ratio(oosEsc, oos)})
	}
	return rows, nil
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func writeMargins(w io.Writer, rows []marginRow) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %7s %7s %9s %10s\n", "margin", "right", "wrong", "ambiguous", "oos_recall")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-7.2f %7.3f %7.3f %9.3f %10.3f\n", r.Margin, r.Right, r.Wrong, r.Ambiguous, r.OOSRecall)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
