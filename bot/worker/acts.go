package worker

import (
	"cmp"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/faq/acts"
)

// readAct finds the conversation act of a turn that the engine answers
// itself, and the question to decide on otherwise. A greeting, thanks or
// goodbye that opens a question is dropped from it ("hi, how do I …");
// yes, no and a rejection mean something only after the bot's answer or its
// confirm question, and are ordinary text elsewhere.
func (e *Engine) readAct(c bot.Conversation, text string) (acts.Act, string) {
	if e.Acts == nil {
		return acts.None, text
	}
	r := e.Acts.Parse(text)
	afterAnswer := c.Answered || c.ConfirmPending
	switch r.Act {
	case acts.Greeting, acts.Thanks, acts.Goodbye:
		return r.Act, text
	case acts.Rejection:
		if afterAnswer {
			return acts.Rejection, text
		}
		return acts.None, text
	case acts.Yes, acts.No:
		if c.ConfirmPending {
			return r.Act, text
		}
		return acts.None, text
	}
	switch r.Lead {
	case acts.Greeting, acts.Thanks, acts.Goodbye:
		return acts.None, r.Rest
	case acts.Yes:
		if c.ConfirmPending {
			return acts.None, r.Rest // "yes, and how do I …": the new question
		}
	case acts.No, acts.Rejection:
		if c.ConfirmPending || (r.Lead == acts.Rejection && afterAnswer) {
			return acts.Rejection, text // "no, I still cannot log in"
		}
	}
	return acts.None, text
}

// actOutcome fills the outcome and reply of a turn that is a conversation
// act, and returns its decision.
func (e *Engine) actOutcome(o *bot.Outcome, reply *bot.Reply, c bot.Conversation, act acts.Act) bot.Decision {
	d := bot.Decision{Action: bot.ActionAnswer, Confidence: 1, Source: "act", Detail: string(act)}
	afterAnswer := c.Answered || c.ConfirmPending
	reply.Kind, reply.State = bot.ReplyAnswer, bot.StateBot
	switch {
	case act == acts.Rejection || act == acts.No:
		d.Action, d.Reason = bot.ActionEscalate, bot.ReasonAnswerRejected
		d.Detail = "the customer said the answer did not help"
		return d
	case act == acts.Greeting:
		o.Act = string(act)
		reply.Text = e.actText(act, cmp.Or(e.settings(c.Trigger).Greeting, e.GreetingText, DefaultGreetingText))
	case afterAnswer: // thanks, goodbye or yes after an answer: confirmed
		o.Act, o.Resolve = string(act), bot.ResolutionConfirmed
		reply.Kind, reply.State = bot.ReplyClosing, bot.StateResolved
		reply.Text = e.actText(act, e.ClosingText)
	case act == acts.Goodbye:
		o.Act = string(act)
		reply.Text = e.actText(act, cmp.Or(e.GoodbyeText, DefaultGoodbyeText))
	default: // thanks with nothing to close
		o.Act = string(act)
		reply.Text = e.actText(act, cmp.Or(e.WelcomeText, DefaultWelcomeText))
	}
	d.Answer = reply.Text
	return d
}

// actText is the operator's own reply to an act when there is one, else def.
func (e *Engine) actText(act acts.Act, def string) string {
	if e.ActReplyFunc != nil {
		if act == acts.Yes {
			act = acts.Thanks // "yes, it did" closes like thanks
		}
		if s, ok := e.ActReplyFunc(act); ok {
			return s
		}
	}
	return def
}

func (e *Engine) settings(trigger string) TriggerSettings {
	if e.TriggerFunc == nil {
		return TriggerSettings{}
	}
	return e.TriggerFunc(trigger)
}

func (e *Engine) confirmText() string { return cmp.Or(e.ConfirmText, DefaultConfirmText) }

// questionHistory is the history the Decider sees: greetings and
// courtesies, and the bot's replies to them, are left out (they are not
// questions, so the rules on repeated questions and failed turns never count
// them), and the bot's answers are shown without the confirm question, as
// the Decider wrote them.
func (e *Engine) questionHistory(h []bot.Turn) []bot.Turn {
	out := make([]bot.Turn, 0, len(h))
	skipReply := false
	for _, t := range h {
		switch {
		case t.Author == bot.AuthorCustomer && e.Acts != nil:
			a := e.Acts.Parse(t.Text).Act
			skipReply = a == acts.Greeting || a == acts.Thanks || a == acts.Goodbye
			if skipReply {
				continue
			}
		case t.Author == bot.AuthorBot:
			if skipReply {
				continue
			}
			t.Text = strings.TrimSuffix(t.Text, "\n\n"+e.confirmText())
		}
		out = append(out, t)
	}
	return out
}

// lastAnswer is the bot's last line before this turn, without the confirm
// question: the answer the customer rejected.
func (e *Engine) lastAnswer(h []bot.Turn) string {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Author == bot.AuthorBot {
			return strings.TrimSuffix(h[i].Text, "\n\n"+e.confirmText())
		}
	}
	return ""
}
