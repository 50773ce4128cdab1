// Package slack is supportbot's hand-off to human agents in Slack, on
// slack-go/slack: it implements bot.Escalator (post the hand-off packet,
// mirror customer follow-ups into its thread) and takes Slack's side of the
// conversation back in: agent replies in the thread, internal notes, and the
// Claim, Resolve, Hand back and Send draft buttons. Each relayed agent reply
// gets a "Relayed to the customer" notice in the thread whose Save as FAQ
// button records the customer's question and the agent's answer as a
// pending FAQ suggestion (once per reply). Reannounce reminds agents, in the
// thread and in the channel, of a hand-off nobody has claimed.
//
// Inbound traffic arrives either over HTTP (the Events API and interactivity
// request URLs, verified with the signing secret) or over Socket Mode when an
// app-level token is set. Both transports share one intake: the verified raw
// delivery is stored durably with a job (JobEvent or JobAction) and
// acknowledged at once; the worker pool runs the job through Handlers. That
// keeps Slack's 3-second acknowledgement deadline independent of Slack's own
// API and of users.info, makes redeliveries no-ops (the inbox is unique on the
// event id), and gives every Slack API call the queue's retry, backoff and
// dead-letter policy. Jobs of one Slack thread share a queue key, so agent
// replies and button clicks on one hand-off run one at a time, in order.
//
// Errors of Slack API calls follow the job classes: a 429 becomes
// bot.RetryAfter, a 5xx or a transport failure a plain (retryable) error, and
// refusals a retry cannot fix (invalid_auth, channel_not_found, other 4xx)
// bot.Permanent.
package slack
