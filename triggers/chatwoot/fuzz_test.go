package chatwoot_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// FuzzChatwootParse: the parser never panics, an accepted event is valid,
// and every refusal is a validation error or an ignore.
func FuzzChatwootParse(f *testing.F) {
	for _, name := range []string{"message_created.json", "message_created_assigned.json", "message_created_agent_reply.json",
		"message_created_attachment.json", "conversation_status_changed.json", "conversation_resolved.json", "conversation_opened.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"event":"message_created","message_type":"incoming","content":"x","conversation":{"id":"1"}}`))
	f.Add([]byte(`{"event":"message_created","message_type":0,"content":"x","conversation":{"id":1e400}}`))
	f.Add([]byte(`[]`))
	tr, err := chatwoot.New(triggers.Config{Name: "cw", Kind: "chatwoot", Secret: "s3cret"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/hooks/cw", strings.NewReader(string(body)))
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
