// Package zendesk is the trigger for Zendesk webhooks, in either of
// Zendesk's two connection modes (a webhook is one or the other):
//
//   - Trigger or automation webhooks, whose JSON body the operator writes
//     with placeholders. This package parses exactly one documented body
//     (README, "Helpdesks"; testdata/trigger_comment.json):
//
//     {"ticket": {"id": "{{ticket.id}}", "subject": "{{ticket.title}}",
//     "url": "{{ticket.link}}", "priority": "{{ticket.priority}}",
//     "tags": "{{ticket.tags}}"},
//     "requester": {"id": "{{ticket.requester.id}}",
//     "name": "{{ticket.requester.name}}", "email": "{{ticket.requester.email}}"},
//     "author": {"id": "{{current_user.id}}", "email": "{{current_user.email}}",
//     "role": "{{current_user.role}}"},
//     "comment": "{{ticket.latest_public_comment}}"}
//
//   - Event subscriptions: Zendesk's own CloudEvents-like bodies, of which
//     zen:event-type:ticket.comment_added and zen:event-type:ticket.created
//     are answered, the assignment and status changes read for their owner
//     (below), and every other type is ignored.
//
// # Signature
//
// Every request is verified with the webhook's signing secret: the
// X-Zendesk-Webhook-Signature header is base64(HMAC-SHA256(secret,
// timestamp + body)), with the timestamp (RFC 3339) taken from
// X-Zendesk-Webhook-Signature-Timestamp and checked against the replay
// window (tolerance, default 5 minutes; Zendesk documents none). The secret
// is used verbatim; every secret of the trigger is tried, for rotation.
//
// # Loops
//
// The bot replies with public comments made by the API user, an agent, and
// Zendesk fires the trigger or the event for those comments too. They, and
// every comment a person on the support team writes, are ignored:
//
//   - template bodies: the author (current_user, who made the update) must
//     have the end-user role, and must not be the API user of the reply
//     settings (reply.email);
//   - event bodies: the comment must be public and its author must not be
//     staff (event.comment.author.is_staff).
//
// The README's trigger conditions (current user is an end user, comment is
// public) keep Zendesk from sending those requests at all; the checks here
// hold even when the conditions are missing.
//
// # Ownership
//
// Zendesk also says who owns a ticket (see bot.OwnerChange). A trigger body
// may carry "status": "{{ticket.status}}" in ticket and an "assignee"
// object of {{ticket.assignee.id}}, {{ticket.assignee.name}} and
// {{ticket.assignee.email}}; a body left without them says nothing about
// the owner. With them:
//
//   - a customer's comment on a ticket assigned to a person is recorded
//     after the ticket becomes the person's (agent, helpdesk_assigned), and
//     not answered;
//   - an update by a person on the support team (a second trigger, see the
//     README) is a signal alone: solved or closed → resolved; assigned to
//     a person → agent; unassigned while new or open → bot
//     (helpdesk_unassigned, which returns only what a person held).
//
// A ticket assigned to the API user (reply.email) is still the bot's, and
// the API user's own updates are ignored. Event subscriptions read the
// ticket after the change, detail.assignee_id and detail.status:
// zen:event-type:ticket.agent_assignment_changed (an assignee → agent, none
// → bot), zen:event-type:ticket.status_changed (solved or closed →
// resolved, or an assignee → agent), and ticket.comment_added on a ticket
// with an assignee → agent before the comment. The event payloads name the
// assignee by id only, so there the API user cannot be told apart: do not
// assign tickets to it. Agents' comments alone are no signal (the bot's
// own comments are an agent's too): a person takes a ticket by assigning
// it, or by solving it.
//
// # Event id
//
// Comments of event subscriptions are deduplicated on the ticket and
// comment ids (the same comment under a new event id is one message), other
// events on Zendesk's event id; trigger bodies on the
// X-Zendesk-Webhook-Invocation-Id header; failing those, on the ticket id
// and a hash of the body.
package zendesk
