// Command learncurve simulates a new customer's knowledge base learning
// from its agents ("Send FAQ answer"): it starts from a sparse knowledge
// base, feeds the in-scope questions of a cases file as customer traffic,
// and every question the bot escalates is labelled by an agent with its
// right entry and becomes an example of it (approved at once). What the
// bot answered, right or wrong, is not labelled: agents never see it.
// After every -step questions the matcher is rebuilt, and the table shows
// how it does on the questions not fed yet and on the out-of-scope ones.
//
// Run from the repository root (eval data in shared/eval beside the
// checkout):
//
//	go run ./faq/internal/learncurve -kb ../shared/eval/fewshot/clinc150_k1.yaml \
//	    -cases ../shared/eval/clinc150/val.jsonl -step 500
//
// It exits 0 with a note when the data is missing. It uses only the faq
// package's public API (Load, LoadCases, Build, Decide, CleanExamples).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/supportbot/supportbot/faq"
)

func main() {
	kbPath := flag.String("kb", "../shared/eval/fewshot/clinc150_k1.yaml", "the starting knowledge base")
	casesPath := flag.String("cases", "../shared/eval/clinc150/val.jsonl", `questions, JSON Lines {"q": "...", "faq": "<id>" or ""}`)
	step := flag.Int("step", 500, "questions fed between rebuilds")
	order := flag.String("order", "file", `"file": as the cases file lists them; "shuffled": in a random order (seed -seed)`)
	seed := flag.Uint64("seed", 1, "seed of -order shuffled")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *kbPath, *casesPath, *step, *order, *seed); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "learncurve: eval data not found, nothing to do:", err)
			return
		}
		fmt.Fprintln(os.Stderr, "learncurve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, kbPath, casesPath string, step int, order string, seed uint64) error {
	for _, p := range []string{kbPath, casesPath} {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	kb, err := faq.Load(kbPath)
	if err != nil {
		return err
	}
	cases, err := faq.LoadCases(casesPath)
	if err != nil {
		return err
	}
	if step < 1 {
		return fmt.Errorf("-step: %d, want at least 1", step)
	}
	switch order {
	case "file":
	case "shuffled":
		r := rand.New(rand.NewPCG(seed, seed))
		r.Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
	default:
		return fmt.Errorf(`-order: %q, want "file" or "shuffled"`, order)
	}
	rows, err := Simulate(ctx, kb, cases, step)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s, %s (%s order), a rebuild every %d questions\n\n", kbPath, casesPath, order, step)
	return WriteTable(w, rows)
}

// Row is the state after Fed in-scope questions.
type Row struct {
	Fed int
	// Answered, Wrong and Escalated count what the bot did with the
	// questions fed since the previous row (Wrong: answered with another
	// entry); Labelled counts the escalations labelled so far, Examples
	// the examples they added (repeats of an existing phrasing add none).
	Answered, Wrong, Escalated int
	Labelled, Examples         int
	// Rest is how many in-scope questions were not fed yet; RestAccuracy
	// the share of them answered with the right entry (escalations count
	// as wrong); OOSRecall the share of the out-of-scope questions
	// escalated.
	Rest         int
	RestAccuracy float64
	OOSRecall    float64
	// Baseline is RestAccuracy of the starting matcher, which learned
	// nothing: the same questions, without the agents' labels.
	Baseline float64
	Build    time.Duration
}

// Simulate runs the simulation: cases' in-scope questions in their order,
// the out-of-scope ones held out for OOSRecall. kb is not changed.
func Simulate(ctx context.Context, kb *faq.KB, cases []faq.Case, step int) ([]Row, error) {
	var in, oos []faq.Case
	for _, c := range cases {
		if c.FAQ == "" {
			oos = append(oos, c)
		} else {
			in = append(in, c)
		}
	}
	entries := slices.Clone(kb.Entries)
	index := map[string]int{}
	for i, e := range entries {
		entries[i].Examples = slices.Clone(e.Examples)
		index[e.ID] = i
	}
	for _, c := range in {
		if _, ok := index[c.FAQ]; !ok {
			return nil, fmt.Errorf("case line %d: no entry %q in the knowledge base", c.Line, c.FAQ)
		}
	}
	build := func() (*faq.Matcher, time.Duration, error) {
		start := time.Now()
		m, err := faq.Build(ctx, &faq.KB{Entries: entries}, faq.Options{})
		return m, time.Since(start), err
	}
	m, took, err := build()
	if err != nil {
		return nil, err
	}
	m0 := m
	var rows []Row
	cur := Row{}
	measure := func(fed int) {
		cur.Fed, cur.Build = fed, took
		rest := in[fed:]
		cur.Rest, cur.RestAccuracy = len(rest), 0
		if len(rest) > 0 {
			cur.RestAccuracy, cur.Baseline = accuracy(m, rest), accuracy(m0, rest)
		}
		cur.OOSRecall = 0
		if len(oos) > 0 {
			esc := 0
			for _, c := range oos {
				if !m.Decide(c.Q, 1).InScope {
					esc++
				}
			}
			cur.OOSRecall = float64(esc) / float64(len(oos))
		}
		rows = append(rows, cur)
		cur.Answered, cur.Wrong, cur.Escalated = 0, 0, 0
	}
	measure(0)
	for start := 0; start < len(in); start += step {
		batch := in[start:min(start+step, len(in))]
		for _, c := range batch {
			// The matcher serving traffic is the one built at the last
			// rebuild: examples learned meanwhile wait for the next.
			r := m.Decide(c.Q, 1)
			switch {
			case r.InScope && r.Best.Entry.ID == c.FAQ:
				cur.Answered++
			case r.InScope:
				cur.Answered++
				cur.Wrong++
			default:
				cur.Escalated++
				cur.Labelled++
				e := &entries[index[c.FAQ]]
				if add := faq.CleanExamples(*e, []string{c.Q}, 1); len(add) > 0 {
					e.Examples = append(e.Examples, add...)
					cur.Examples++
				}
			}
		}
		if m, took, err = build(); err != nil {
			return nil, err
		}
		measure(start + len(batch))
	}
	return rows, nil
}

// accuracy is the share of in-scope cases m answers with the right entry.
func accuracy(m *faq.Matcher, cases []faq.Case) float64 {
	right := 0
	for _, c := range cases {
		if r := m.Decide(c.Q, 1); r.InScope && r.Best.Entry.ID == c.FAQ {
			right++
		}
	}
	return float64(right) / float64(len(cases))
}

// WriteTable prints rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) error {
	fmt.Fprintln(w, "| fed | answered (wrong) since the last row | escalated, labelled | examples added, in all | rest of val: in-scope answered correctly (questions) | the same without learning | out-of-scope recall | build |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, r := range rows {
		batch := "- | -"
		if i > 0 {
			batch = fmt.Sprintf("%d (%d) | %d", r.Answered, r.Wrong, r.Escalated)
		}
		rest := "- (none left) | -"
		if r.Rest > 0 {
			rest = fmt.Sprintf("%.3f (%d) | %.3f", r.RestAccuracy, r.Rest, r.Baseline)
		}
		if _, err := fmt.Fprintf(w, "| %d | %s | %d | %s | %.2f | %d ms |\n", r.Fed, batch, r.Examples, rest, r.OOSRecall, r.Build.Milliseconds()); err != nil {
			return err
		}
	}
	return nil
}
