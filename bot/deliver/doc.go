// Package deliver sends replies to customers as signed outbound webhooks: it
// implements bot.Deliverer for the `webhook` reply kind. It also holds what
// every outbound call shares: the SSRF-guarded HTTP client, and API, the
// JSON client on which each helpdesk's reply channel
// (bot/deliver/<vendor>) is built.
//
// # Body
//
// Each reply is POSTed to the configured callback URL as one JSON object, the
// outbound reply contract of DESIGN.md:
//
//	{"type": "reply.created",
//	 "conversation": {"id": "c-42"},
//	 "message": {"id": "rpl_...", "text": "...", "author": "bot"},
//	 "state": "bot"}
//
// When a human agent wrote the reply, author is "agent" and the message also
// carries the agent's name:
//
//	"message": {"id": "rpl_...", "text": "...", "author": "agent", "agent": {"name": "Grace"}}
//
// The agent object sits inside message, beside author, and not at the top
// level. The contract says "author is bot or agent (then with "agent":
// {"name": "..."})": the parenthesis qualifies author, a field of message, and
// the agent is an attribute of who wrote that message, not of the event or
// the conversation. A receiver reads message.author and message.agent
// together. The agent object is present exactly when author is "agent".
//
// The body is encoded without HTML escaping and without a trailing newline,
// so the signed bytes are exactly the bytes sent.
//
// # Headers and signing
//
// Requests are signed per Standard Webhooks (HMAC-SHA256, scheme v1) with the
// trigger's outbound secret (whsec_ + base64): webhook-id is the reply's id,
// which stays the same across retries so that receivers can drop duplicates;
// webhook-timestamp is the unix time of this attempt; webhook-signature is
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>". The same id is also sent as
// Idempotency-Key for receivers that use that convention.
//
// # Errors
//
// Deliver's errors follow the job error classes of package bot:
//
//   - 2xx is success.
//   - 3xx is a retryable failure: redirects are never followed, because the
//     target of a redirect escapes the configured URL (and its checks).
//   - 410 Gone, other 4xx (except 408, 409, 425 and 429) and a blocked
//     address are bot.Permanent: a retry cannot fix them, an operator must,
//     and then replays the dead letter.
//   - Any non-2xx response other than 410 with a valid Retry-After header
//     (seconds or an HTTP date) is bot.RetryAfter, capped at MaxRetryAfter.
//   - 408, 409, 425, 429 and 5xx without Retry-After, network errors and
//     timeouts are plain, retryable errors.
//
// Errors carry the status and a short, sanitised snippet of the response body
// (see StatusError), never the URL (which may hold a token), the secret or
// the signature.
//
// # SSRF protection
//
// NewHTTPClient returns the client that deliveries should use. Its dialer
// checks the address it actually connects to, after DNS resolution, so a
// hostname that resolves (or re-resolves, as in DNS rebinding) to an internal
// address is refused at connect time with an error wrapping
// ErrBlockedAddress. Loopback, private, CGNAT, reserved, documentation and
// similar ranges are refused unless ClientOptions.AllowPrivateNetworks is
// set; link-local addresses (the cloud metadata services among them),
// unspecified, multicast and broadcast addresses are refused always, since no
// legitimate callback receiver lives there. IPv4 addresses embedded in
// IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) IPv6 addresses are
// checked as IPv4. CheckURL validates a URL's form at configuration time; the
// connect-time check is the real guard.
//
// The client ignores HTTP_PROXY and HTTPS_PROXY: through a proxy, the dialer
// would only see the proxy's address, and the proxy would reach whatever the
// callback URL names, bypassing the check. Deployments that must egress
// through a proxy should use one that enforces its own rules (such as
// smokescreen) and set Webhook.HTTPClient to a client configured for it.
package deliver
