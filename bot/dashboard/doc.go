// Package dashboard serves the operators' web pages under /admin: an
// overview (traffic, answered and escalated turns, deflection, open
// escalations, dead letters), conversations with their transcripts and
// transitions, dead letters with a replay button, and the triggers without
// their secrets.
//
// The pages are rendered on the server with html/template; the stylesheet,
// a small script and the charts (inline SVG) are embedded in the binary, so
// the pages load nothing from elsewhere. Every response carries a strict
// Content-Security-Policy whose script-src is a per-response nonce.
//
// An operator signs in with the admin token (server.admin_token). The login
// sets a session cookie holding a random session id, its expiry and an HMAC
// of both (never the token); sessions live in memory, so a restart signs
// everyone out. Requests may instead carry "Authorization: Bearer <token>",
// as the JSON admin API does. Every state-changing form carries a
// per-session CSRF token, and http.CrossOriginProtection refuses
// cross-origin browser requests before any handler runs.
package dashboard
