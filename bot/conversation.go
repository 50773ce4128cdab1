package bot

import "time"

// State is who owns a conversation.
type State string

// Conversation states. The bot replies only in StateBot.
const (
	StateBot       State = "bot"
	StateEscalated State = "escalated"
	StateAgent     State = "agent"
	StateResolved  State = "resolved"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateBot, StateEscalated, StateAgent, StateResolved:
		return true
	}
	return false
}

// CanTransition reports whether a conversation may move from s to to.
//
//	bot → escalated → agent → resolved; agent → bot (hand back);
//	resolved → bot (customer writes again); any open state → resolved.
func (s State) CanTransition(to State) bool {
	switch {
	case s == to:
		return false
	case to == StateResolved:
		return s != StateResolved
	case s == StateBot:
		return to == StateEscalated
	case s == StateEscalated:
		return to == StateAgent || to == StateBot
	case s == StateAgent:
		return to == StateBot || to == StateEscalated
	case s == StateResolved:
		return to == StateBot || to == StateEscalated
	}
	return false
}

// CanHelpdeskTransition reports whether a helpdesk's ownership signal may
// move a conversation from s to to. It allows what CanTransition allows and
// also bot → agent and resolved → agent: a person may take a conversation
// in the helpdesk that the bot never escalated, or reopen a solved one
// there. Slack, the dashboard and the admin API still claim only escalated
// conversations.
func (s State) CanHelpdeskTransition(to State) bool {
	if to == StateAgent && (s == StateBot || s == StateResolved) {
		return true
	}
	return s.CanTransition(to)
}

// Actors of a transition.
const (
	ActorBot      = "bot"
	ActorCustomer = "customer"
	ActorSystem   = "system"
)

// Conversation is one thread with one customer at one source.
type Conversation struct {
	Key        string   `json:"key"` // Trigger + "/" + ExternalID
	Trigger    string   `json:"trigger"`
	ExternalID string   `json:"external_id"`
	Subject    string   `json:"subject"`
	URL        string   `json:"url"`
	Customer   Customer `json:"customer"`
	State      State    `json:"state"`
	// FailedTurns counts consecutive turns the bot could not answer.
	FailedTurns int `json:"failed_turns"`
	// Answered is set while the bot's last word in the conversation is an
	// answer: a "thanks" or "that didn't help" that follows refers to it.
	Answered bool `json:"answered"`
	// ConfirmPending is set while the bot waits for the customer's yes or no
	// to "Did that answer your question?".
	ConfirmPending bool `json:"confirm_pending"`
	// Choice holds the two FAQ entries of a close call while the bot waits
	// for the customer to say which one they mean; nil otherwise.
	Choice []Candidate `json:"choice,omitempty"`
	// SlackChannel and SlackThreadTS locate the escalation thread, if any.
	SlackChannel  string    `json:"slack_channel"`
	SlackThreadTS string    `json:"slack_thread_ts"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Transition is one stored change of state.
type Transition struct {
	ConversationKey string    `json:"conversation_key"`
	From            State     `json:"from"`
	To              State     `json:"to"`
	Actor           string    `json:"actor"` // "bot", "customer", "system", or an agent's name
	Reason          string    `json:"reason"`
	At              time.Time `json:"at"`
}

// Message authors.
const (
	AuthorCustomer = "customer"
	AuthorBot      = "bot"
	AuthorAgent    = "agent"
)

// Message is one line of a conversation's transcript.
type Message struct {
	ID              int64  `json:"id"`
	ConversationKey string `json:"conversation_key"`
	ExternalID      string `json:"external_id"`
	Author          string `json:"author"` // customer | bot | agent
	AgentName       string `json:"agent_name"`
	Text            string `json:"text"`
	// Turn groups the customer messages answered by one reply (a burst).
	Turn int64     `json:"turn"`
	At   time.Time `json:"at"`
}

// Inbound is what the store knows after recording one customer message.
type Inbound struct {
	Event        Event
	Conversation Conversation
	MessageID    int64
	// Deferred is set when a later message of the same burst is queued: that
	// message's job answers the whole turn.
	Deferred bool
	// Pending holds the customer messages not yet answered (this one
	// included), oldest first: the turn to decide on.
	Pending []Message
	// History holds earlier answered lines, oldest first (bounded).
	History []Turn
	// Reopened is set when the message reopened a resolved conversation.
	Reopened bool
}

// Outcome is the result of deciding one turn, applied atomically.
type Outcome struct {
	JobID           int64
	ConversationKey string
	// MessageIDs are the customer messages the turn answers.
	MessageIDs []int64
	Decision   Decision
	// Replies to queue, in order (the answer, or the hand-off notice).
	Replies []Reply
	// Escalation, when the decision hands the conversation to people.
	Escalation *Escalation
	// MaxAttempts for the queued jobs (0: default).
	MaxAttempts int
	// Act is the conversation act the engine replied to itself (a greeting,
	// thanks with nothing to close): such a turn leaves the failed-turn count,
	// Answered and ConfirmPending as they were. Empty for a question.
	Act string
	// Answered: the reply answers a question (sets Conversation.Answered).
	Answered bool
	// Confirm: the reply asks whether it answered the question (sets
	// Conversation.ConfirmPending).
	Confirm bool
	// Failed: the bot replied without answering (it asked the customer to
	// rephrase): the turn counts as failed, like an escalation.
	Failed bool
	// Resolve, when set, resolves the conversation after queueing the
	// replies, as the customer, with this reason (ResolutionConfirmed).
	Resolve string
	// Choice: the reply asks which of these entries the customer means
	// (sets Conversation.Choice; nil clears it, except on a greeting or a
	// courtesy, which leave it as it was).
	Choice []Candidate
}

// ResolutionConfirmed is the reason of a resolution the customer confirmed:
// thanks or goodbye after an answer, or yes to "Did that answer your
// question?". Outcome metrics count these as confirmed.
const ResolutionConfirmed = "confirmed"

// ConversationFilter selects conversations.
type ConversationFilter struct {
	State   State
	Trigger string
	Query   string // matches subject, customer or external id
	Limit   int
}

// Rating is a customer's satisfaction with a resolved conversation: a score
// from 1 to 5 and an optional comment. CSAT is the share of 4s and 5s.
type Rating struct {
	ConversationKey string    `json:"conversation_key"`
	Score           int       `json:"score"`
	Comment         string    `json:"comment,omitempty"`
	At              time.Time `json:"at"`
}

// MaxRatingComment caps a rating's comment, in bytes.
const MaxRatingComment = 2000

// Validate checks the score and the comment's length.
func (r Rating) Validate() error {
	if r.Score < 1 || r.Score > 5 {
		return Invalid("score", "must be from 1 to 5")
	}
	if len(r.Comment) > MaxRatingComment {
		return Invalid("comment", "longer than %d bytes", MaxRatingComment)
	}
	return nil
}

// OwnerApplied is what applying an event's helpdesk ownership signal did.
type OwnerApplied struct {
	// Event is the inbox event; Event.Owner is nil when it carried no signal.
	Event Event
	// From and To are the states before and after; equal when nothing changed.
	From, To State
	// Skipped says why a signal changed nothing: "echo", "unchanged",
	// "not allowed", "unknown conversation".
	Skipped string
	// Done is set when the event carried only the signal: its process job
	// was completed with the transition, and there is no message to record.
	Done bool
}
