package triggers_test

import (
	"errors"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// FuzzParseNative checks that ParseNative never panics, fails only with a
// *bot.ValidationError, and returns only events that pass Validate and
// carry the trigger name and an id.
func FuzzParseNative(f *testing.F) {
	f.Add("msg_1", []byte(nativeBody))
	f.Add("", []byte(nativeBody))
	f.Add("", []byte(`{"id":"b-1","type":"ticket.created","conversation":{"id":"c","tags":["x"]},"message":{"text":"hi"}}`))
	f.Add("", []byte(`{"type":5}`))
	f.Add("", []byte(`{"conversation":"c"}`))
	f.Add("", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add("", []byte("{\"type\":\"message.created\",\"message\":{\"text\":\"\xff\"}}"))
	f.Add("", []byte(`{} {}`))
	f.Add("", []byte(``))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		ev, err := triggers.ParseNative("chat", id, body)
		if err != nil {
			var ve *bot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseNative()=%v, want a *bot.ValidationError", err)
			}
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("ParseNative() accepted an event that fails Validate: %v", err)
		}
		if ev.Trigger != "chat" || ev.ID == "" {
			t.Fatalf("ParseNative() returned Trigger=%q ID=%q", ev.Trigger, ev.ID)
		}
		if id != "" && ev.ID != id {
			t.Fatalf("ParseNative() ID=%q, want the transport id %q", ev.ID, id)
		}
	})
}
