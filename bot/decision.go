package bot

import "context"

// Action is what the bot does with a customer's turn.
type Action string

// Actions of a Decision.
const (
	ActionAnswer   Action = "answer"
	ActionEscalate Action = "escalate"
)

// Reason codes for an escalation; each is stored and counted.
const (
	ReasonHumanRequested   = "human_requested"
	ReasonOutOfScope       = "out_of_scope"
	ReasonLLMEscalated     = "llm_escalated"
	ReasonLLMLowConfidence = "llm_low_confidence"
	ReasonSensitiveTopic   = "sensitive_topic"
	ReasonPriority         = "priority"
	ReasonRepeatedQuestion = "repeated_question"
	ReasonFailedTurns      = "failed_turns"
	ReasonLLMUnavailable   = "llm_unavailable"
	ReasonNotReady         = "matcher_not_ready"
	// ReasonAnswerRejected: the customer said the bot's last answer did not help.
	ReasonAnswerRejected = "answer_rejected"
	ReasonLLMUngrounded  = "llm_ungrounded"
	ReasonAmbiguous      = "ambiguous"
)

// ReasonText describes a reason code in words, for agents and dashboards.
func ReasonText(code string) string {
	switch code {
	case ReasonHumanRequested:
		return "The customer asked for a person."
	case ReasonOutOfScope:
		return "No FAQ entry or help-center article matches the question confidently."
	case ReasonLLMEscalated:
		return "The language model found no answer in the FAQ."
	case ReasonLLMLowConfidence:
		return "The language model's answer was not confident enough to send."
	case ReasonSensitiveTopic:
		return "The message touches a topic configured for people only."
	case ReasonPriority:
		return "The ticket's priority is configured for people only."
	case ReasonRepeatedQuestion:
		return "The customer repeated a question the bot already answered."
	case ReasonFailedTurns:
		return "The bot failed to help several times in a row."
	case ReasonLLMUnavailable:
		return "The language model is unavailable and the local matcher is unsure."
	case ReasonNotReady:
		return "The FAQ index is still being built."
	case ReasonAnswerRejected:
		return "The customer said the bot's answer did not help."
	case ReasonAmbiguous:
		return "Two FAQ entries match the question about equally well."
	case ReasonLLMUngrounded:
		return "The language model's answer said things the FAQ entries it cited do not, so it was not sent."
	}
	return code
}

// Turn is one past line of the conversation, given to the Decider as context.
type Turn struct {
	Author string `json:"author"` // customer | bot | agent
	Text   string `json:"text"`
}

// Query is one customer turn to decide on.
type Query struct {
	ConversationKey string
	Text            string // the turn: one message, or a burst joined by newlines
	Subject         string
	Priority        string
	Tags            []string
	// History holds earlier turns, oldest first, not including Text.
	History []Turn
	// FailedTurns counts the bot's consecutive unanswered turns before this one.
	FailedTurns int
}

// Candidate is an FAQ entry or an article passage the decision
// considered, with its score.
type Candidate struct {
	ID       string  `json:"id"`
	Question string  `json:"question"` // for a passage, the article's title
	Score    float64 `json:"score"`
	// Kind is CandidateArticle for an article passage, empty for an FAQ entry.
	Kind string `json:"kind,omitempty"`
	// Heading is a passage's heading path and URL its article's link.
	Heading string `json:"heading,omitempty"`
	URL     string `json:"url,omitempty"`
}

// CandidateArticle is the Kind of a Candidate that is an article passage.
const CandidateArticle = "article"

// Decision is the answer-or-escalate outcome for one turn.
type Decision struct {
	Action     Action      `json:"action"`
	Answer     string      `json:"answer,omitempty"`
	FAQIDs     []string    `json:"faq_ids,omitempty"`
	Confidence float64     `json:"confidence"`
	Reason     string      `json:"reason,omitempty"` // a Reason* code when escalating
	Detail     string      `json:"detail,omitempty"` // free text from the matcher or the LLM
	Candidates []Candidate `json:"candidates,omitempty"`
	// Draft is an answer the bot would have sent had it been confident enough;
	// agents may send it with one click.
	Draft string `json:"draft,omitempty"`
	// Summary is a short summary for agents, when an LLM wrote one.
	Summary string `json:"summary,omitempty"`
	// Sources are the articles an answer came from; Answer ends with their
	// source lines in plain text (see AnswerText).
	Sources []Source `json:"sources,omitempty"`
	// Options are the entries of a close call (reason ambiguous), best
	// first: a channel may ask the customer which one they mean.
	Options []Candidate `json:"options,omitempty"`
	// Source says what decided: "matcher", "llm", "policy", or "act" when
	// the engine answered a conversation act (a greeting, thanks, a rejection)
	// itself.
	Source string `json:"source,omitempty"`
}

// Decider makes the answer-or-escalate decision for one customer turn.
// Implementations never return an unchecked answer: on any internal failure
// they return an escalation with a reason, so the error result is reserved
// for a cancelled ctx.
type Decider interface {
	Decide(ctx context.Context, q Query) (Decision, error)
}

// DeciderFunc adapts a function to Decider.
type DeciderFunc func(ctx context.Context, q Query) (Decision, error)

// Decide calls f.
func (f DeciderFunc) Decide(ctx context.Context, q Query) (Decision, error) { return f(ctx, q) }
