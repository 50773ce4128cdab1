package bot

import (
	"context"
	"encoding/json"
	"time"
)

// Receipt is the intake's answer for a stored event.
type Receipt struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// AuditEntry records one request to the intake, accepted or not. It never
// holds a secret or a payload.
type AuditEntry struct {
	ID       int64         `json:"id"`
	At       time.Time     `json:"at"`
	Trigger  string        `json:"trigger"`
	Remote   string        `json:"remote"`
	Method   string        `json:"method"`
	Status   int           `json:"status"`
	EventID  string        `json:"event_id,omitempty"`
	Error    string        `json:"error,omitempty"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration_us"`
}

// MarshalJSON writes Duration in microseconds, as its key says.
func (a AuditEntry) MarshalJSON() ([]byte, error) {
	type plain AuditEntry
	return json.Marshal(struct {
		plain
		Duration int64 `json:"duration_us"`
	}{plain(a), a.Duration.Microseconds()})
}

// Escalation statuses: open until an agent claims it, then claimed; closed
// as resolved, or returned when handed back to the bot.
var EscalationStatuses = []string{"open", "claimed", "resolved", "returned"}

// RejectionCount is how many requests from one source were refused with
// one status in one minute before they proved anything (unknown trigger,
// bad credential, a limit); the audit log keeps only a sample of their rows.
type RejectionCount struct {
	Minute  time.Time `json:"minute"`
	Remote  string    `json:"remote"`
	Trigger string    `json:"trigger"` // "" for an unknown trigger
	Status  int       `json:"status"`
	Count   int64     `json:"count"`
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Trigger  string
	Rejected bool
	Limit    int
}

// IngestOptions are the per-trigger settings of an accepted event.
type IngestOptions struct {
	// Burst delays a message.created event's processing so that the
	// messages of one burst are answered as one turn.
	Burst time.Duration
	// MaxAttempts of the event's process job (0: default).
	MaxAttempts int
	// Audit, when set, is written with the event in the same transaction.
	Audit *AuditEntry
}

// FollowUpOptions says which unclaimed escalations need a follow-up now.
type FollowUpOptions struct {
	// ReannounceBefore: open escalations announced and created before this
	// are re-announced to agents once (zero: off).
	ReannounceBefore time.Time
	// NoticeBefore: open escalations created before this get the notice
	// reply once (zero: off). NoticeNow sends it for every open escalation
	// (outside business hours).
	NoticeBefore time.Time
	NoticeNow    bool
	// Notice is the reply sent to the customer; NewID names it.
	Notice      string
	NewID       func() string
	MaxAttempts int
}

// OutcomeStats counts how conversations started since a time have ended.
// Rates are ratios of these counts (README "Outcome rates").
type OutcomeStats struct {
	// Conversations started in the period.
	Conversations int64
	// ResolvedByBot: resolved without ever being escalated, and not
	// reopened within the resolution window (a durable resolution).
	ResolvedByBot int64
	// Confirmed: resolved by the customer's own word (thanks, goodbye, or yes
	// to the confirm question) and not reopened since.
	Confirmed int64
	// Ratings counts the satisfaction ratings of the period's conversations
	// by score (index 0 for a score of 1).
	Ratings [5]int64
	// HandedOff: escalated to people at least once.
	HandedOff int64
	// Abandoned: escalations nobody claimed within the resolution window.
	Abandoned int64
	// Claimed escalations created in the period, and the time from
	// escalation to claim: median, 90th percentile and longest.
	Claimed                      int64
	ClaimP50, ClaimP90, ClaimMax time.Duration
}

// PurgeCounts is what one retention pass deleted. Events counts the inbox
// events deleted on their own; those of a purged conversation go with it.
type PurgeCounts struct {
	Conversations int64 `json:"conversations"`
	Events        int64 `json:"events"`
	Jobs          int64 `json:"jobs"`
	Audit         int64 `json:"audit"`
}

// StateChange is one change of a conversation's state by a person or the
// system: the one operation behind the admin API, the dashboard's buttons
// and Slack's. The rules live in the store's ChangeState, by To:
//
//   - StateAgent claims an escalated conversation for Actor (the agent's
//     name): its escalation becomes claimed, with the time of the claim.
//     The first claim wins: a claim on a conversation another agent holds
//     returns a *ClaimError; the holder claiming again is a no-op.
//   - StateResolved resolves the conversation and closes its open or
//     claimed escalation as resolved; StateBot hands it back to the bot,
//     the escalation returned and the count of failed turns reset. Either
//     is a no-op when the conversation is already there.
//   - Any other move CanTransition allows (to StateEscalated) changes only
//     the state.
//
// A move CanTransition does not allow, or a conversation not in From when
// From is set, returns an error wrapping ErrConflict; an unknown key one
// wrapping ErrNotFound; an invalid To or a claim without Actor a
// *ValidationError.
type StateChange struct {
	Key string
	// From, when set, is the state the conversation must be in.
	From State
	To   State
	// Actor is who changes it (an agent's name, an operator, ActorSystem);
	// Reason is recorded with the transition.
	Actor, Reason string
	// Closing, when set, is queued as the agent's reply in the same
	// transaction (a resolve's closing words); not on a no-op.
	Closing *Reply
}

