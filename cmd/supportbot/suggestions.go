package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/faq"
)

// faqCmd groups the knowledge-base commands: suggestions saved by agents
// in Slack, listed and approved or rejected by an operator.
func (c *cli) faqCmd() *cobra.Command {
	root := &cobra.Command{Use: "faq", Short: "Manage the knowledge base"}
	sug := &cobra.Command{Use: "suggestions", Short: "List, approve and reject FAQ entries suggested by agents"}
	var status string
	var n int
	list := &cobra.Command{
		Use:   "list",
		Short: "List suggestions (pending by default)",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, s *sqlite.Store) error {
			if status == "all" {
				status = ""
			}
			list, err := s.ListSuggestions(cmd.Context(), status, n)
			if err != nil {
				return err
			}
			tw := c.table("ID\tKIND\tSTATUS\tCREATED\tAGENT\tENTRY\tQUESTION\tANSWER")
			for _, x := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, cmp.Or(x.Kind, bot.SuggestionEntry), x.Status,
					x.CreatedAt.Format(time.RFC3339), oneLine(cmp.Or(x.AgentName, x.SuggestedBy), 20), cmp.Or(x.EntryID, "-"),
					oneLine(x.Question, 50), oneLine(x.Answer, 50))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&status, "status", "pending", "pending, approved, rejected or all")
	list.Flags().IntVar(&n, "limit", 100, "at most this many")

	var entryID, question, answer, by, forEntry string
	var tags []string
	var all bool
	approve := &cobra.Command{
		Use:   "approve ID | --all [--entry ID]",
		Short: "Write a suggestion (or every pending example) into the knowledge base (faq.path)",
		Long: `approve writes a suggestion into the knowledge base after validating the whole
knowledge base with it, and marks the suggestion approved. An entry suggestion
is appended as a new entry (a directory gets suggested.yaml); an example
suggestion is added to the examples of its entry, in the file that holds it.
--all approves every pending example suggestion (of one entry with --entry);
entry suggestions are approved one by one. The running service picks the
change up on SIGHUP.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return &usageError{errors.New("give a suggestion id or --all, not both")}
			case !all && len(args) != 1:
				return &usageError{errors.New("give one suggestion id, or --all")}
			case !all && forEntry != "":
				return &usageError{errors.New("--entry goes with --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.config()
			if err != nil {
				return err
			}
			s, err := c.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			if all {
				list, err := s.PendingExamples(cmd.Context(), forEntry)
				if err != nil {
					return err
				}
				done, err := approveExamples(cmd.Context(), s, cfg.FAQ.Path, list, decider(by))
				fmt.Fprintf(c.stdout, "approved %d example suggestion(s) of %d pending", len(done), len(list))
				long := 0
				for _, x := range list {
					if len(strings.Join(strings.Fields(x.Question), " ")) > faq.MaxExampleLen {
						long++
					}
				}
				if long > 0 {
					fmt.Fprintf(c.stdout, " (%d longer than %d bytes left for review)", long, faq.MaxExampleLen)
				}
				if len(done) > 0 {
					fmt.Fprint(c.stdout, "; reload the service (SIGHUP) to use them")
				}
				fmt.Fprintln(c.stdout)
				return err
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &usageError{fmt.Errorf("suggestion id %q is not a number", args[0])}
			}
			x, err := s.Suggestion(cmd.Context(), id)
			if err != nil {
				return err
			}
			if x.Status != bot.SuggestionPending {
				return fmt.Errorf("suggestion %d is already %s: %w", id, x.Status, bot.ErrConflict)
			}
			if x.Kind == bot.SuggestionExample {
				if question != "" {
					x.Question = question
				}
				if _, err := approveExamples(cmd.Context(), s, cfg.FAQ.Path, []bot.FAQSuggestion{x}, decider(by)); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "approved suggestion %d: example added to entry %q; reload the service (SIGHUP) to use it\n", id, x.EntryID)
				return nil
			}
			a, err := faq.AppendEntry(cfg.FAQ.Path, faq.Entry{
				ID: entryID, Question: cmp.Or(question, x.Question), Answer: cmp.Or(answer, x.Answer), Tags: tags,
			})
			if err != nil {
				return err
			}
			if err := s.DecideSuggestion(cmd.Context(), id, true, decider(by), a.Entry.ID); err != nil {
				return err
			}
			verb := "wrote"
			if a.Existed {
				verb = "found"
			}
			fmt.Fprintf(c.stdout, "approved suggestion %d: %s entry %q in %s; reload the service (SIGHUP) to use it\n", id, verb, a.Entry.ID, a.File)
			return nil
		},
	}
	approve.Flags().BoolVar(&all, "all", false, "approve every pending example suggestion")
	approve.Flags().StringVar(&forEntry, "entry", "", "with --all: only the examples of this entry")
	approve.Flags().StringVar(&entryID, "id", "", "entry id (default: made from the question)")
	approve.Flags().StringVar(&question, "question", "", "the entry's question, instead of the customer's words")
	approve.Flags().StringVar(&answer, "answer", "", "the entry's answer, instead of the agent's words")
	approve.Flags().StringSliceVar(&tags, "tag", nil, "tags of the entry")
	approve.Flags().StringVar(&by, "by", "", "who approves (default $USER)")

	reject := &cobra.Command{
		Use:   "reject ID",
		Short: "Reject a suggestion",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &usageError{fmt.Errorf("suggestion id %q is not a number", args[0])}
			}
			s, err := c.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.DecideSuggestion(cmd.Context(), id, false, decider(by), ""); err != nil {
				if errors.Is(err, bot.ErrConflict) {
					return fmt.Errorf("suggestion %d was already decided: %w", id, err)
				}
				return err
			}
			fmt.Fprintf(c.stdout, "rejected suggestion %d\n", id)
			return nil
		},
	}
	reject.Flags().StringVar(&by, "by", "", "who rejects (default $USER)")
	sug.AddCommand(list, approve, reject)
	root.AddCommand(sug, c.augmentCmd())
	return root
}

func decider(by string) string {
	return cmp.Or(by, os.Getenv("USER"), "operator")
}
