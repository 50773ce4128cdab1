package triggers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/supportbot/supportbot/bot"
)

// nativeEvent is the native event format of DESIGN.md. An optional top-level
// "id" is accepted for senders that cannot set a header.
type nativeEvent struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Conversation struct {
		ID       string   `json:"id"`
		Subject  string   `json:"subject"`
		URL      string   `json:"url"`
		Priority string   `json:"priority"`
		Tags     []string `json:"tags"`
	} `json:"conversation"`
	Customer struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"customer"`
	Message struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"message"`
}

// MaxJSONDepth caps the nesting of accepted JSON bodies.
const MaxJSONDepth = 64

// ParseNative parses a body in the native event format. id is the event id
// from the transport (a header); when empty the body's "id" is used, and
// failing that a hash of the body, so that a byte-identical redelivery is
// still recognised as a duplicate.
func ParseNative(trigger, id string, body []byte) (bot.Event, error) {
	if err := CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var n nativeEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&n); err != nil {
		return bot.Event{}, jsonError(err)
	}
	if dec.More() {
		return bot.Event{}, bot.Invalid("body", "trailing data after the JSON object")
	}
	if n.Type != "" && n.Type != bot.EventTicketCreated && n.Type != bot.EventMessageCreated {
		// A signed event of a type we do not handle (a sender subscribed to
		// more than we need): acknowledged and left alone, since a 4xx makes
		// Standard Webhooks senders retry it for days.
		return bot.Event{}, fmt.Errorf("event type %q is not handled: %w", n.Type, bot.ErrIgnored)
	}
	ev := bot.Event{
		Trigger: trigger,
		ID:      cmpOr(id, n.ID),
		Type:    n.Type,
		Conversation: bot.ConversationRef{
			ID: n.Conversation.ID, Subject: n.Conversation.Subject, URL: n.Conversation.URL,
			Priority: n.Conversation.Priority, Tags: n.Conversation.Tags,
		},
		Customer: bot.Customer{ID: n.Customer.ID, Name: n.Customer.Name, Email: n.Customer.Email},
		Message:  bot.MessageRef{ID: n.Message.ID, Text: n.Message.Text},
	}
	if ev.ID == "" {
		ev.ID = BodyID(body)
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// BodyID derives an event id from the body bytes.
func BodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// CheckJSON rejects bodies that are not valid UTF-8 JSON objects or that nest
// deeper than MaxJSONDepth, before any decoder allocates for them.
func CheckJSON(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return bot.Invalid("body", "empty")
	}
	if !utf8.Valid(body) {
		return bot.Invalid("body", "not valid UTF-8")
	}
	if !json.Valid(body) {
		var v any
		return jsonError(json.Unmarshal(body, &v))
	}
	depth, max := 0, 0
	inStr, esc := false, false
	for _, c := range body {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			if depth > max {
				max = depth
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	if max > MaxJSONDepth {
		return bot.Invalid("body", "JSON nested deeper than %d levels", MaxJSONDepth)
	}
	if t := bytes.TrimSpace(body); t[0] != '{' {
		return bot.Invalid("body", "must be a JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return bot.Invalid("body", "invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return bot.Invalid(field, "must be %s, not %s", jsonKind(te.Type), te.Value)
	case err != nil:
		return bot.Invalid("body", "invalid JSON: %s", err.Error())
	}
	return nil
}

// jsonKind names the JSON value that a Go type decodes from, so that an
// error reads "must be an object" rather than printing an anonymous struct.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// HeaderID returns the event id carried by the request's headers: the named
// header, else webhook-id, else X-Request-Id.
func HeaderID(r *http.Request, name string) string {
	for _, h := range []string{name, "webhook-id", "X-Request-Id"} {
		if h == "" {
			continue
		}
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			return v
		}
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Unauthorized wraps a reason as an error that wraps bot.ErrUnauthorized.
func Unauthorized(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), bot.ErrUnauthorized)
}
