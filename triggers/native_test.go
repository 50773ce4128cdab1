package triggers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

const nativeBody = `{"type": "message.created",
 "conversation": {"id": "c-42", "subject": "Login trouble"},
 "customer": {"id": "u-7", "name": "Ada", "email": "ada@example.com"},
 "message": {"id": "m-1", "text": "How do I reset my password?"}}`

// event builds a body with the given fields around a valid minimum.
func event(conv, msg string) string {
	return `{"type":"message.created","conversation":` + conv + `,"message":` + msg + `}`
}

func TestParseNative(t *testing.T) {
	full := bot.Event{
		Trigger: "chat", ID: "msg_1", Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: "c-42", Subject: "Login trouble"},
		Customer:     bot.Customer{ID: "u-7", Name: "Ada", Email: "ada@example.com"},
		Message:      bot.MessageRef{ID: "m-1", Text: "How do I reset my password?"},
	}
	minimal := func(id string) bot.Event {
		return bot.Event{
			Trigger: "chat", ID: id, Type: bot.EventMessageCreated,
			Conversation: bot.ConversationRef{ID: "c"}, Message: bot.MessageRef{Text: "hi"},
		}
	}
	deep := func(n int) string { // n levels of arrays inside a field of a valid event
		return `{"type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"},"x":` +
			strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	tests := []struct {
		name      string
		id        string
		body      string
		want      bot.Event // when wantField is ""
		wantField string
		wantErr   string // substring of the error
	}{
		{name: "design example", id: "msg_1", body: nativeBody, want: full},
		{name: "ticket.created with every field", id: "t", body: `{"type":"ticket.created","conversation":{"id":"c","subject":"s","url":"https://x/1","priority":"high","tags":["a","b"]},"customer":{"email":"e@x"},"message":{"text":"t"}}`,
			want: bot.Event{Trigger: "chat", ID: "t", Type: bot.EventTicketCreated, Conversation: bot.ConversationRef{ID: "c", Subject: "s", URL: "https://x/1", Priority: "high", Tags: []string{"a", "b"}}, Customer: bot.Customer{Email: "e@x"}, Message: bot.MessageRef{Text: "t"}}},
		{name: "id from the body", body: `{"id":"b-1","type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"}}`, want: minimal("b-1")},
		{name: "header id wins over the body", id: "h-1", body: `{"id":"b-1","type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"}}`, want: minimal("h-1")},
		{name: "id from the body hash", body: event(`{"id":"c"}`, `{"text":"hi"}`), want: minimal(triggers.BodyID([]byte(event(`{"id":"c"}`, `{"text":"hi"}`))))},
		{name: "unknown fields ignored", id: "x", body: `{"type":"message.created","conversation":{"id":"c","extra":1},"message":{"text":"hi"},"extra":{"a":[1,2]}}`, want: minimal("x")},
		{name: "escapes decoded", id: "x", body: event(`{"id":"c"}`, `{"text":"h\u0069"}`), want: minimal("x")},
		{name: "brackets inside strings do not nest", id: "x", body: `{"type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"},"x":"` + strings.Repeat("[{", 100) + `"}`, want: minimal("x")},
		{name: "nesting at the limit", id: "x", body: deep(triggers.MaxJSONDepth - 1), want: minimal("x")},

		{name: "missing type", body: `{"conversation":{"id":"c"},"message":{"text":"hi"}}`, wantField: "type", wantErr: `type: must be "ticket.created" or "message.created"`},
		{name: "missing conversation", body: `{"type":"message.created","message":{"text":"hi"}}`, wantField: "conversation.id", wantErr: "conversation.id: required"},
		{name: "blank conversation id", body: event(`{"id":"  "}`, `{"text":"hi"}`), wantField: "conversation.id", wantErr: "conversation.id: required"},
		{name: "null conversation", body: event(`null`, `{"text":"hi"}`), wantField: "conversation.id"},
		{name: "missing message", body: `{"type":"message.created","conversation":{"id":"c"}}`, wantField: "message.text", wantErr: "message.text: required"},
		{name: "blank message text", body: event(`{"id":"c"}`, `{"text":"\n\t "}`), wantField: "message.text", wantErr: "message.text: required"},
		{name: "message text too long", body: event(`{"id":"c"}`, `{"text":"`+strings.Repeat("a", bot.MaxTextLen+1)+`"}`), wantField: "message.text", wantErr: "longer than"},
		{name: "conversation id too long", body: event(`{"id":"`+strings.Repeat("c", bot.MaxIDLen+1)+`"}`, `{"text":"hi"}`), wantField: "conversation.id"},
		{name: "header id too long", id: strings.Repeat("i", bot.MaxIDLen+1), body: event(`{"id":"c"}`, `{"text":"hi"}`), wantField: "id"},

		{name: "type is a number", body: `{"type":5,"conversation":{"id":"c"},"message":{"text":"hi"}}`, wantField: "type", wantErr: "type: must be a string, not number"},
		{name: "conversation is a string", body: event(`"c-42"`, `{"text":"hi"}`), wantField: "conversation", wantErr: "conversation: must be an object, not string"},
		{name: "conversation id is a number", body: event(`{"id":42}`, `{"text":"hi"}`), wantField: "conversation.id", wantErr: "conversation.id: must be a string, not number"},
		{name: "tags is a string", body: event(`{"id":"c","tags":"a"}`, `{"text":"hi"}`), wantField: "conversation.tags", wantErr: "must be an array, not string"},
		{name: "tag is a number", body: event(`{"id":"c","tags":[1]}`, `{"text":"hi"}`), wantField: "conversation.tags"},
		{name: "message text is a boolean", body: event(`{"id":"c"}`, `{"text":true}`), wantField: "message.text", wantErr: "message.text: must be a string, not bool"},
		{name: "customer is an array", body: `{"type":"message.created","conversation":{"id":"c"},"customer":[],"message":{"text":"hi"}}`, wantField: "customer", wantErr: "customer: must be an object, not array"},
		{name: "body id is a number", body: `{"id":7,"type":"message.created","conversation":{"id":"c"},"message":{"text":"hi"}}`, wantField: "id"},

		{name: "nested too deep", body: deep(triggers.MaxJSONDepth), wantField: "body", wantErr: "nested deeper than 64 levels"},
		{name: "nested far too deep", body: strings.Repeat("[", 100000), wantField: "body"},
		{name: "invalid UTF-8", body: event(`{"id":"c"}`, "{\"text\":\"caf\xe9\"}"), wantField: "body", wantErr: "body: not valid UTF-8"},
		{name: "trailing object", body: event(`{"id":"c"}`, `{"text":"hi"}`) + ` {}`, wantField: "body", wantErr: "invalid JSON"},
		{name: "trailing garbage", body: event(`{"id":"c"}`, `{"text":"hi"}`) + `x`, wantField: "body"},
		{name: "trailing white space is fine", id: "x", body: event(`{"id":"c"}`, `{"text":"hi"}`) + " \n", want: minimal("x")},
		{name: "truncated", body: nativeBody[:40], wantField: "body", wantErr: "invalid JSON"},
		{name: "array", body: `[` + nativeBody + `]`, wantField: "body", wantErr: "body: must be a JSON object"},
		{name: "string", body: `"hello"`, wantField: "body", wantErr: "must be a JSON object"},
		{name: "null", body: `null`, wantField: "body", wantErr: "must be a JSON object"},
		{name: "number", body: `42`, wantField: "body", wantErr: "must be a JSON object"},
		{name: "empty", body: ``, wantField: "body", wantErr: "body: empty"},
		{name: "white space", body: " \n\t", wantField: "body", wantErr: "body: empty"},
		{name: "form encoded", body: `type=message.created&text=hi`, wantField: "body", wantErr: "invalid JSON"},
		{name: "byte order mark", body: "\xef\xbb\xbf" + nativeBody, wantField: "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := triggers.ParseNative("chat", tt.id, []byte(tt.body))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ParseNative()=%v, want nil", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("ParseNative() mismatch (-want +got):\n%s", diff)
				}
				return
			}
			var ve *bot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseNative()=%v, want a *bot.ValidationError", err)
			}
			if got, want := ve.Field, tt.wantField; got != want {
				t.Fatalf("ParseNative() field=%q (%v), want %q", got, err, want)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseNative()=%q, want it to contain %q", err, tt.wantErr)
			}
			if len(err.Error()) > 500 {
				t.Fatalf("ParseNative() error is %d bytes long; want a short message", len(err.Error()))
			}
		})
	}
}

