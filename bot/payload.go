package bot

import (
	"encoding/json"
	"fmt"
)

// Job kinds of the Slack intake (bot/slack registers their handlers).
const (
	// JobSlackEvent carries an Events API delivery (an agent's thread
	// reply) and JobSlackAction a block_actions interaction (a button
	// click). Their payload is the verified delivery as Slack sent it: its
	// format is Slack's, and bot/slack decodes it.
	JobSlackEvent  = "slack_event"
	JobSlackAction = "slack_action"
	// JobSlackRelayNotice posts "Relayed to the customer" with the Save as
	// FAQ button under a relayed agent reply; queued once per reply.
	JobSlackRelayNotice = "slack_relay_notice"
)

// JobPayload is the payload of one job kind. The store encodes it when it
// queues the job (EncodePayload) and the kind's handler decodes the same
// type (DecodePayload), so the two sides cannot drift apart.
type JobPayload interface {
	// JobKind is the kind of job that carries the payload.
	JobKind() string
}

// ProcessPayload is the payload of a JobProcess job: the inbox event to
// record, and the burst window it was accepted with.
// The store's queries read inbox_id inside stored payloads (the burst
// check, retention), so its key is part of the stored form.
type ProcessPayload struct {
	InboxID int64 `json:"inbox_id"`
	BurstMS int64 `json:"burst_ms,omitempty"`
}

// DeliverPayload is the payload of a JobDeliver job: the stored reply to send.
type DeliverPayload struct {
	ReplyID string `json:"reply_id"`
}

// EscalatePayload is the payload of a JobEscalate job: the escalation to
// announce.
type EscalatePayload struct {
	EscalationID int64 `json:"escalation_id"`
}

// ReannouncePayload is the payload of a JobReannounce job: the unclaimed
// escalation to remind agents of.
type ReannouncePayload struct {
	EscalationID int64 `json:"escalation_id"`
}

// MirrorPayload is the payload of a JobMirror job: the stored message to
// post into the conversation's escalation thread.
type MirrorPayload struct {
	MessageID int64 `json:"message_id"`
}

// RelayNoticePayload is the payload of a JobSlackRelayNotice job: the
// relayed reply and the hand-off thread the notice goes to.
type RelayNoticePayload struct {
	ReplyID  string `json:"reply_id"`
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts"`
}

// JobKind returns JobProcess.
func (ProcessPayload) JobKind() string { return JobProcess }

// JobKind returns JobDeliver.
func (DeliverPayload) JobKind() string { return JobDeliver }

// JobKind returns JobEscalate.
func (EscalatePayload) JobKind() string { return JobEscalate }

// JobKind returns JobReannounce.
func (ReannouncePayload) JobKind() string { return JobReannounce }

// JobKind returns JobMirror.
func (MirrorPayload) JobKind() string { return JobMirror }

// JobKind returns JobSlackRelayNotice.
func (RelayNoticePayload) JobKind() string { return JobSlackRelayNotice }

// EncodePayload returns the stored form of p (JSON).
func EncodePayload(p JobPayload) []byte {
	b, err := json.Marshal(p)
	if err != nil {
		// The payload types are plain structs of strings and integers.
		panic(fmt.Sprintf("encode %s payload: %v", p.JobKind(), err))
	}
	return b
}

// DecodePayload decodes the payload of j as a P. A job of another kind, or
// a payload that does not decode, is a permanent error: retrying cannot fix
// it.
func DecodePayload[P JobPayload](j *Job) (P, error) {
	var p P
	if j.Kind != p.JobKind() {
		return p, Permanent(fmt.Errorf("decode payload: job %d is a %s job, not %s", j.ID, j.Kind, p.JobKind()))
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return p, Permanent(fmt.Errorf("decode %s payload: %w", j.Kind, err))
	}
	return p, nil
}
