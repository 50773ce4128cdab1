package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/chatwoot"
	"github.com/supportbot/supportbot/triggers/freshdesk"
	"github.com/supportbot/supportbot/triggers/helpscout"
	"github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/intercom"
	"github.com/supportbot/supportbot/triggers/standard"
	"github.com/supportbot/supportbot/triggers/zendesk"
)

type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "supportbot",
		Short:         "A self-hosted support bot: FAQ answers by webhook, hand-off to people in Slack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.configPath, "config", "", "config file (default: config.yaml if present)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(c.serveCmd(), c.sendCmd(), c.versionCmd(), c.dlqCmd(), c.escalationsCmd(),
		c.conversationsCmd(), c.evalCmd(), c.askCmd(), c.benchCmd(), c.faqCmd(), c.replyCmd())
	root.AddCommand(c.kbCmd())
	return root
}

func (c *cli) config() (Config, error) {
	if c.configPath != "" {
		return LoadConfig(c.configPath, true)
	}
	return LoadConfig("config.yaml", false)
}

func (c *cli) serveCmd() *cobra.Command {
	var autoApprove bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.config()
			if err != nil {
				return err
			}
			if autoApprove {
				cfg.FAQ.AutoApproveExamples = true
			}
			logger := newLogger(cfg.Log, c.stderr)
			for _, w := range cfg.Warnings {
				logger.Warn("config: " + w)
			}
			m := NewMain(cfg, logger)
			if err := m.Open(cmd.Context()); err != nil {
				return err
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					if err := m.FAQ.Reload(cmd.Context()); err != nil {
						logger.Error("reload faq", "err", err)
					}
					if m.Articles != nil {
						if err := m.Articles.Reload(); err != nil {
							logger.Error("reload articles", "err", err)
						}
					}
					continue
				case <-cmd.Context().Done():
				}
				break
			}
			logger.Info("shutting down")
			return m.Close()
		},
	}
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false,
		"write the questions agents answer with an FAQ entry into its examples at once (faq.auto_approve_examples)")
	return cmd
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(c.stdout, "supportbot", version) },
	}
}