// A signed event of a type we do not handle is acknowledged and ignored
// (Standard Webhooks senders retry a 4xx for days), whatever else it holds:
// our own reply.created looped back, or a Svix-style envelope.
func TestParseNativeUnhandledType(t *testing.T) {
	for _, body := range []string{
		`{"type":"reply.created","conversation":{"id":"c"},"message":{"text":"hi"}}`,
		`{"type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{"id":"in_1"}}`,
	} {
		_, err := triggers.ParseNative("chat", "x", []byte(body))
		if !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("ParseNative(%s) = %v, want bot.ErrIgnored", body, err)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string // "" = accepted
	}{
		{name: "object", body: `{"a":[1,{"b":null}]}`},
		{name: "empty object", body: `{}`},
		{name: "leading white space", body: "\n {}"},
		{name: "escaped quote in string", body: `{"a":"\"[[[["}`},
		{name: "escaped backslash before quote", body: `{"a":"\\","b":[]}`},
		{name: "depth at the limit", body: strings.Repeat(`{"a":`, triggers.MaxJSONDepth) + `1` + strings.Repeat(`}`, triggers.MaxJSONDepth)},
		{name: "depth over the limit", body: strings.Repeat(`{"a":`, triggers.MaxJSONDepth+1) + `1` + strings.Repeat(`}`, triggers.MaxJSONDepth+1), wantErr: "body: JSON nested deeper than 64 levels"},
		{name: "array", body: `[]`, wantErr: "body: must be a JSON object"},
		{name: "empty", body: ``, wantErr: "body: empty"},
		{name: "invalid UTF-8 in a key", body: "{\"\xff\":1}", wantErr: "body: not valid UTF-8"},
		{name: "syntax error", body: `{"a":}`, wantErr: "body: invalid JSON at byte 6"},
		{name: "two values", body: `{}{}`, wantErr: "body: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := triggers.CheckJSON([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckJSON()=%v, want nil", err)
				}
				return
			}
			var ve *bot.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("CheckJSON()=%v, want a *bot.ValidationError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("CheckJSON()=%q, want it to start with %q", err, tt.wantErr)
			}
		})
	}
}

