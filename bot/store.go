package bot

import (
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
