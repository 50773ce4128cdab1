package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// replyCmd is `supportbot reply KEY TEXT --agent NAME`: an agent's answer
// written from the command line, with the same operation as the dashboard's
// reply box and the admin API. Like the other operator commands it opens the
// database itself, so it works with the admin API off; the reply is a
// queued deliver job that the running service's workers send within their
// poll interval.
func (c *cli) replyCmd() *cobra.Command {
	var agent, idemKey string
	cmd := &cobra.Command{
		Use:   `reply KEY TEXT --agent NAME`,
		Short: "Answer a customer as an agent, without Slack (TEXT - reads standard input)",
		Long: `Queue an agent's reply to conversation KEY (trigger/id, as "conversations list" shows it).
The reply goes out through the conversation's reply channel, as a reply in the
Slack thread would. An escalated conversation is claimed by the agent; one the
bot owns, or a resolved one, is refused: claim it (or return it to the agents'
queue) first. The running service's workers deliver the reply.`,
		Args: cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, args []string, s *sqlite.Store) error {
			text := args[1]
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(c.stdin, bot.MaxTextLen+1))
				if err != nil {
					return fmt.Errorf("read text: %w", err)
				}
				text = string(b)
			}
			res, err := s.AgentReply(cmd.Context(), bot.AgentReply{
				ConversationKey: args[0], Agent: agent, Text: text, IdempotencyKey: idemKey,
				Via: "from the command line",
			})
			var ve *bot.ValidationError
			switch {
			case errors.As(err, &ve):
				return &usageError{err}
			case errors.Is(err, bot.ErrNotFound):
				return fmt.Errorf("no conversation %q (see `supportbot conversations list`)", args[0])
			case errors.Is(err, bot.ErrConflict):
				return fmt.Errorf("not sent: %w", err)
			case err != nil:
				return err
			}
			var notes []string
			if res.Claimed {
				notes = append(notes, "claimed by "+res.Reply.AgentName)
			}
			if res.Replayed {
				notes = append(notes, "queued before under this idempotency key; nothing new sent")
			}
			fmt.Fprintf(c.stdout, "reply %s queued for %s (state %s)", res.Reply.ID, res.Reply.ConversationKey, res.Reply.State)
			if len(notes) > 0 {
				fmt.Fprintf(c.stdout, "; %s", strings.Join(notes, "; "))
			}
			fmt.Fprintln(c.stdout)
			return nil
		}),
	}
	cmd.Flags().StringVar(&agent, "agent", "", "the agent's name, as the customer sees it (required)")
	cmd.Flags().StringVar(&idemKey, "idempotency-key", "", "send at most once under this key (a retried command sends nothing twice)")
	return cmd
}
