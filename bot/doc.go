// Package bot holds supportbot's domain: the normalised inbound Event, the
// conversation states and their transitions, the answer-or-escalate Decision,
// jobs and replies, and the interfaces between the parts (Store, Decider,
// Deliverer, Escalator). It imports nothing but the standard library; every
// adapter (SQLite, Slack, OpenAI, HTTP) lives in a sub-package and points
// inward at these types.
package bot
