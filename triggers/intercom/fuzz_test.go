package intercom_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/intercom"
)

// FuzzIntercomParse: the parser never panics, an accepted event is valid,
// and every refusal is a validation error or an ignore.
func FuzzIntercomParse(f *testing.F) {
	for _, name := range []string{"conversation_user_created.json", "conversation_user_replied.json", "conversation_admin_replied.json",
		"conversation_admin_assigned.json", "conversation_admin_closed.json", "conversation_user_replied_assigned.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"topic":"conversation.user.replied","data":{"item":{"id":1e400,"conversation_parts":{"conversation_parts":[{"author":{"type":"user"},"body":"x"}]}}}}`))
	f.Add([]byte(`{"topic":"conversation.user.created","data":{"item":{"id":"1","contacts":"x","source":{"body":"<p>hi","author":{"type":"lead","id":null}}}}}`))
	f.Add([]byte(`[]`))
	tr, err := intercom.New(triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/hooks/ic", strings.NewReader(string(body)))
		ev, err := tr.Parse(r, body)
		var ve *bot.ValidationError
		switch {
		case err == nil:
			if verr := ev.Validate(); verr != nil {
				t.Fatalf("accepted an invalid event %+v: %v", ev, verr)
			}
		case errors.Is(err, bot.ErrIgnored), errors.As(err, &ve):
		default:
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

// FuzzIntercomVerify: no signature but the one made with the secret
// verifies.
func FuzzIntercomVerify(f *testing.F) {
	f.Add([]byte(`{"topic":"ping"}`), "sha1=ad5398351b028a3f437f47067d1a25b9ded19281")
	f.Add([]byte(""), "sha1=")
	tr, err := intercom.New(triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "my-client-secret"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest("POST", "/hooks/ic", strings.NewReader(string(body)))
		r.Header.Set("X-Hub-Signature", sig)
		err := tr.Verify(r, body)
		want := intercom.Signature("my-client-secret", body)
		if err == nil && !strings.EqualFold(strings.TrimSpace(sig), want) && !strings.EqualFold(sig, want) {
			t.Fatalf("accepted signature %q for body %q (want %q)", sig, body, want)
		}
		if err != nil && sig == want {
			t.Fatalf("refused the right signature: %v", err)
		}
	})
}
