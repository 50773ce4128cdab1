package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/faq/acts"
)

// Store is the part of the store the engine's handlers need.
type Store interface {
	RecordInbound(ctx context.Context, inboxID int64, burst time.Duration) (*bot.Inbound, error)
	ApplyDecision(ctx context.Context, o bot.Outcome) error
	QueueMirror(ctx context.Context, jobID int64, key string, messageID int64, maxAttempts int) error
	PrepareReply(ctx context.Context, id string) (bot.Reply, bool, error)
	MarkReplySent(ctx context.Context, jobID int64, id string) error
	Escalation(ctx context.Context, id int64) (bot.StoredEscalation, error)
	MarkAnnounced(ctx context.Context, jobID, escalationID int64, t bot.Thread) error
	Message(ctx context.Context, id int64) (bot.Message, error)
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	ApplyOwnership(ctx context.Context, jobID, inboxID int64) (bot.OwnerApplied, error)
}

// DefaultHandoffText is sent to the customer when a conversation is escalated.
const DefaultHandoffText = "Thanks for your message. A person from our team will reply here."

// DefaultRephraseText asks the customer to say an out-of-scope turn again
// (Engine.RephraseTurns).
const DefaultRephraseText = "I'm not sure I understood. Could you say it in other words?"

// Default texts of the engine's replies to conversation acts.
const (
	// DefaultGreetingText answers a greeting and invites the question.
	DefaultGreetingText = "Hi! How can I help you today?"
	// DefaultClosingText answers thanks or goodbye after an answer.
	DefaultClosingText = "You're welcome! Glad I could help."
	// DefaultWelcomeText answers thanks when there was no answer to close.
	DefaultWelcomeText = "You're welcome! Is there anything I can help you with?"
	// DefaultGoodbyeText answers a goodbye with no answer before it.
	DefaultGoodbyeText = "Goodbye! Write again any time you need help."
	// DefaultConfirmText asks whether an answer helped.
	DefaultConfirmText = "Did that answer your question?"
)

// ConfirmOptions are the quick replies offered with the confirm question.
var ConfirmOptions = []string{"Yes", "No"}

// TriggerSettings are the conversation settings of one trigger.
type TriggerSettings struct {
	// Greeting replaces the engine's GreetingText for this trigger.
	Greeting string
	// Confirm asks "Did that answer your question?" after each answer.
	Confirm bool
	// MarkdownLinks shows an answer's sources as Markdown links
	// ("Source: [title](url)"), for a channel that renders them (the web
	// chat); otherwise they are plain text ("Source: title url").
	MarkdownLinks bool
}

// Engine is the conversation engine: the job handlers that record messages,
// decide, reply, escalate and deliver.
type Engine struct {
	Store     Store
	Decider   bot.Decider
	Deliverer bot.Deliverer
	Escalator bot.Escalator
	// HandoffText is the reply sent when a conversation is escalated.
	HandoffText string
	// RephraseTurns, when above 0, answers an out-of-scope turn by asking
	// the customer to rephrase (RephraseText) instead of escalating, and
	// counts it as a failed turn; the turn after RephraseTurns such turns
	// in a row escalates with bot.ReasonFailedTurns. Other reasons (a
	// request for a person, a sensitive topic, a rejected answer)
	// escalate at once. 0 escalates the first out-of-scope turn.
	RephraseTurns int
	// RephraseText is the reply asking to rephrase (default
	// DefaultRephraseText).
	RephraseText string
	// MaxAttempts for the jobs the engine queues (0: store default).
	MaxAttempts int
	// Mention is added to re-announcements (a Slack user group id, or "here").
	Mention string
	// OnDecision, when set, observes every applied decision (metrics).
	OnDecision func(d bot.Decision)
	// Budget, when set, caps how fast each trigger's hand-offs are
	// announced to agents; the ones over it wait (see EscalationBudget).
	Budget *EscalationBudget
	// Acts recognises conversation acts (greeting, thanks, goodbye, yes,
	// no, a rejected answer), handled before the Decider is asked; nil
	// sends every turn to the Decider.
	Acts *acts.Recognizer
	// GreetingText answers a greeting alone (empty: DefaultGreetingText).
	GreetingText string
	// ClosingText answers thanks or goodbye after an answer, which resolves
	// the conversation as confirmed; empty sends nothing.
	ClosingText string
	// WelcomeText answers thanks with no answer before it (empty:
	// DefaultWelcomeText).
	WelcomeText string
	// GoodbyeText answers a goodbye with no answer before it (empty:
	// DefaultGoodbyeText).
	GoodbyeText string
	// ConfirmText is the question asked after an answer on triggers with
	// Confirm (empty: DefaultConfirmText).
	ConfirmText string
	// TriggerFunc returns a trigger's conversation settings (nil: none).
	TriggerFunc func(trigger string) TriggerSettings
	// ActReplyFunc, when set, returns the operator's own reply to an act
	// (greeting, thanks, goodbye), e.g. from a knowledge-base entry with
	// that id or tag; it wins over the texts above.
	ActReplyFunc func(act acts.Act) (string, bool)
	NewID        func() string
	Logger       *slog.Logger

	// EntryAnswerFunc, when set, returns the answer of a knowledge-base
	// entry by id: a close call of two entries is then asked of the
	// customer ("Did you mean: A, or B?") instead of escalated, and the
	// entry they pick is answered (see choice.go).
	EntryAnswerFunc func(faqID string) (string, bool)
	// ChoiceText introduces the two entries of a close call (empty:
	// DefaultChoiceText).
	ChoiceText string
}

