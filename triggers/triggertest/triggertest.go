// Package triggertest holds the checks every trigger kind's tests share:
// building a signed request, reading a kind's test vectors, and the
// contract of Verify and of a kind's constructor. A refused request's
// error wraps bot.ErrUnauthorized, says why, and never repeats a secret; a
// bad config's error names the key.
package triggertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

// Request returns a POST of body to target with headers; a header whose
// value is empty is left out.
func Request(target string, headers map[string]string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, v := range headers {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	return r
}

// LoadVectors reads the JSON array of test vectors in path (a kind's
// testdata/vectors.json); a missing, malformed or empty file fails tb.
func LoadVectors[V any](tb testing.TB, path string) []V {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []V
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(vs) == 0 {
		tb.Fatalf("%s: no vectors", path)
	}
	return vs
}

// CheckVerify checks the result of a Verify: nil when wantErr is empty;
// else an error that wraps bot.ErrUnauthorized, contains wantErr and
// contains none of secrets.
func CheckVerify(tb testing.TB, err error, wantErr string, secrets ...string) {
	tb.Helper()
	CheckAccepted(tb, err, wantErr == "", secrets...)
	if got := err; got != nil && !strings.Contains(got.Error(), wantErr) {
		tb.Fatalf("Verify()=%q, want it to contain %q", got, wantErr)
	}
}

// CheckAccepted checks the result of a Verify that should accept (ok) or
// refuse the request: nil, or an error that wraps bot.ErrUnauthorized and
// contains none of secrets.
func CheckAccepted(tb testing.TB, err error, ok bool, secrets ...string) {
	tb.Helper()
	switch {
	case ok && err != nil:
		tb.Fatalf("Verify()=%v, want nil", err)
	case ok:
		return
	case err == nil:
		tb.Fatal("Verify()=nil, want a refusal")
	case !errors.Is(err, bot.ErrUnauthorized):
		tb.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
	}
	noSecret(tb, "Verify", err, secrets)
}

// CheckNew checks the error of a kind's constructor: nil when want is
// empty, else exactly want, containing none of secrets.
func CheckNew(tb testing.TB, err error, want string, secrets ...string) {
	tb.Helper()
	if want == "" {
		if err != nil {
			tb.Fatalf("New()=%v, want nil", err)
		}
		return
	}
	if err == nil {
		tb.Fatalf("New()=nil, want %q", want)
	}
	if got := err.Error(); got != want {
		tb.Fatalf("New()=%q, want %q", got, want)
	}
	noSecret(tb, "New", err, secrets)
}

func noSecret(tb testing.TB, op string, err error, secrets []string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			tb.Fatalf("%s()=%q echoes a secret", op, err)
		}
	}
}
