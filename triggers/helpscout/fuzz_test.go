package helpscout_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/helpscout"
)

// FuzzHelpScoutParse: the parser never panics, an accepted event is valid,
// and every refusal is a validation error or an ignore.
func FuzzHelpScoutParse(f *testing.F) {
	for _, name := range []string{"convo_created.json", "convo_customer_reply_created.json", "convo_agent_reply_created.json",
		"convo_assigned.json", "convo_status_closed.json", "convo_agent_reply_person.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b, "convo.customer.reply.created")
		}
	}
	f.Add([]byte(`{"id":1e400,"threads":[{"id":"x","type":"customer","body":"<p>hi"}]}`), "convo.created")
	f.Add([]byte(`{"id":1,"tags":{"a":1},"_embedded":{"threads":[{"type":"chat","createdBy":null,"body":"x"}]}}`), "convo.created")
	f.Add([]byte(`[]`), "convo.created")
	for name, event := range map[string]string{"convo_assigned.json": "convo.assigned", "convo_status_closed.json": "convo.status",
		"convo_agent_reply_person.json": "convo.agent.reply.created"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b, event)
		}
	}
	tr, err := helpscout.New(triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		r := httptest.NewRequest("POST", "/hooks/hs", strings.NewReader(string(body)))
		r.Header.Set(helpscout.EventHeader, event)
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

// FuzzHelpScoutVerify: no signature but the one made with the secret (in
// its padded or unpadded form) verifies.
func FuzzHelpScoutVerify(f *testing.F) {
	f.Add([]byte(`{"ticket_id":123,"subject":"Help","body":"My order is late"}`), "Br1YLfmFvsznJZXb8BslmD66Tmc=")
	f.Add([]byte(""), "=")
	tr, err := helpscout.New(triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "my-secret-key"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := httptest.NewRequest("POST", "/hooks/hs", strings.NewReader(string(body)))
		r.Header.Set("X-HelpScout-Signature", sig)
		err := tr.Verify(r, body)
		want := helpscout.Signature("my-secret-key", body)
		if err == nil && sig != want && sig != strings.TrimRight(want, "=") {
			t.Fatalf("accepted signature %q for body %q (want %q)", sig, body, want)
		}
		if err != nil && sig == want {
			t.Fatalf("refused the right signature: %v", err)
		}
	})
}
