package triggers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// millisThreshold separates unix seconds from unix milliseconds: a number
// above it is read as milliseconds (1e12 s is in the year 33658, 1e12 ms in
// 2001).
const millisThreshold = 1_000_000_000_000

// maxUnixSeconds is the end of year 9999 UTC. Larger values are refused:
// time.Unix overflows for values near the int64 limit and would wrap a far
// future timestamp into the distant past.
const maxUnixSeconds = 253402300799

// ParseTimestamp reads a signed timestamp header: unix seconds, unix
// milliseconds (a number above 1e12), or RFC 3339. Numbers are plain ASCII
// digits, without a sign or spaces.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil || n > maxUnixSeconds*1000+999:
			return time.Time{}, fmt.Errorf("timestamp out of range")
		case n > millisThreshold:
			return time.UnixMilli(n), nil
		case n > maxUnixSeconds:
			return time.Time{}, fmt.Errorf("timestamp out of range")
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp is neither unix seconds, unix milliseconds nor RFC 3339")
	}
	return t, nil
}

// ParseUnixSeconds reads a timestamp of unix seconds written as plain ASCII
// digits, as Standard Webhooks sends it.
func ParseUnixSeconds(s string) (time.Time, error) {
	if s == "" || !allDigits(s) {
		return time.Time{}, fmt.Errorf("timestamp is not unix seconds")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("timestamp out of range")
	}
	return time.Unix(n, 0), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckTimestamp returns an error wrapping bot.ErrUnauthorized when ts is
// more than tolerance before or after now. A timestamp exactly tolerance
// away is accepted, as in the Standard Webhooks reference libraries.
func CheckTimestamp(ts, now time.Time, tolerance time.Duration) error {
	// Compare times, not now.Sub(ts): Sub saturates for timestamps far in the
	// future and its negation would overflow back to "old enough".
	switch {
	case ts.Before(now.Add(-tolerance)):
		return Unauthorized("timestamp too old: %s old, tolerance %s", now.Sub(ts).Truncate(time.Second), tolerance)
	case ts.After(now.Add(tolerance)):
		return Unauthorized("timestamp too new: %s in the future, tolerance %s", ts.Sub(now).Truncate(time.Second), tolerance)
	}
	return nil
}

// ReplayTolerance returns the configured replay window for signed
// timestamps, or DefaultTolerance; a negative one is an error naming the key.
func (c *Config) ReplayTolerance() (time.Duration, error) {
	switch {
	case c.Tolerance < 0:
		return 0, fmt.Errorf("tolerance: must not be negative")
	case c.Tolerance == 0:
		return DefaultTolerance, nil
	}
	return c.Tolerance, nil
}

// ValidHeaderName reports whether s is a valid HTTP header field name (an
// RFC 9110 token).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