// ClaimError says who holds a conversation another agent tried to claim. It
// wraps ErrConflict.
type ClaimError struct{ ClaimedBy string }

func (e *ClaimError) Error() string { return "already claimed by " + e.ClaimedBy }

// Unwrap returns ErrConflict.
func (e *ClaimError) Unwrap() error { return ErrConflict }

// Holder returns the agent who holds the conversation.
func (e *ClaimError) Holder() string { return e.ClaimedBy }

// ActivityBucket counts what happened in one interval of the operator
// dashboard's charts.
type ActivityBucket struct {
	// Start of the interval, UTC.
	Start time.Time
	// Accepted counts new events stored by the intake (202); Rejected counts
	// refused requests (4xx and 5xx). Duplicates and ignored events are
	// neither.
	Accepted, Rejected int64
	// Answered and Escalated count the bot's decisions on customer turns.
	Answered, Escalated int64
}

// MaxActivityBuckets caps the buckets one Activity call returns.
const MaxActivityBuckets = 1000

// DashboardCounts is a snapshot of the numbers on the dashboard's overview.
type DashboardCounts struct {
	// Conversations by state.
	Bot, Escalated, Agent, Resolved int64
	// OpenEscalations wait for an agent; ClaimedEscalations have one.
	OpenEscalations, ClaimedEscalations int64
	// DeadLetters are discarded jobs waiting to be replayed; Queued are
	// jobs waiting to run.
	DeadLetters, Queued int64
}

// Store is everything the service keeps: the one contract every storage
// implementation meets (bot/sqlite today), checked by the contract suite in
// bot/storetest. Consumers still declare the small part they use; each of
// those interfaces is a subset of Store. The methods' documented behaviour,
// errors included, is the implementation's (see bot/sqlite); the parts below
// group it. Lists return at most their limit: 100 when it is not positive,
// 1000 at most.
type Store interface {
	IntakeStore
	JobStore
	ConversationStore
	HandoffStore
	SuggestionStore
	RetentionStore
	AdminStore

	// Ping checks that the store is writable.
	Ping(ctx context.Context) error
	// Close stops the store after what was queued is committed. Every
	// call after it returns an error at once (writes bot.ErrClosed); a
	// second Close is a no-op.
	Close() error
}

// IntakeStore stores what arrives: events (deduplicated by trigger and
// event id), Slack deliveries, and the audit of every request.
type IntakeStore interface {
	Ingest(ctx context.Context, ev Event, opt IngestOptions) (Receipt, error)
	IngestSlack(ctx context.Context, id, kind, queueKey string, payload []byte) (duplicate bool, err error)
	Event(ctx context.Context, id int64) (Event, error)
	Audit(ctx context.Context, a AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	CountRejections(ctx context.Context, counts []RejectionCount) error
	ListRejections(ctx context.Context, since time.Time, n int) ([]RejectionCount, error)
}

// JobStore is the durable job queue: leases, retries, dead letters and
// replay, one job at a time per queue key. CompleteJob, RetryJob, DiscardJob and
// ReleaseJob act on a running job only: on any other (rescued meanwhile,
// unknown) they change nothing and return nil.
type JobStore interface {
	ClaimJobs(ctx context.Context, n int, lease time.Duration) ([]*Job, error)
	CompleteJob(ctx context.Context, id int64) error
	RetryJob(ctx context.Context, id int64, runAt time.Time, lastErr string) error
	DiscardJob(ctx context.Context, id int64, lastErr string) error
	ReleaseJob(ctx context.Context, id int64, runAt time.Time) error
	RescueJobs(ctx context.Context, all bool) (int64, error)
	NextRunAt(ctx context.Context) (time.Time, error)
	Notify() <-chan struct{}
	Job(ctx context.Context, id int64) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]*Job, error)
	ReplayJob(ctx context.Context, id int64) error
	ReplayAll(ctx context.Context) (int64, error)
	QueueStats(ctx context.Context) (QueueStats, error)
}