func (c *cli) sendCmd() *cobra.Command {
	var name, file, base, id string
	var headers []string
	cmd := &cobra.Command{
		Use:   "send --trigger NAME --file event.json",
		Short: "Sign an event with a trigger's secret and post it to the running service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.config()
			if err != nil {
				return err
			}
			if _, err := fillSecrets(&cfg); err != nil {
				return err
			}
			var tc *triggers.Config
			for i := range cfg.Triggers {
				if cfg.Triggers[i].Name == name {
					tc = &cfg.Triggers[i]
				}
			}
			if tc == nil {
				return &usageError{fmt.Errorf("--trigger: no trigger named %q in the config", name)}
			}
			var body []byte
			if file == "-" {
				body, err = io.ReadAll(c.stdin)
			} else {
				body, err = os.ReadFile(file)
			}
			if err != nil {
				return &usageError{fmt.Errorf("--file: %w", err)}
			}
			body = bytes.TrimRight(body, "\r\n")
			if base == "" {
				base = localURL(cfg.Server.Addr)
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost,
				strings.TrimRight(base, "/")+"/hooks/"+tc.Name, bytes.NewReader(body))
			if err != nil {
				return &usageError{fmt.Errorf("--url: %w", err)}
			}
			req.Header.Set("Content-Type", "application/json")
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return &usageError{fmt.Errorf("--header %q: want \"Name: value\"", h)}
				}
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if id == "" {
				id = "msg_" + uuid.Must(uuid.NewV7()).String()
			}
			if err := signRequest(req, *tc, id, body, time.Now()); err != nil {
				return err
			}
			client := &http.Client{Timeout: 30 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("post event: %w", err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			fmt.Fprintf(c.stdout, "%s %s\n", resp.Status, bytes.TrimSpace(out))
			if resp.StatusCode >= 300 {
				return fmt.Errorf("the service answered %s", resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "trigger", "", "trigger name (required)")
	cmd.Flags().StringVar(&file, "file", "", "event JSON file, or - for standard input (required)")
	cmd.Flags().StringVar(&base, "url", "", "base URL of the service (default from server.addr)")
	cmd.Flags().StringVar(&id, "id", "", "event id (webhook-id); default a new one")
	cmd.Flags().StringArrayVar(&headers, "header", nil, `extra request header, "Name: value" (repeatable; e.g. "X-HelpScout-Event: convo.created")`)
	_ = cmd.MarkFlagRequired("trigger")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// localURL turns a listen address into a URL on this machine.
func localURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		addr = "localhost" + addr
	}
	return "http://" + addr
}

// signRequest authenticates req the way the trigger verifies it.
func signRequest(req *http.Request, tc triggers.Config, id string, body []byte, now time.Time) error {
	secrets := tc.AllSecrets()
	switch tc.Kind {
	case "web":
		// A web trigger takes messages from a visitor session that the chat
		// page opens, not a signature: signing as standard would only get 401.
		return &usageError{fmt.Errorf("--trigger %s: send cannot post to a web chat trigger (its messages come from a visitor session: open /chat/%s in a browser); test with a standard trigger instead", tc.Name, tc.Name)}
	case "standard":
		sig, err := standard.Sign(first(secrets), id, now, body)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
	case "token":
		tok := tc.Token
		if tok == "" && len(tc.Secrets) > 0 {
			tok = tc.Secrets[0]
		}
		if tc.TokenHeader != "" {
			req.Header.Set(tc.TokenHeader, tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("webhook-id", id)
	case "hmac":
		t, err := hmac.New(tc)
		if err != nil {
			return &ConfigError{fmt.Errorf("trigger %s: %w", tc.Name, err)}
		}
		t.(*hmac.Trigger).Sign(req.Header, body, now)
		req.Header.Set("webhook-id", id)
	case zendesk.Kind:
		ts, sig := zendesk.Signature(first(secrets), body, now)
		req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
		req.Header.Set("X-Zendesk-Webhook-Signature", sig)
	case intercom.Kind:
		req.Header.Set("X-Hub-Signature", intercom.Signature(first(secrets), body))
	case helpscout.Kind:
		req.Header.Set("X-HelpScout-Signature", helpscout.Signature(first(secrets), body))
	case chatwoot.Kind:
		if len(secrets) > 0 {
			ts, sig := chatwoot.Signature(first(secrets), body, now)
			req.Header.Set("X-Chatwoot-Timestamp", ts)
			req.Header.Set("X-Chatwoot-Signature", sig)
		}
		req.Header.Set("X-Chatwoot-Delivery", id)
	case freshdesk.Kind:
		if tc.Username != "" {
			req.SetBasicAuth(tc.Username, tc.Password)
		}
		if tok := cmp.Or(tc.Token, first(tc.Secrets)); tok != "" {
			req.Header.Set(cmp.Or(tc.TokenHeader, freshdesk.DefaultTokenHeader), tok)
		}
	default:
		return &usageError{fmt.Errorf("send cannot sign for trigger kind %q (it signs standard, hmac, token, zendesk, freshdesk, intercom, helpscout and chatwoot)", tc.Kind)}
	}
	return nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// openStore opens the configured database for an operator command.
func (c *cli) openStore() (*sqlite.Store, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	if !fileExists(cfg.Storage.Path) {
		return nil, fmt.Errorf("no database at %s (storage.path): run serve first", cfg.Storage.Path)
	}
	s := sqlite.NewStore(cfg.Storage.Path)
	s.Logger = newLogger(cfg.Log, c.stderr)
	if err := s.Open(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func (c *cli) dlqCmd() *cobra.Command {
	dlq := &cobra.Command{Use: "dlq", Short: "Show and replay dead-lettered jobs"}
	var kind string
	var n int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, newest first",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, s *sqlite.Store) error {
			jobs, err := s.ListJobs(cmd.Context(), bot.JobFilter{State: bot.JobDiscarded, Kind: kind, Limit: n})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(jobs)
			}
			tw := c.table("ID\tKIND\tQUEUE\tATTEMPTS\tUPDATED\tLAST ERROR")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Kind, j.QueueKey, j.Attempt,
					j.UpdatedAt.Format(time.RFC3339), oneLine(j.LastError, 100))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&kind, "kind", "", "only jobs of this kind")
	list.Flags().IntVar(&n, "limit", 100, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	var all bool
	replay := &cobra.Command{
		Use:   "replay ID... | --all",
		Short: "Re-queue dead letters with a fresh attempt budget",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return &usageError{errors.New("give job ids or --all")}
			}
			s, err := c.openStore()
			if err != nil {
				return err
			}
			defer s.Close()
			if all {
				n, err := s.ReplayAll(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "re-queued %d jobs\n", n)
				return nil
			}
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return &usageError{fmt.Errorf("job id %q is not a number", a)}
				}
				if err := s.ReplayJob(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "re-queued job %d\n", id)
			}
			return nil
		},
	}
	replay.Flags().BoolVar(&all, "all", false, "replay every dead letter")
	dlq.AddCommand(list, replay)
	return dlq
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (c *cli) escalationsCmd() *cobra.Command {
	var status string
	var n int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "escalations",
		Short: "List escalations (open ones by default)",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, s *sqlite.Store) error {
			if status == "all" {
				status = ""
			}
			list, err := s.ListEscalations(cmd.Context(), status, n)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(list)
			}
			tw := c.table("ID\tCONVERSATION\tSTATUS\tREASON\tCREATED\tCUSTOMER\tSUMMARY")
			for _, e := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.ConversationKey, e.Status, e.Reason,
					e.CreatedAt.Format(time.RFC3339), oneLine(e.Customer.Name+" "+e.Customer.Email, 40), oneLine(e.Summary, 60))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().StringVar(&status, "status", "open", "open, claimed, resolved, returned or all")
	cmd.Flags().IntVar(&n, "limit", 100, "at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

func (c *cli) conversationsCmd() *cobra.Command {
	conv := &cobra.Command{Use: "conversations", Short: "List conversations and show transcripts"}
	var state, q string
	var n int
	list := &cobra.Command{
		Use:   "list",
		Short: "List conversations, most recent first",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, s *sqlite.Store) error {
			list, err := s.ListConversations(cmd.Context(), bot.ConversationFilter{State: bot.State(state), Query: q, Limit: n})
			if err != nil {
				return err
			}
			tw := c.table("KEY\tSTATE\tUPDATED\tCUSTOMER\tSUBJECT")
			for _, cv := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cv.Key, cv.State, cv.UpdatedAt.Format(time.RFC3339),
					oneLine(cv.Customer.Name, 30), oneLine(cv.Subject, 50))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&state, "state", "", "only conversations in this state")
	list.Flags().StringVar(&q, "q", "", "search subject, customer and id")
	list.Flags().IntVar(&n, "limit", 50, "at most this many")
	show := &cobra.Command{
		Use:   "show KEY",
		Short: "Show a conversation's transcript, replies and transitions",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, args []string, s *sqlite.Store) error {
			return showConversation(cmd.Context(), s, args[0], c.stdout)
		}),
	}
	conv.AddCommand(list, show)
	return conv
}