// Handlers returns the engine's handlers by job kind.
func (e *Engine) Handlers() map[string]bot.Handler {
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.NewID == nil {
		e.NewID = NewReplyID
	}
	if e.Escalator == nil {
		e.Escalator = LogEscalator{Logger: e.Logger}
	}
	return map[string]bot.Handler{
		bot.JobProcess:    bot.HandlerFunc(e.process),
		bot.JobDeliver:    bot.HandlerFunc(e.deliver),
		bot.JobEscalate:   bot.HandlerFunc(e.escalate),
		bot.JobMirror:     bot.HandlerFunc(e.mirror),
		bot.JobReannounce: bot.HandlerFunc(e.reannounce),
	}
}

// NewReplyID returns a new reply id: time-ordered, so ids sort by creation.
func NewReplyID() string { return "rpl_" + uuid.Must(uuid.NewV7()).String() }

// reannounce reminds agents of an escalation that is still unclaimed.
func (e *Engine) reannounce(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	p, err := bot.DecodePayload[bot.ReannouncePayload](j)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	ra, ok := e.Escalator.(Reannouncer)
	if !ok {
		return bot.JobOutcome{}, nil
	}
	esc, err := e.Store.Escalation(ctx, p.EscalationID)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	if esc.Status != "open" {
		return bot.JobOutcome{}, nil // claimed meanwhile
	}
	c, err := e.Store.Conversation(ctx, esc.ConversationKey)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	err = ra.Reannounce(ctx, esc, bot.Thread{Channel: c.SlackChannel, TS: c.SlackThreadTS}, e.Mention)
	return bot.JobOutcome{}, err
}

