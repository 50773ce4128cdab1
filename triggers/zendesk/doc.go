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
//     are answered and every other type is ignored.
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
// # Event id
//
// Events are deduplicated on Zendesk's event id (event subscriptions) or
// the X-Zendesk-Webhook-Invocation-Id header (trigger bodies); failing
// those, on the ticket and comment ids, or the ticket id and a hash of the
// body.
package zendesk
