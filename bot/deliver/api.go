package deliver

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// DefaultEscalationTag is the tag a helpdesk reply channel puts on a ticket
// handed to people, so the helpdesk's own views can list them.
const DefaultEscalationTag = "supportbot-escalated"

// API is a JSON client for a helpdesk's REST API, shared by the vendor
// reply channels: every request goes through the SSRF-guarded client with
// the channel's timeout and authentication, and a failed response becomes a
// job error of the right class (permanent, retry after the vendor's
// rate-limit delay, or retry with backoff), its snippet scrubbed of the
// credentials.
type API struct {
	// HTTPClient sends the requests (default: NewHTTPClient with defaults).
	HTTPClient *http.Client
	// Now is the clock for HTTP-date Retry-After values (default time.Now).
	Now func() time.Time
	// BaseURL is the API's scheme and host, without a trailing slash.
	BaseURL string
	// Timeout bounds one request (default DefaultTimeout).
	Timeout time.Duration
	// Authorize sets the request's credentials. It may fail (an OAuth token
	// that cannot be fetched): its error is returned as is.
	Authorize func(ctx context.Context, req *http.Request) error
	// Redact lists the credentials to scrub from error snippets.
	Redact []string
	// RetryAfter reads the delay a 429 or 503 asks for from the vendor's
	// headers (default: the standard Retry-After header).
	RetryAfter func(h http.Header, now time.Time) (time.Duration, bool)
}

// Do sends a request with in (if not nil) as its JSON body and decodes a
// JSON response into out (if not nil). op names the operation in errors,
// e.g. "post zendesk comment".
func (a *API) Do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return bot.Permanent(fmt.Errorf("%s: encode: %w", op, err))
		}
		body = bytes.NewReader(data)
	}
	timeout := cmp.Or(a.Timeout, DefaultTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, body)
	if err != nil {
		return bot.Permanent(fmt.Errorf("%s: bad request URL", op))
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if a.Authorize != nil {
		if err := a.Authorize(ctx, req); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	client := a.HTTPClient
	if client == nil {
		client = NewHTTPClient(ClientOptions{})
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportError(ctx, op, timeout, err)
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && readErr != nil {
			return fmt.Errorf("%s: read response: %w", op, readErr)
		}
		if out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s: decode response: %w", op, err)
			}
		}
		return nil
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	serr := &StatusError{StatusCode: resp.StatusCode, Body: sanitize(data, a.Redact)}
	retryAfter := a.RetryAfter
	if retryAfter == nil {
		retryAfter = StandardRetryAfter
	}
	return classifyAPI(op, serr, resp.Header, now, retryAfter)
}

func classifyAPI(op string, serr *StatusError, h http.Header, now time.Time, retryAfter func(http.Header, time.Time) (time.Duration, bool)) error {
	err := fmt.Errorf("%s: %w", op, serr)
	if serr.StatusCode == http.StatusUnauthorized || serr.StatusCode == http.StatusForbidden {
		// Credentials are wrong or lack a scope: retrying will not help,
		// and the dead letter can be replayed once they are fixed, even if
		// the response asks for a later retry.
		return bot.Permanent(err)
	}
	// Only a rate limit or an outage asks for a delay: some vendors send
	// their rate-limit headers on every response (Intercom's
	// X-RateLimit-Reset), and a 404 must stay permanent.
	if code := serr.StatusCode; code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if d, ok := retryAfter(h, now); ok {
			return bot.RetryAfter(d, err)
		}
	}
	return classifyCode(err, serr.StatusCode)
}

// StandardRetryAfter reads the Retry-After header: delay-seconds or an
// HTTP date, capped at MaxRetryAfter.
func StandardRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return parseRetryAfter(h.Get("Retry-After"), now)
}

// ResetRetryAfter returns a RetryAfter that reads Retry-After, else the
// delay until the Unix time in the named reset header (Intercom's
// X-RateLimit-Reset), capped at MaxRetryAfter.
func ResetRetryAfter(header string) func(http.Header, time.Time) (time.Duration, bool) {
	return func(h http.Header, now time.Time) (time.Duration, bool) {
		if d, ok := StandardRetryAfter(h, now); ok {
			return d, true
		}
		v := strings.TrimSpace(h.Get(header))
		if !isDigits(v) || len(v) > 12 {
			return 0, false
		}
		var sec int64
		fmt.Sscan(v, &sec)
		d := time.Unix(sec, 0).Sub(now)
		if d <= 0 {
			return 0, false
		}
		return min(d, MaxRetryAfter), true
	}
}

// SecondsRetryAfter returns a RetryAfter that reads Retry-After, else a
// delay in seconds from the named header (Help Scout's
// X-RateLimit-Retry-After).
func SecondsRetryAfter(header string) func(http.Header, time.Time) (time.Duration, bool) {
	return func(h http.Header, now time.Time) (time.Duration, bool) {
		if d, ok := StandardRetryAfter(h, now); ok {
			return d, true
		}
		v := strings.TrimSpace(h.Get(header))
		if !isDigits(v) {
			return 0, false
		}
		return parseRetryAfter(v, now)
	}
}

// BasicAuth returns an Authorize that sets HTTP Basic credentials.
func BasicAuth(user, password string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.SetBasicAuth(user, password)
		return nil
	}
}

// BearerAuth returns an Authorize that sets a bearer token.
func BearerAuth(token string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// HeaderAuth returns an Authorize that sets one header (Chatwoot's
// api_access_token).
func HeaderAuth(name, value string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set(name, value)
		return nil
	}
}

// CheckBaseURL validates a vendor API base URL and returns it without a
// trailing slash; the error names key.
func CheckBaseURL(key, raw string) (string, error) {
	if err := CheckURL(raw); err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Text is the text a helpdesk reply carries: an agent's reply is signed with
// the agent's name on a line of its own, since the helpdesk shows every
// reply as written by the API's own account (the bot's), and the customer
// should see who answered.
func Text(r bot.Reply) string {
	if r.Author != bot.AuthorAgent || strings.TrimSpace(r.AgentName) == "" {
		return r.Text
	}
	return r.Text + "\n\n— " + strings.TrimSpace(r.AgentName)
}

// HTML renders a plain-text reply for a helpdesk API that takes an HTML
// body: the text escaped, each line break a <br>.
func HTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(strings.ReplaceAll(text, "\r\n", "\n")), "\n", "<br>")
}