func (e *Engine) process(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	p, err := bot.DecodePayload[bot.ProcessPayload](j)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	if done, err := e.applyOwnership(ctx, j, p.InboxID); done || err != nil {
		return bot.JobOutcome{Completed: done}, err
	}
	in, err := e.Store.RecordInbound(ctx, p.InboxID, time.Duration(p.BurstMS)*time.Millisecond)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	log := e.Logger.With("trigger", in.Event.Trigger, "event_id", in.Event.ID, "conversation", in.Conversation.Key, "job_id", j.ID)
	switch {
	case in.Conversation.State == bot.StateEscalated || in.Conversation.State == bot.StateAgent:
		// People own the conversation: show them the message, never answer it.
		err := e.Store.QueueMirror(ctx, j.ID, in.Conversation.Key, in.MessageID, e.MaxAttempts)
		return bot.JobOutcome{Completed: err == nil}, err
	case in.Deferred:
		log.Debug("message joins a burst answered by a later job")
		return bot.JobOutcome{}, nil
	case len(in.Pending) == 0:
		return bot.JobOutcome{}, nil // answered by an earlier run
	}
	texts := make([]string, len(in.Pending))
	ids := make([]int64, len(in.Pending))
	for i, m := range in.Pending {
		texts[i], ids[i] = m.Text, m.ID
	}
	c := in.Conversation
	text := strings.Join(texts, "\n")
	act, question := e.readAct(c, text)
	q := bot.Query{
		ConversationKey: c.Key,
		Text:            question,
		Subject:         in.Event.Conversation.Subject,
		Priority:        in.Event.Conversation.Priority,
		Tags:            in.Event.Conversation.Tags,
		History:         choiceHistory(c, e.questionHistory(in.History)),
		FailedTurns:     c.FailedTurns,
	}
	o := bot.Outcome{JobID: j.ID, ConversationKey: c.Key, MessageIDs: ids, MaxAttempts: e.MaxAttempts}
	reply := bot.Reply{
		ID: e.NewID(), Trigger: c.Trigger, ConversationKey: c.Key, ConversationID: c.ExternalID,
		Author: bot.AuthorBot, CreatedAt: time.Now().UTC(),
	}
	var d bot.Decision
	pick, picked := pickChoice(c, text)
	if picked {
		d, picked = e.choiceAnswer(&o, &reply, c, pick)
	}
	switch {
	case picked: // the customer chose an entry of the close call the bot asked about
	case act != acts.None:
		d = e.actOutcome(&o, &reply, c, act)
	default:
		d, err = e.Decider.Decide(ctx, q)
		if err != nil {
			return bot.JobOutcome{}, fmt.Errorf("decide: %w", err)
		}
		if d.Action == bot.ActionAnswer && strings.TrimSpace(d.Answer) == "" {
			d = bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope, Detail: "empty answer", Candidates: d.Candidates, Source: "policy"}
		}
		if d.Action == bot.ActionAnswer {
			ts := e.settings(c.Trigger)
			reply.Kind, reply.Text, reply.State = bot.ReplyAnswer, d.AnswerText(ts.MarkdownLinks), bot.StateBot
			o.Answered = true
			if ts.Confirm {
				reply.Text += "\n\n" + e.confirmText()
				reply.Options = slices.Clone(ConfirmOptions)
				o.Confirm = true
			}
		} else {
			d = e.closeCall(&o, &reply, c, d)
		}
		d = e.rephrase(&o, &reply, c, d)
	}
	o.Decision = d
	if d.Action == bot.ActionEscalate {
		reply.Kind, reply.Text, reply.State = bot.ReplyHandoff, cmp.Or(e.HandoffText, DefaultHandoffText), bot.StateEscalated
		recent := append(append([]bot.Turn{}, in.History...), bot.Turn{Author: bot.AuthorCustomer, Text: text})
		if len(recent) > 6 {
			recent = recent[len(recent)-6:]
		}
		o.Escalation = &bot.Escalation{
			ConversationKey: c.Key, Trigger: c.Trigger, ConversationID: c.ExternalID,
			Subject: c.Subject, URL: c.URL, Customer: c.Customer,
			Reason: d.Reason, Detail: d.Detail, Summary: cmp.Or(d.Summary, bot.Clip(text, 500)),
			Candidates: d.Candidates, Draft: d.Draft, Recent: recent, CreatedAt: time.Now().UTC(),
		}
		if d.Reason == bot.ReasonAnswerRejected {
			o.Escalation.Rejected = e.lastAnswer(in.History)
		}
	}
	if reply.Text != "" {
		o.Replies = []bot.Reply{reply}
	}
	err = e.Store.ApplyDecision(ctx, o)
	if errors.Is(err, bot.ErrConflict) {
		log.Info("decision dropped: conversation changed meanwhile", "err", err)
		return bot.JobOutcome{}, nil
	} else if err != nil {
		return bot.JobOutcome{}, err
	}
	log.Info("decided", "action", d.Action, "reason", d.Reason, "confidence", d.Confidence, "source", d.Source)
	if e.OnDecision != nil {
		e.OnDecision(d)
	}
	return bot.JobOutcome{Completed: true}, nil
}

func (e *Engine) deliver(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	p, err := bot.DecodePayload[bot.DeliverPayload](j)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	r, send, err := e.Store.PrepareReply(ctx, p.ReplyID)
	if err != nil || !send {
		return bot.JobOutcome{}, err
	}
	if err := e.Deliverer.Deliver(ctx, r); err != nil {
		return bot.JobOutcome{}, fmt.Errorf("deliver reply %s: %w", r.ID, err)
	}
	err = e.Store.MarkReplySent(ctx, j.ID, r.ID)
	return bot.JobOutcome{Completed: err == nil}, err
}