// ConversationStore is the engine's side: a conversation's turns, its state
// machine, the decisions and the replies they queue.
type ConversationStore interface {
	RecordInbound(ctx context.Context, inboxID int64, burst time.Duration) (*Inbound, error)
	ApplyDecision(ctx context.Context, o Outcome) error
	ApplyOwnership(ctx context.Context, jobID, inboxID int64) (OwnerApplied, error)
	QueueMirror(ctx context.Context, jobID int64, key string, messageID int64, maxAttempts int) error
	PrepareReply(ctx context.Context, id string) (Reply, bool, error)
	MarkReplySent(ctx context.Context, jobID int64, id string) error
	Conversation(ctx context.Context, key string) (*Conversation, error)
	ListConversations(ctx context.Context, f ConversationFilter) ([]*Conversation, error)
	Message(ctx context.Context, id int64) (Message, error)
	Messages(ctx context.Context, key string) ([]Message, error)
	Transitions(ctx context.Context, key string) ([]Transition, error)
	Replies(ctx context.Context, key string) ([]StoredReply, error)
	SentReplies(ctx context.Context, key, afterID string, n int) ([]StoredReply, error)
	RateConversation(ctx context.Context, r Rating) error
	Rating(ctx context.Context, key string) (Rating, error)
	RatingsSince(ctx context.Context, since time.Time) ([5]int64, error)
	OutcomeStats(ctx context.Context, since time.Time, window time.Duration) (OutcomeStats, error)
	ResolveIdle(ctx context.Context, before time.Time) (int, error)
}

// HandoffStore is the people's side: escalations, their announcement and
// follow-ups, claims, agent replies and closing.
type HandoffStore interface {
	Escalation(ctx context.Context, id int64) (StoredEscalation, error)
	LatestEscalation(ctx context.Context, key string) (StoredEscalation, error)
	ListEscalations(ctx context.Context, status string, n int) ([]StoredEscalation, error)
	MarkAnnounced(ctx context.Context, jobID, escalationID int64, t Thread) error
	Announcements(ctx context.Context, trigger string, since time.Time) ([]time.Time, int, error)
	QueueFollowUps(ctx context.Context, o FollowUpOptions) (reannounced, noticed int, err error)
	ConversationByThread(ctx context.Context, channel, ts string) (*Conversation, error)
	ChangeState(ctx context.Context, sc StateChange) (*Conversation, error)
	QueueAgentReply(ctx context.Context, dedupeKey string, r Reply) (bool, error)
	AgentReply(ctx context.Context, a AgentReply) (AgentReplyResult, error)
}

// SuggestionStore keeps the knowledge base's suggestions: FAQ entries from
// agents' replies and example phrasings, pending until decided.
type SuggestionStore interface {
	SuggestionSource(ctx context.Context, replyID string) (FAQSuggestion, error)
	SuggestFAQ(ctx context.Context, sg FAQSuggestion) (id int64, created bool, err error)
	Suggestion(ctx context.Context, id int64) (FAQSuggestion, error)
	ListSuggestions(ctx context.Context, status string, n int) ([]FAQSuggestion, error)
	DecideSuggestion(ctx context.Context, id int64, approve bool, by, entryID string) error
	SuggestExamples(ctx context.Context, list []FAQSuggestion) (ids []int64, created []bool, err error)
	PendingExamples(ctx context.Context, entryID string) ([]FAQSuggestion, error)
	AugmentDone(ctx context.Context, hash string) (bool, error)
	SaveAugment(ctx context.Context, rec AugmentRecord, list []FAQSuggestion) (int, error)
	LearnExample(ctx context.Context, replyID, entryID, by string) (sg FAQSuggestion, ok bool, err error)
}

// RetentionStore deletes what is past its retention.
type RetentionStore interface {
	PurgeCandidates(ctx context.Context, cutoff time.Time, n int) ([]string, error)
	PurgeConversations(ctx context.Context, keys []string, cutoff time.Time) ([]string, error)
	PurgeHistory(ctx context.Context, cutoff time.Time, n int) (PurgeCounts, error)
	PurgeAudit(ctx context.Context, cutoff time.Time, n int) (int64, error)
}

// AdminStore holds the operator's settings and views: run-time triggers,
// revoked web chat sessions, the dashboard's figures.
type AdminStore interface {
	CreateRuntimeTrigger(ctx context.Context, t RuntimeTrigger) error
	RuntimeTriggers(ctx context.Context) ([]RuntimeTrigger, error)
	RotateRuntimeTrigger(ctx context.Context, name, secret string, until time.Time) error
	DeleteRuntimeTrigger(ctx context.Context, name string) error
	RevokeVisitor(ctx context.Context, key string, at time.Time) error
	VisitorRevoked(ctx context.Context, key string) (bool, error)
	Activity(ctx context.Context, since time.Time, step time.Duration, n int) ([]ActivityBucket, error)
	DashboardCounts(ctx context.Context) (DashboardCounts, error)
}
