package token_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// FuzzTokenVerify checks that Verify never panics and accepts a request
// only when it carries one of the configured tokens.
func FuzzTokenVerify(f *testing.F) {
	f.Add(false, "Bearer "+tok)
	f.Add(false, "bearer "+oldTok)
	f.Add(false, "Bearer "+tok[:10])
	f.Add(false, "Basic "+tok)
	f.Add(false, "Bearer")
	f.Add(true, tok)
	f.Add(true, oldTok+" ")
	f.Add(true, "")
	bearer := MustNew(f, triggers.Config{Token: tok, Secrets: []string{oldTok}})
	header := MustNew(f, triggers.Config{Token: tok, Secrets: []string{oldTok}, TokenHeader: "X-Token"})
	f.Fuzz(func(t *testing.T, inHeader bool, value string) {
		r := newRequest(nil, nil)
		tr := bearer
		if inHeader {
			tr = header
			r.Header["X-Token"] = []string{value}
		} else {
			r.Header["Authorization"] = []string{value}
		}
		err := tr.Verify(r, nil)
		if err != nil {
			if !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
			return
		}
		presented := value
		if !inHeader {
			scheme, rest, _ := strings.Cut(value, " ")
			if !strings.EqualFold(scheme, "bearer") {
				t.Fatalf("Verify() accepted Authorization %q without the Bearer scheme", value)
			}
			presented = strings.TrimLeft(rest, " ")
		}
		if presented != tok && presented != oldTok {
			t.Fatalf("Verify() accepted %q (inHeader=%v)", value, inHeader)
		}
	})
}
