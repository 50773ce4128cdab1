package generic_test

import (
	"errors"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// FuzzGenericParse checks that Parse never panics, fails only with a
// *bot.ValidationError or an error wrapping bot.ErrIgnored, and returns only
// events that pass Validate and carry the trigger name and an id.
func FuzzGenericParse(f *testing.F) {
	f.Add(false, "wh-1", []byte(jiraBody))
	f.Add(false, "", []byte(`{"webhookEvent":"comment_created","issue":{"key":"SUP-1"},"comment":{"body":"hi"}}`))
	f.Add(false, "", []byte(`{"webhookEvent":"comment_created","issue":{"key":["x"]},"comment":{"body":{"a":1}}}`))
	f.Add(false, "", []byte(`{"webhookEvent":"comment_created","issue":{"key":7},"comment":{"body":true},"labels":[1,"a",null,{}]}`))
	f.Add(true, "", []byte(`payload=%7B%22webhookEvent%22%3A%22comment_created%22%2C%22issue%22%3A%7B%22key%22%3A%22K%22%7D%2C%22comment%22%3A%7B%22body%22%3A%22b%22%7D%7D`))
	f.Add(true, "", []byte("webhookEvent=comment_created&key=K&body=b&labels=a&labels=b"))
	f.Add(true, "", []byte("a=%zz"))
	f.Add(false, "", []byte(`{"issue":`))
	tr := MustNew(f, none([]triggers.FieldMapping{
		path("conversation.id", "$.issue.key"),
		path("message.text", "$.comment.body"),
		path("conversation.tags", "$.labels"),
		{Field: "id", Header: "X-Id"},
		{Field: "conversation.subject", Path: "$.issue.fields.summary", Default: "(no subject)", Strip: `\s+$`},
		{Field: "customer.id", Path: "$..id"},
	}, triggers.FilterConfig{Path: "$.webhookEvent", Regex: "^comment_"}))
	f.Fuzz(func(t *testing.T, isForm bool, id string, body []byte) {
		h := map[string]string{}
		if isForm {
			h["Content-Type"] = "application/x-www-form-urlencoded"
		}
		r := newRequest("", h, body)
		r.Header["X-Id"] = []string{id}
		ev, err := tr.Parse(r, body)
		if err != nil {
			var ve *bot.ValidationError
			if !errors.As(err, &ve) && !errors.Is(err, bot.ErrIgnored) {
				t.Fatalf("Parse()=%v, want a *bot.ValidationError or bot.ErrIgnored", err)
			}
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("Parse() accepted an event that fails Validate: %v", err)
		}
		if ev.Trigger != "x" || ev.ID == "" {
			t.Fatalf("Parse() returned Trigger=%q ID=%q", ev.Trigger, ev.ID)
		}
	})
}
