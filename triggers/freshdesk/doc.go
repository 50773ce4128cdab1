// Package freshdesk is the trigger for Freshdesk automation-rule webhooks
// ("Trigger webhook", encoding JSON, content Advanced).
//
// # Authentication
//
// Freshdesk signs nothing. A request must carry a shared token in a custom
// header (token, in token_header, default X-Supportbot-Token), or Basic
// credentials (the webhook's "Requires authentication": username and
// password), or both when both are configured. Tokens and credentials are
// compared in constant time through their SHA-256 digests; the trigger's
// secrets (secret, secrets) are accepted as further tokens, or passwords,
// during a rotation. Add allow_ips for Freshdesk's egress addresses where
// you can.
//
// # Body
//
// Freshdesk lets the rule's author write the body, so this package parses
// exactly one documented body (README, "Helpdesks";
// testdata/reply_sent.json), the same for the ticket-creation rule and the
// ticket-update rule:
//
//	{"ticket": {"id": "{{ticket.id}}", "subject": "{{ticket.subject}}",
//	 "description": "{{ticket.description}}",
//	 "latest_public_comment": "{{ticket.latest_public_comment}}",
//	 "url": "{{ticket.url}}", "priority": "{{ticket.priority}}",
//	 "tags": "{{ticket.tags}}"},
//	 "requester": {"id": "{{ticket.requester.id}}",
//	 "name": "{{ticket.requester.name}}", "email": "{{ticket.requester.email}}"},
//	 "triggered_event": "{{triggered_event}}",
//	 "performer": "requester"}
//
// {{triggered_event}} renders Freshdesk's change without quotes, e.g.
// {ticket_action:created} or {reply_sent:sent}: the first is a new ticket,
// whose text is the description; the second a reply, whose text is the
// latest public comment. Both are HTML: they become plain text, and an
// e-mail reply's quoted history (from the first <blockquote>) is dropped.
//
// # Loops
//
// A reply by an agent, or by the bot through the API, is a {reply_sent:sent}
// just like the customer's: Freshdesk tells them apart only with the rule's
// "Performed by" condition, which no placeholder renders. The body therefore
// carries that condition as the literal performer, written by hand: only
// "requester" (or "customer", "contact") is answered; a rule for agents
// ("agent", "system", ...) is ignored, so a rule that also fires for
// agents' replies cannot make the bot answer itself. Notes (
// {note_type:...}), property changes ({status:{from:2,to:3}}) and every
// other event are ignored as well.
//
// # Ownership
//
// The body may carry "status": "{{ticket.status}}" in ticket and an
// "agent" object of {{ticket.agent.name}} and {{ticket.agent.email}} (the
// assigned agent, the API's responder_id). With them, a requester's message
// on a ticket assigned to an agent is recorded as that agent's (agent,
// helpdesk_assigned), and a third rule performed by agents (performer
// "agent") reports who owns the ticket: {{triggered_event}}
// {status:{from:..,to:4}} (Resolved) or to 5 (Closed), or a status of
// Resolved or Closed → resolved; {responder_id:{...}} to an agent → agent,
// to none → bot (which returns only what a person held). The agent the bot
// replies as (reply.email, when set) is never a person. Agents' replies are
// no signal: the bot's own replies are an agent's too.
//
// # Event id
//
// Freshdesk sends no delivery id and no comment id: the event id is the
// ticket id and a hash of the body, so a redelivered request is recognised
// and a new message on the same ticket is not.
package freshdesk
