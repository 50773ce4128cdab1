package worker

import (
	"context"

	"github.com/supportbot/supportbot/bot"
)

// applyOwnership applies the helpdesk's ownership signal that the process
// job's event carries, if any, before its message is recorded: a person who
// took the conversation in the helpdesk owns it before the customer's
// message is decided on, so the bot records that message and never answers
// it (the escalated/agent path mirrors it to the Slack thread). It reports
// done when the event carried only the signal and the job is complete.
func (e *Engine) applyOwnership(ctx context.Context, j *bot.Job, inboxID int64) (bool, error) {
	res, err := e.Store.ApplyOwnership(ctx, j.ID, inboxID)
	if err != nil || res.Event.Owner == nil {
		return false, err
	}
	o := res.Event.Owner
	log := e.Logger.With("trigger", res.Event.Trigger, "event_id", res.Event.ID,
		"conversation", res.Event.ConversationKey(), "job_id", j.ID)
	if res.Skipped != "" {
		log.Info("helpdesk ownership signal changed nothing", "actor", o.Actor, "reason", o.Reason,
			"state", res.From, "signal", o.State, "why", res.Skipped)
	} else {
		log.Info("helpdesk changed the owner", "actor", o.Actor, "reason", o.Reason, "from", res.From, "to", res.To)
	}
	return res.Done, nil
}
