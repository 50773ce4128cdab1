package worker

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/supportbot/supportbot/bot"
)

// Close calls asked of the customer. When the Decider cannot choose between
// its two best entries (reason ambiguous, with both as Decision.Options),
// the engine asks "Did you mean: A, or B?" with the two entry questions as
// quick replies, and keeps them on the conversation. The customer's next
// turn that picks one (the button's text, the entry's question, "1", "the
// second") is answered with that entry; any other turn is decided as usual,
// and a second close call in a row is escalated with reason ambiguous.

// DefaultChoiceText introduces the two entries of a close call.
const DefaultChoiceText = "Did you mean:"

// closeCall asks the customer about a close call the engine can ask about
// (see canAsk), and returns the decision stored for the turn. A close call
// right after the one it asked about stays an escalation, which says so.
// Other decisions are returned as they are.
func (e *Engine) closeCall(o *bot.Outcome, reply *bot.Reply, c bot.Conversation, d bot.Decision) bot.Decision {
	switch {
	case e.canAsk(c, d):
		return e.askChoice(o, reply, d)
	case d.Reason == bot.ReasonAmbiguous && len(c.Choice) > 0:
		d.Detail = strings.TrimSpace(d.Detail + "; asked which entry the customer meant, and the answer was another close call")
	}
	return d
}

// canAsk reports whether the engine asks the customer about decision d
// rather than escalate it: a close call of two entries whose answers it can
// send, when the last turn did not already ask.
func (e *Engine) canAsk(c bot.Conversation, d bot.Decision) bool {
	if e.EntryAnswerFunc == nil || d.Action != bot.ActionEscalate || d.Reason != bot.ReasonAmbiguous ||
		len(d.Options) != 2 || len(c.Choice) > 0 {
		return false
	}
	for _, o := range d.Options {
		if strings.TrimSpace(o.Question) == "" {
			return false
		}
		if _, ok := e.EntryAnswerFunc(o.ID); !ok {
			return false
		}
	}
	return true
}

// askChoice turns a close call into the question that asks which entry the
// customer means, and returns the decision stored for the turn.
func (e *Engine) askChoice(o *bot.Outcome, reply *bot.Reply, d bot.Decision) bot.Decision {
	opts := make([]string, len(d.Options))
	for i, c := range d.Options {
		opts[i] = strings.TrimSpace(c.Question)
	}
	reply.Kind, reply.State = bot.ReplyAnswer, bot.StateBot
	reply.Text = choiceText(e.ChoiceText, opts)
	reply.Options = opts
	o.Choice = slices.Clone(d.Options)
	return bot.Decision{
		Action: bot.ActionAnswer, Answer: reply.Text, Confidence: d.Confidence,
		Detail:     "asked which entry the customer means: " + d.Detail,
		Candidates: d.Candidates, Options: d.Options, Source: "choice",
	}
}

// choiceText is the question of a close call: "Did you mean: A, or B?".
func choiceText(intro string, opts []string) string {
	if intro = strings.TrimSpace(intro); intro == "" {
		intro = DefaultChoiceText
	}
	q := make([]string, len(opts))
	for i, o := range opts {
		q[i] = strings.TrimRight(o, "?.!… ")
	}
	return fmt.Sprintf("%s %s, or %s?", intro, strings.Join(q[:len(q)-1], ", "), q[len(q)-1])
}

// pickChoice returns the entry of the conversation's pending choice that
// text picks, if it picks one.
func pickChoice(c bot.Conversation, text string) (bot.Candidate, bool) {
	if len(c.Choice) == 0 {
		return bot.Candidate{}, false
	}
	t := normChoice(text)
	if t == "" {
		return bot.Candidate{}, false
	}
	for _, o := range c.Choice {
		if t == normChoice(o.Question) || t == normChoice(o.ID) {
			return o, true
		}
	}
	t = strings.TrimPrefix(t, "the ")
	t = strings.TrimSuffix(strings.TrimSuffix(t, " please"), " one")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "option "), "number ")
	for i, words := range [][]string{{"1", "first", "1st", "one", "a"}, {"2", "second", "2nd", "two", "b", "last", "latter"}} {
		if i < len(c.Choice) && slices.Contains(words, t) {
			if i == 1 {
				i = len(c.Choice) - 1 // "the last" of two is the second
			}
			return c.Choice[i], true
		}
	}
	return bot.Candidate{}, false
}

// normChoice lowers text and keeps only its words, one space apart.
func normChoice(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	return strings.Join(f, " ")
}

// choiceAnswer answers the turn with the entry the customer picked, as the
// matcher's answer would be sent (with the confirm question where the
// trigger asks it). ok is false when the entry is no longer in the
// knowledge base: the turn is then decided as usual.
func (e *Engine) choiceAnswer(o *bot.Outcome, reply *bot.Reply, c bot.Conversation, pick bot.Candidate) (bot.Decision, bool) {
	if e.EntryAnswerFunc == nil {
		return bot.Decision{}, false
	}
	answer, ok := e.EntryAnswerFunc(pick.ID)
	if !ok || strings.TrimSpace(answer) == "" {
		return bot.Decision{}, false
	}
	reply.Kind, reply.Text, reply.State = bot.ReplyAnswer, answer, bot.StateBot
	o.Answered = true
	if e.settings(c.Trigger).Confirm {
		reply.Text += "\n\n" + e.confirmText()
		reply.Options = slices.Clone(ConfirmOptions)
		o.Confirm = true
	}
	return bot.Decision{
		Action: bot.ActionAnswer, Answer: answer, FAQIDs: []string{pick.ID}, Confidence: pick.Score,
		Detail: "the customer picked " + pick.ID + " of a close call", Candidates: c.Choice, Source: "choice",
	}, true
}

// choiceHistory leaves the close call the bot asked about out of the
// history the Decider sees: the customer's question was not answered, so a
// rephrasing of it is not a repeated question, and the bot's question is not
// an answer.
func choiceHistory(c bot.Conversation, h []bot.Turn) []bot.Turn {
	if len(c.Choice) == 0 {
		return h
	}
	i := len(h) - 1
	for i >= 0 && h[i].Author != bot.AuthorBot {
		i--
	}
	if i < 0 {
		return h
	}
	j := i
	for j > 0 && h[j-1].Author == bot.AuthorCustomer {
		j--
	}
	return append(slices.Clip(h[:j]), h[i+1:]...)
}
