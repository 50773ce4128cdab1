package bot

import (
	"context"
	"time"
)

// Job kinds.
const (
	// JobProcess records an inbound event in its conversation and, when the
	// conversation is bot-owned, decides and queues the reply.
	JobProcess = "process"
	// JobDeliver sends one Reply through the conversation's reply channel.
	JobDeliver = "deliver"
	// JobEscalate announces an escalation to human agents (Slack).
	JobEscalate = "escalate"
	// JobMirror posts a customer message into an open escalation thread.
	JobMirror = "mirror"
	// JobReannounce reminds agents of an escalation nobody has claimed.
	JobReannounce = "reannounce"
)

// JobState is where a job is in its life.
type JobState string

// Job states. A job ends completed or discarded; discarded jobs keep their
// last error and can be replayed.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobCompleted JobState = "completed"
	JobDiscarded JobState = "discarded"
)

// Job is one unit of durable work.
type Job struct {
	ID   int64
	Kind string
	// QueueKey orders jobs: jobs with the same key run one at a time in id
	// order (a conversation's inbound lane, its outbound lane, ...).
	QueueKey    string
	Payload     []byte
	State       JobState
	Attempt     int // attempts made, including the running one
	MaxAttempts int
	RunAt       time.Time
	LockedUntil time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// JobOutcome is what a handler's run did to a job.
type JobOutcome struct {
	// Snooze, when set, puts the job back in the queue to run at this time
	// without counting the attempt (used to wait out a burst window).
	Snooze time.Time
	// Completed reports that the handler completed the job itself, in the
	// same transaction as its last write.
	Completed bool
}

// Handler runs jobs of one kind. A nil error completes the job; see
// Permanent and RetryAfter for the other outcomes.
type Handler interface {
	Handle(ctx context.Context, job *Job) (JobOutcome, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *Job) (JobOutcome, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job *Job) (JobOutcome, error) { return f(ctx, job) }

// JobFilter selects jobs.
type JobFilter struct {
	State JobState
	Kind  string
	Limit int
}

// QueueStats is a snapshot of the queue.
type QueueStats struct {
	Queued, Running, Discarded int64
	// OldestDue is how long the oldest due job has waited.
	OldestDue time.Duration
}