func showConversation(ctx context.Context, s *sqlite.Store, key string, w io.Writer) error {
	cv, err := s.Conversation(ctx, key)
	if err != nil {
		return err
	}
	msgs, err := s.Messages(ctx, key)
	if err != nil {
		return err
	}
	replies, err := s.Replies(ctx, key)
	if err != nil {
		return err
	}
	trs, err := s.Transitions(ctx, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s  state=%s  customer=%q  subject=%q\n\n", cv.Key, cv.State, cv.Customer.Name, cv.Subject)
	for _, m := range msgs {
		who := m.Author
		if m.AgentName != "" {
			who += " (" + m.AgentName + ")"
		}
		fmt.Fprintf(w, "%s  %-9s %s\n", m.At.Format("15:04:05"), who, m.Text)
	}
	if len(replies) > 0 {
		fmt.Fprintln(w, "\nreplies:")
		for _, r := range replies {
			fmt.Fprintf(w, "  %s  %-8s %-10s %s\n", r.ID, r.Kind, r.Status, oneLine(r.Text, 60))
		}
	}
	if len(trs) > 0 {
		fmt.Fprintln(w, "\ntransitions:")
		for _, t := range trs {
			fmt.Fprintf(w, "  %s  %s -> %s by %s: %s\n", t.At.Format(time.RFC3339), t.From, t.To, t.Actor, t.Reason)
		}
	}
	return nil
}

// withStore makes the RunE of an operator command that reads or changes the
// database: the configured store is opened for fn and closed after it.
func (c *cli) withStore(fn func(cmd *cobra.Command, args []string, s *sqlite.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := c.openStore()
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(cmd, args, s)
	}
}

// table returns a writer of tab-separated columns aligned on stdout, with
// the header line written.
func (c *cli) table(header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}
