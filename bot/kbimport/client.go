package kbimport

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// Limits of one import's HTTP calls.
const (
	// DefaultTimeout bounds one request.
	DefaultTimeout = 30 * time.Second
	// MaxResponseBytes caps one response: a page of up to 1,000 Zendesk
	// articles with their bodies.
	MaxResponseBytes = 64 << 20
	// DefaultMaxRetries is how many times a failed request (a 5xx, a
	// connection error) is retried, with backoff.
	DefaultMaxRetries = 4
	// DefaultMaxWait caps one wait for a rate limit: a longer Retry-After
	// fails the import instead of hanging it.
	DefaultMaxWait = 2 * time.Minute
	// DefaultMaxTotalWait caps the sum of all waits of one import.
	DefaultMaxTotalWait = 10 * time.Minute
	// maxRateLimited is how many 429s in a row one request accepts.
	maxRateLimited = 10
)

// ErrAuth means the vendor refused the credentials (401 or 403).
var ErrAuth = errors.New("credentials refused")

// AuthError is a 401 or 403 from a vendor's API: retrying will not help
// until the credential named in Check is fixed.
type AuthError struct {
	Vendor     string
	StatusCode int
	// Check names the credential to check, e.g. "reply.email and reply.api_token".
	Check string
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s: check %s", e.Vendor, e.StatusCode, http.StatusText(e.StatusCode), e.Check)
	if e.StatusCode == http.StatusForbidden {
		msg += " (and that its user may read the help center)"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrAuth) true.
func (e *AuthError) Unwrap() error { return ErrAuth }

// Client sends the GET requests of one vendor's importer: through the
// SSRF-guarded client of bot/deliver, authenticated, with a deadline per
// request; a 429 (or 503) waits for the vendor's Retry-After within
// bounds, a 5xx or connection error is retried with capped, jittered
// backoff, and a 401 or 403 becomes an *AuthError. A Client counts the
// waits of one import: it is not for concurrent use.
type Client struct {
	// HTTPClient sends the requests (default: deliver.NewHTTPClient, which
	// refuses private addresses).
	HTTPClient *http.Client
	// BaseURL is the API's scheme and host (and path prefix), no trailing slash.
	BaseURL string
	// Vendor names the API in errors.
	Vendor string
	// Check names the credentials in an *AuthError.
	Check string
	// Authorize sets the request's credentials and vendor headers.
	Authorize func(*http.Request)
	// Redact lists secrets scrubbed from error snippets.
	Redact []string
	// RetryAfter reads a rate limit's delay (default deliver.StandardRetryAfter).
	RetryAfter func(http.Header, time.Time) (time.Duration, bool)
	// Timeout bounds one request (default DefaultTimeout).
	Timeout time.Duration
	// MaxRetries, MaxWait and MaxTotalWait bound the retries (defaults
	// DefaultMaxRetries, DefaultMaxWait, DefaultMaxTotalWait).
	MaxRetries   int
	MaxWait      time.Duration
	MaxTotalWait time.Duration
	// SleepFunc waits d or until ctx is done (default: a timer); tests
	// record the waits instead.
	SleepFunc func(ctx context.Context, d time.Duration) error
	// Now is the clock for HTTP-date Retry-After values.
	Now func() time.Time

	waited time.Duration
}

// Get fetches path (relative to BaseURL, or an absolute URL on the same
// host, as vendors give their next-page links) and decodes the JSON
// response into out. It returns the response headers (pagination links).
// op names the operation in errors.
func (c *Client) Get(ctx context.Context, op, path string, out any) (http.Header, error) {
	target, err := c.resolve(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	backoff := time.Second
	retries, limited := 0, 0
	for {
		h, status, err := c.get(ctx, op, target, out)
		if err == nil {
			return h, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		var wait time.Duration
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, fmt.Errorf("%s: %w", op, &AuthError{Vendor: c.Vendor, StatusCode: status, Check: cmp.Or(c.Check, "the API credentials")})
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			d, ok := c.retryAfter(h)
			if !ok {
				if status == http.StatusTooManyRequests {
					d = 10 * time.Second
				} else if retries++; retries > c.maxRetries() {
					return nil, err
				} else {
					d = jitter(backoff)
					backoff *= 2
				}
			}
			if limited++; limited > maxRateLimited {
				return nil, fmt.Errorf("%w (rate limited %d times in a row)", err, maxRateLimited)
			}
			if d > cmp.Or(c.MaxWait, DefaultMaxWait) {
				return nil, fmt.Errorf("%w: %s asks to wait %s, longer than %s", err, c.Vendor, d.Round(time.Second), cmp.Or(c.MaxWait, DefaultMaxWait))
			}
			wait = d
		case status >= 500 || status == 0:
			// A 5xx or a connection failure: the vendor may recover.
			if retries++; retries > c.maxRetries() {
				return nil, err
			}
			wait = jitter(backoff)
			backoff = min(backoff*2, 30*time.Second)
		default:
			return nil, err
		}
		if c.waited+wait > cmp.Or(c.MaxTotalWait, DefaultMaxTotalWait) {
			return nil, fmt.Errorf("%w: waited %s for %s already", err, c.waited.Round(time.Second), c.Vendor)
		}
		c.waited += wait
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
}

func (c *Client) maxRetries() int {
	if c.MaxRetries == 0 {
		return DefaultMaxRetries
	}
	return max(c.MaxRetries, 0)
}

// jitter returns d plus up to a quarter of d, so parallel importers do not
// retry in step.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/4+1)
}

func (c *Client) retryAfter(h http.Header) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	f := c.RetryAfter
	if f == nil {
		f = deliver.StandardRetryAfter
	}
	return f(h, now)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.SleepFunc != nil {
		return c.SleepFunc(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resolve turns path into a URL under BaseURL. An absolute URL (a vendor's
// next-page link) must be on the base URL's scheme and host: a response
// must not send the credentials elsewhere.
func (c *Client) resolve(path string) (string, error) {
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		return c.BaseURL + path, nil
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return "", errors.New("bad base URL")
	}
	u, err := url.Parse(path)
	if err != nil {
		return "", errors.New("bad next-page link")
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return "", fmt.Errorf("next-page link leaves %s (%s://%s)", base.Host, u.Scheme, u.Host)
	}
	return u.String(), nil
}

// get sends one request. status is 0 when no response arrived.
func (c *Client) get(ctx context.Context, op, target string, out any) (http.Header, int, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, -1, fmt.Errorf("%s: bad request URL", op)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", deliver.UserAgent)
	if c.Authorize != nil {
		c.Authorize(req)
	}
	client := c.HTTPClient
	if client == nil {
		client = deliver.NewHTTPClient(deliver.ClientOptions{Timeout: cmp.Or(c.Timeout, DefaultTimeout)})
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, deliver.ErrBlockedAddress) {
			return nil, -1, fmt.Errorf("%s: %w (set outbound.allow_private_networks for a help center on a private network)", op, deliver.ErrBlockedAddress)
		}
		return nil, 0, fmt.Errorf("%s: %w", op, c.scrub(err))
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet := string(bytes.TrimSpace(data))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		return resp.Header, resp.StatusCode, fmt.Errorf("%s: %s answered %s: %s", op, c.Vendor, resp.Status, c.redact(snippet))
	}
	if readErr != nil {
		return nil, 0, fmt.Errorf("%s: read response: %w", op, readErr)
	}
	if len(data) > MaxResponseBytes {
		return nil, -1, fmt.Errorf("%s: response larger than %d bytes", op, MaxResponseBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, -1, fmt.Errorf("%s: decode response: %w", op, err)
	}
	return resp.Header, resp.StatusCode, nil
}

func (c *Client) redact(s string) string {
	for _, r := range c.Redact {
		if r != "" {
			s = strings.ReplaceAll(s, r, "[redacted]")
		}
	}
	return s
}

// scrub removes the secrets from a transport error, which repeats the URL.
func (c *Client) scrub(err error) error {
	s := c.redact(err.Error())
	if s == err.Error() {
		return err
	}
	return errors.New(s)
}
