package slack

import (
	"errors"
	"fmt"
	"net/http"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

// transientAPIErrors are Slack "ok": false error codes that a later retry
// may fix. Every other code is a refusal (invalid_auth, channel_not_found,
// not_in_channel, missing_scope, invalid_blocks, …) and is permanent.
var transientAPIErrors = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"ratelimited":         true,
	"rate_limited":        true,
}

// classify wraps a Slack API error with op and translates it into the job
// error classes: a 429 with Retry-After is bot.RetryAfter; a 5xx, a 429
// without the header, a transport failure or a transient API code is a plain
// (retryable) error; any other HTTP 4xx or API error code is bot.Permanent.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("%s: %w", op, err)
	if rl, ok := errors.AsType[*slackapi.RateLimitedError](err); ok {
		return bot.RetryAfter(rl.RetryAfter, wrapped)
	}
	if sc, ok := errors.AsType[slackapi.StatusCodeError](err); ok {
		if sc.Code >= 500 || sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout {
			return wrapped
		}
		return bot.Permanent(wrapped)
	}
	if se, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		if transientAPIErrors[se.Err] {
			return wrapped
		}
		return bot.Permanent(wrapped)
	}
	return wrapped // transport, timeout, or a garbled response: retry
}

// apiError returns Slack's error code of err ("" if it is not an API error).
func apiError(err error) string {
	if se, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return se.Err
	}
	return ""
}
