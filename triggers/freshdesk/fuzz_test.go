package freshdesk_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/freshdesk"
)

// FuzzFreshdeskParse: the parser never panics, an accepted event is valid,
// and every refusal is a validation error or an ignore.
func FuzzFreshdeskParse(f *testing.F) {
	for _, name := range []string{"reply_sent.json", "ticket_created.json", "agent_assigned.json", "status_resolved.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"ticket":{"id":1e400,"latest_public_comment":"<blockquote>x"},"triggered_event":"{}","performer":"requester"}`))
	f.Add([]byte(`{"ticket":{"id":"1","description":"<script>x</script>y"},"triggered_event":"{ticket_action:created}","performer":"contact"}`))
	tr, err := freshdesk.New(triggers.Config{Name: "fd", Kind: freshdesk.Kind, Token: "t"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/hooks/fd", strings.NewReader(string(body)))
		ev, err := tr.Parse(r, body)
		var ve *bot.ValidationError
		switch {
		case err == nil:
			if verr := ev.Validate(); verr != nil || ev.ID == "" || ev.Trigger != "fd" {
				t.Fatalf("accepted an invalid event %+v: %v", ev, verr)
			}
		case errors.Is(err, bot.ErrIgnored), errors.As(err, &ve):
		default:
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

// FuzzFreshdeskVerify: only the configured token and credentials verify.
func FuzzFreshdeskVerify(f *testing.F) {
	f.Add("tok", "fd", "pw")
	f.Add("tok ", "fd", "pw")
	f.Add("tok", "fd", "pw\x00")
	f.Add("", "", "")
	tr, err := freshdesk.New(triggers.Config{Name: "fd", Kind: freshdesk.Kind, Token: "tok", Username: "fd", Password: "pw"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok, user, pass string) {
		r := httptest.NewRequest("POST", "/hooks/fd", strings.NewReader("{}"))
		r.Header.Set(freshdesk.DefaultTokenHeader, tok)
		r.SetBasicAuth(user, pass)
		err := tr.Verify(r, []byte("{}"))
		if err == nil && (r.Header.Get(freshdesk.DefaultTokenHeader) != "tok" || user != "fd" || pass != "pw") {
			t.Fatalf("accepted token %q, user %q, password %q", tok, user, pass)
		}
		if err != nil && !errors.Is(err, bot.ErrUnauthorized) {
			t.Fatalf("refusal is not unauthorized: %v", err)
		}
	})
}