func TestBodyID(t *testing.T) {
	a, b := triggers.BodyID([]byte(`{"a":1}`)), triggers.BodyID([]byte(`{"a":2}`))
	if a == b {
		t.Fatalf("BodyID() is the same for different bodies: %q", a)
	}
	if got, want := triggers.BodyID([]byte(`{"a":1}`)), a; got != want {
		t.Fatalf("BodyID()=%q, want the stable %q", got, want)
	}
	if got, want := len(a), len("sha256:")+32; got != want {
		t.Fatalf("len(BodyID())=%d, want %d", got, want)
	}
}

func TestHeaderID(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		headers map[string]string
		want    string
	}{
		{name: "named header", header: "X-GitHub-Delivery", headers: map[string]string{"X-GitHub-Delivery": "g", "webhook-id": "w", "X-Request-Id": "r"}, want: "g"},
		{name: "webhook-id", header: "X-GitHub-Delivery", headers: map[string]string{"webhook-id": "w", "X-Request-Id": "r"}, want: "w"},
		{name: "X-Request-Id", headers: map[string]string{"X-Request-Id": "r"}, want: "r"},
		{name: "blank values skipped", header: "X-Id", headers: map[string]string{"X-Id": "  ", "X-Request-Id": " r "}, want: "r"},
		{name: "none", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(tt.headers)
			if got, want := triggers.HeaderID(r, tt.header), tt.want; got != want {
				t.Fatalf("HeaderID()=%q, want %q", got, want)
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	err := triggers.Unauthorized("missing header %s", "X-Sig")
	if !errors.Is(err, bot.ErrUnauthorized) {
		t.Fatalf("Unauthorized()=%v, want it to wrap bot.ErrUnauthorized", err)
	}
	if got, want := err.Error(), "missing header X-Sig: unauthorized"; got != want {
		t.Fatalf("Unauthorized()=%q, want %q", got, want)
	}
}