func (e *Engine) escalate(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	p, err := bot.DecodePayload[bot.EscalatePayload](j)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	esc, err := e.Store.Escalation(ctx, p.EscalationID)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	if j.Attempt > 1 {
		// An earlier attempt may have posted and then failed to record it
		// (a store error, a crash): find that post rather than page twice.
		if f, ok := e.Escalator.(HandoffFinder); ok {
			t, found, err := f.FindHandoff(ctx, esc.Escalation)
			if err != nil {
				return bot.JobOutcome{}, fmt.Errorf("find earlier hand-off: %w", err)
			}
			if found {
				e.Logger.Info("hand-off found from an earlier attempt", "conversation", esc.ConversationKey, "ts", t.TS)
				err = e.Store.MarkAnnounced(ctx, j.ID, p.EscalationID, t)
				return bot.JobOutcome{Completed: err == nil}, err
			}
		}
	}
	until, release, err := e.budgetHold(ctx, esc.Escalation)
	if err != nil {
		return bot.JobOutcome{}, err
	} else if !until.IsZero() {
		return bot.JobOutcome{Snooze: until}, nil
	}
	defer release()
	t, err := e.Escalator.Escalate(ctx, esc.Escalation)
	if err != nil {
		return bot.JobOutcome{}, fmt.Errorf("escalate: %w", err)
	}
	err = e.Store.MarkAnnounced(ctx, j.ID, p.EscalationID, t)
	return bot.JobOutcome{Completed: err == nil}, err
}

func (e *Engine) mirror(ctx context.Context, j *bot.Job) (bot.JobOutcome, error) {
	p, err := bot.DecodePayload[bot.MirrorPayload](j)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	m, err := e.Store.Message(ctx, p.MessageID)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	c, err := e.Store.Conversation(ctx, m.ConversationKey)
	if err != nil {
		return bot.JobOutcome{}, err
	}
	err = e.Escalator.Mirror(ctx, bot.Thread{Channel: c.SlackChannel, TS: c.SlackThreadTS}, bot.Turn{Author: m.Author, Text: m.Text})
	return bot.JobOutcome{}, err
}

// HandoffFinder is an Escalator that can find the hand-off post an earlier
// attempt made, so that a retried escalate job does not post it twice.
type HandoffFinder interface {
	FindHandoff(ctx context.Context, e bot.Escalation) (t bot.Thread, ok bool, err error)
}

// LogEscalator is the Escalator used when Slack is off: escalations are only
// stored (and listed by `supportbot escalations`), and logged here.
type LogEscalator struct{ Logger *slog.Logger }

var _ bot.Escalator = LogEscalator{}

// Escalate logs the escalation and returns an empty thread.
func (l LogEscalator) Escalate(_ context.Context, e bot.Escalation) (bot.Thread, error) {
	l.Logger.Info("escalation stored (slack off)", "conversation", e.ConversationKey, "reason", e.Reason)
	return bot.Thread{}, nil
}

// Mirror does nothing: with Slack off the transcript is the record.
func (l LogEscalator) Mirror(context.Context, bot.Thread, bot.Turn) error { return nil }

// rephrase turns an out-of-scope escalation into a request to rephrase
// while the conversation has failed fewer than RephraseTurns turns in a
// row, and into a failed_turns escalation once it has failed that many.
func (e *Engine) rephrase(o *bot.Outcome, reply *bot.Reply, c bot.Conversation, d bot.Decision) bot.Decision {
	if e.RephraseTurns <= 0 || d.Action != bot.ActionEscalate || d.Reason != bot.ReasonOutOfScope {
		return d
	}
	if c.FailedTurns >= e.RephraseTurns {
		d.Reason = bot.ReasonFailedTurns
		d.Detail = fmt.Sprintf("the bot failed %d turns in a row (last: %s)", c.FailedTurns+1, d.Detail)
		return d
	}
	o.Failed = true
	reply.Kind, reply.Text, reply.State = bot.ReplyNotice, cmp.Or(e.RephraseText, DefaultRephraseText), bot.StateBot
	return bot.Decision{Action: bot.ActionAnswer, Reason: bot.ReasonOutOfScope, Source: d.Source, Candidates: d.Candidates,
		Detail: fmt.Sprintf("asked to rephrase (failed turn %d of %d): %s", c.FailedTurns+1, e.RephraseTurns+1, d.Detail)}
}
