package bot

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by every implementation.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means an event with the same trigger and id was stored before.
	ErrDuplicate = errors.New("duplicate")
	// ErrUnauthorized means a request's signature, token or address did not verify.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrConflict means a state change lost a race or is not allowed from the current state.
	ErrConflict = errors.New("conflict")
	// ErrClosed means the component has been closed.
	ErrClosed = errors.New("closed")
	// ErrStoreFull means the database cannot grow (disk full or page limit);
	// the intake answers 503 with Retry-After.
	ErrStoreFull = errors.New("store full")
)

// ValidationError says which field of an input is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Invalid returns a *ValidationError for field with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// PermanentError marks a job failure that must not be retried: the job goes
// to the dead-letter state at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the job runner dead-letters the job at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// RetryAfterError asks the job runner to retry no sooner than After, as an
// upstream 429 or 503 with Retry-After demands.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the delay an upstream asked for.
func RetryAfter(d time.Duration, err error) error {
	return &RetryAfterError{After: d, Err: err}
}

// IsPermanent reports whether err (or any error it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryDelay returns the delay requested by a RetryAfterError in err's chain.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// ErrIgnored means a trigger recognised the request but there is nothing to
// do (a filter did not match, or it is the echo of our own reply); the intake
// answers 200 {"ignored": true}.
var ErrIgnored = errors.New("ignored")
