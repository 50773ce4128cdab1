package zendesk_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/triggertest"
	"github.com/supportbot/supportbot/triggers/zendesk"
)

// testSecret is Zendesk's static secret for test sends (V8 of WEBHOOKS.md),
// used verbatim as the key.
const testSecret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="

// D3 and D3b of WEBHOOKS.md: base64(HMAC-SHA256(secret, timestamp + body)).
func TestVectors(t *testing.T) {
	ts := time.Date(2021, 3, 25, 5, 9, 27, 0, time.UTC)
	tests := []struct {
		name, body, want string
	}{
		{"D3", `{"ticket_id":123,"subject":"Help","body":"My order is late"}`, "/37RkGO3l1HtEmfYt1jUc9+pBwlvy3fWsy37nBsgIKA="},
		{"D3b", `{"event":"ticket.updated","id":123}`, "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotTS, sig := zendesk.Signature(testSecret, []byte(tt.body), ts)
			if gotTS != "2021-03-25T05:09:27Z" || sig != tt.want {
				t.Fatalf("Signature() = %s %s, want 2021-03-25T05:09:27Z %s", gotTS, sig, tt.want)
			}
			// The verifier accepts the vector's headers at the vector's time.
			tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: testSecret})
			tr.Now = func() time.Time { return ts.Add(time.Minute) }
			r := request(tt.body, map[string]string{zendesk.TimestampHeader: gotTS, zendesk.SignatureHeader: tt.want})
			if err := tr.Verify(r, []byte(tt.body)); err != nil {
				t.Fatalf("Verify(vector) = %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"ticket_id":123,"subject":"Help","body":"My order is late"}`)
	now := time.Date(2021, 3, 25, 5, 9, 27, 0, time.UTC)
	tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "new-secret", Secrets: []string{"old-secret"}})
	tr.Now = func() time.Time { return now }
	signed := func(secret string, at time.Time, b []byte) *http.Request {
		ts, sig := zendesk.Signature(secret, b, at)
		return request(string(b), map[string]string{zendesk.TimestampHeader: ts, zendesk.SignatureHeader: sig})
	}
	tests := []struct {
		name string
		r    *http.Request
		body []byte
		ok   bool
	}{
		{"current secret", signed("new-secret", now, body), body, true},
		{"rotated-out secret still accepted", signed("old-secret", now, body), body, true},
		{"5 minutes old", signed("new-secret", now.Add(-5*time.Minute), body), body, true},
		{"wrong secret", signed("other", now, body), body, false},
		{"tampered body", signed("new-secret", now, body), append([]byte(nil), append(body, ' ')...), false},
		{"timestamp too old", signed("new-secret", now.Add(-5*time.Minute-time.Second), body), body, false},
		{"timestamp too new", signed("new-secret", now.Add(6*time.Minute), body), body, false},
		{"no headers", request(string(body), nil), body, false},
		{"no timestamp", request(string(body), map[string]string{zendesk.SignatureHeader: "x"}), body, false},
		{"unix timestamp instead of the signed one", func() *http.Request {
			r := signed("new-secret", now, body)
			r.Header.Set(zendesk.TimestampHeader, "1616648967")
			return r
		}(), body, false},
		{"the right MAC in hex, not base64", request(string(body), map[string]string{zendesk.TimestampHeader: "2021-03-25T05:09:27Z",
			zendesk.SignatureHeader: hex.EncodeToString(mac("new-secret", "2021-03-25T05:09:27Z", body))}), body, false},
		{"unpadded base64", request(string(body), map[string]string{zendesk.TimestampHeader: "2021-03-25T05:09:27Z",
			zendesk.SignatureHeader: base64.RawStdEncoding.EncodeToString(mac("new-secret", "2021-03-25T05:09:27Z", body))}), body, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tr.Verify(tt.r, tt.body)
			triggertest.CheckAccepted(t, err, tt.ok)
		})
	}
	if _, err := zendesk.New(triggers.Config{Name: "zd", Kind: zendesk.Kind}); err == nil || err.Error() != "secret: required" {
		t.Fatalf("New without secret = %v, want secret: required", err)
	}
}

func TestParseTemplate(t *testing.T) {
	fixture := mustRead(t, "testdata/trigger_comment.json")
	tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: "zendesk", BaseURL: "https://example.zendesk.com", Email: "bot@example.com"}})
	ev, err := tr.Parse(request(string(fixture), map[string]string{zendesk.InvocationHeader: "8350205582"}), fixture)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Event{
		Trigger: "zd", ID: "8350205582", Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: "35436", Subject: "Login trouble", URL: "https://example.zendesk.com/agent/tickets/35436",
			Priority: "normal", Tags: []string{"web_form", "vip"}},
		Customer: bot.Customer{ID: "1234567", Name: "Ada Lovelace", Email: "ada@example.com"},
		Message:  bot.MessageRef{Text: "How do I reset my password?"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("event mismatch (-want +got):\n%s", diff)
	}

	// Without the invocation header the id is stable for the same body.
	ev1, err1 := tr.Parse(request(string(fixture), nil), fixture)
	ev2, err2 := tr.Parse(request(string(fixture), nil), fixture)
	if err1 != nil || err2 != nil || ev1.ID != ev2.ID || !strings.HasPrefix(ev1.ID, "ticket:35436:sha256:") {
		t.Fatalf("ids without invocation header = %q, %q (%v, %v)", ev1.ID, ev2.ID, err1, err2)
	}

	// A link without the scheme, numbers for ids, "-" for no priority.
	other := replace(t, string(fixture), `"https://example.zendesk.com/agent/tickets/35436"`, `"example.zendesk.com/agent/tickets/35436"`)
	other = replace(t, other, `"id":"35436"`, `"id":35436`)
	other = replace(t, other, `"Normal"`, `"-"`)
	ev, err = tr.Parse(request(other, nil), []byte(other))
	if err != nil || ev.Conversation.URL != "https://example.zendesk.com/agent/tickets/35436" || ev.Conversation.ID != "35436" || ev.Conversation.Priority != "" {
		t.Fatalf("variant = %+v, %v", ev.Conversation, err)
	}

	for name, body := range map[string]string{
		"agent's reply":           replace(t, string(fixture), `"role":"End-user"`, `"role":"Agent"`),
		"admin's reply":           replace(t, string(fixture), `"role":"End-user"`, `"role":"Admin"`),
		"custom agent role":       replace(t, string(fixture), `"role":"End-user"`, `"role":"Light agent"`),
		"the API user, our reply": replace(t, string(fixture), `"email":"ada@example.com","role"`, `"email":"BOT@example.com","role"`),
	} {
		if _, err := tr.Parse(request(body, nil), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
	for _, role := range []string{"end-user", "End user", "end_user", "enduser"} {
		body := replace(t, string(fixture), `"role":"End-user"`, `"role":"`+role+`"`)
		if _, err := tr.Parse(request(body, nil), []byte(body)); err != nil {
			t.Fatalf("role %q: %v, want accepted", role, err)
		}
	}
	invalid := map[string]struct{ body, field string }{
		"no role":        {replace(t, string(fixture), `"role":"End-user"`, `"role":""`), "author.role"},
		"no ticket id":   {replace(t, string(fixture), `"id":"35436"`, `"id":""`), "ticket.id"},
		"no comment":     {replace(t, string(fixture), `"How do I reset my password?"`, `"  "`), "message.text"},
		"not our shape":  {`{"hello":"world"}`, "ticket"},
		"tags of a map":  {replace(t, string(fixture), `"web_form vip"`, `{"a":1}`), "body"},
		"id of a bool":   {replace(t, string(fixture), `"id":"35436"`, `"id":true`), "body"},
		"not an object":  {`["a"]`, "body"},
		"not even JSON":  {`{"ticket":`, "body"},
		"long ticket id": {replace(t, string(fixture), `"id":"35436"`, `"id":"`+strings.Repeat("9", bot.MaxIDLen+1)+`"`), "conversation.id"},
	}
	for name, tt := range invalid {
		var ve *bot.ValidationError
		if _, err := tr.Parse(request(tt.body, nil), []byte(tt.body)); !errors.As(err, &ve) || ve.Field != tt.field {
			t.Fatalf("%s: err = %v, want %s invalid", name, err, tt.field)
		}
	}
}

func TestParseEvents(t *testing.T) {
	tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: "zendesk", BaseURL: "https://example.zendesk.com/"}})
	comment := mustRead(t, "testdata/event_comment_added.json")
	ev, err := tr.Parse(request(string(comment), map[string]string{zendesk.InvocationHeader: "ignored-in-favour-of-the-event-id"}), comment)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Event{
		Trigger: "zd", ID: "ticket:5158:comment:9876543210", Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: "5158", Subject: "Cannot login to mobile app", URL: "https://example.zendesk.com/agent/tickets/5158",
			Priority: "high", Tags: []string{"mobile", "login"}},
		Customer: bot.Customer{ID: "1234567", Name: "Ada Lovelace"},
		Message:  bot.MessageRef{ID: "9876543210", Text: "How do I reset my password?"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("comment_added mismatch (-want +got):\n%s", diff)
	}
	noID := replace(t, string(comment), `"id":"d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52",`, ``)
	if ev, err := tr.Parse(request(noID, nil), []byte(noID)); err != nil || ev.ID != "ticket:5158:comment:9876543210" {
		t.Fatalf("without event id: %q, %v", ev.ID, err)
	}

	created := mustRead(t, "testdata/event_ticket_created.json")
	ev, err = tr.Parse(request(string(created), nil), created)
	if err != nil {
		t.Fatal(err)
	}
	want = bot.Event{
		Trigger: "zd", ID: "01HNXXXX-CTEXAMPLE", Type: bot.EventTicketCreated,
		Conversation: bot.ConversationRef{ID: "35436", Subject: "Refund for order 1001", URL: "https://example.zendesk.com/agent/tickets/35436", Priority: "normal"},
		Customer:     bot.Customer{ID: "1234567"},
		Message:      bot.MessageRef{Text: "Where is my refund for order 1001?"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("ticket.created mismatch (-want +got):\n%s", diff)
	}
	bySelf := replace(t, string(created), `"requester_id":"1234567"`, `"requester_id":"1234567","submitter_id":"1234567"`)
	if _, err := tr.Parse(request(bySelf, nil), []byte(bySelf)); err != nil {
		t.Fatalf("ticket submitted by its requester: %v", err)
	}

	for name, body := range map[string]string{
		"staff comment, our own reply": replace(t, string(comment), `"is_staff":false`, `"is_staff":true`),
		"private comment":              replace(t, string(comment), `"is_public":true`, `"is_public":false`),
		"comment without is_public":    replace(t, string(comment), `"is_public":true,`, ``),
		"status change":                replace(t, string(comment), "ticket.comment_added", "ticket.status_changed"),
		"user event":                   `{"type":"zen:event-type:user.created","detail":{"id":"1"}}`,
		"private ticket":               replace(t, string(created), `"is_public":true`, `"is_public":false`),
		"ticket opened by an agent":    replace(t, string(created), `"requester_id":"1234567"`, `"requester_id":"1234567","submitter_id":"900"`),
	} {
		if _, err := tr.Parse(request(body, nil), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
	invalid := map[string]struct{ body, field string }{
		"no detail":      {`{"type":"zen:event-type:ticket.comment_added","id":"e1","event":{}}`, "detail.id"},
		"no comment":     {`{"type":"zen:event-type:ticket.comment_added","id":"e1","detail":{"id":"1"},"event":{}}`, "event.comment"},
		"empty body":     {replace(t, string(comment), `"How do I reset my password?"`, `""`), "message.text"},
		"no description": {replace(t, string(created), `"Where is my refund for order 1001?"`, `""`), "message.text"},
		"bad id type":    {replace(t, string(comment), `"id":"5158"`, `"id":{}`), "body"},
	}
	for name, tt := range invalid {
		var ve *bot.ValidationError
		if _, err := tr.Parse(request(tt.body, nil), []byte(tt.body)); !errors.As(err, &ve) || ve.Field != tt.field {
			t.Fatalf("%s: err = %v, want %s invalid", name, err, tt.field)
		}
	}

	// Without Zendesk reply settings there is no ticket link to build.
	bare := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s", Reply: triggers.ReplyConfig{Kind: "webhook", URL: "https://example.com"}})
	if ev, err := bare.Parse(request(string(comment), nil), comment); err != nil || ev.Conversation.URL != "" {
		t.Fatalf("webhook reply: url %q, %v", ev.Conversation.URL, err)
	}
}

func mustNew(t *testing.T, cfg triggers.Config) *zendesk.Trigger {
	t.Helper()
	tr, err := zendesk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*zendesk.Trigger)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func request(body string, headers map[string]string) *http.Request {
	r := triggertest.Request("/hooks/zd", headers, []byte(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// replace replaces old in s once, failing if the fixture lacks it (so a
// changed fixture cannot turn a case into a no-op).
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestParseOwnership(t *testing.T) {
	tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: "zendesk", BaseURL: "https://example.zendesk.com", Email: "bot@example.com"}})
	parse := func(body string) (bot.Event, error) {
		t.Helper()
		return tr.Parse(request(body, nil), []byte(body))
	}
	assigned := string(mustRead(t, "testdata/event_agent_assignment_changed.json"))
	solved := string(mustRead(t, "testdata/event_status_changed.json"))
	agentUpdate := string(mustRead(t, "testdata/trigger_agent_update.json"))
	comment := string(mustRead(t, "testdata/event_comment_added.json"))
	customer := string(mustRead(t, "testdata/trigger_comment.json"))
	for _, tc := range []struct {
		name, body string
		wantType   string
		want       *bot.OwnerChange
	}{
		{"assignment event", assigned, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk", Reason: bot.ReasonHelpdeskAssigned}},
		{"unassignment event", replace(t, assigned, `"assignee_id":"235324"`, `"assignee_id":null`), bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateBot, Actor: "zendesk", Reason: bot.ReasonHelpdeskUnassigned}},
		{"solved event", solved, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateResolved, Actor: "zendesk", Reason: bot.ReasonHelpdeskResolved}},
		{"comment on an assigned ticket", replace(t, comment, `"assignee_id":null`, `"assignee_id":"235324"`), bot.EventMessageCreated,
			&bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk", Reason: bot.ReasonHelpdeskAssigned}},
		{"comment on an unassigned ticket", comment, bot.EventMessageCreated, nil},
		{"agent assigns in a trigger body", agentUpdate, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk:Grace Hopper", Reason: bot.ReasonHelpdeskAssigned}},
		{"agent solves in a trigger body", replace(t, agentUpdate, `"status":"Open"`, `"status":"Solved"`), bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateResolved, Actor: "zendesk:grace@example.com", Reason: bot.ReasonHelpdeskResolved}},
		{"agent unassigns in a trigger body", replace(t, agentUpdate, `"assignee":{"id":"235324","name":"Grace Hopper","email":"grace@example.com"}`,
			`"assignee":{"id":"","name":"","email":""}`), bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateBot, Actor: "zendesk:grace@example.com", Reason: bot.ReasonHelpdeskUnassigned}},
		{"customer writes on an assigned ticket", replace(t, customer, `"requester":`,
			`"assignee":{"id":"235324","name":"Grace Hopper","email":"grace@example.com"},"requester":`), bot.EventMessageCreated,
			&bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk:Grace Hopper", Reason: bot.ReasonHelpdeskAssigned}},
		{"customer writes on a ticket assigned to the bot's seat", replace(t, customer, `"requester":`,
			`"assignee":{"id":"9","name":"Support Bot","email":"BOT@example.com"},"requester":`), bot.EventMessageCreated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := parse(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.wantType || ev.Conversation.ID == "" {
				t.Fatalf("event = %+v", ev)
			}
			if diff := cmp.Diff(tc.want, ev.Owner); diff != "" {
				t.Fatalf("owner mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// What says nothing about the owner, and the bot's own updates, are ignored.
	for name, body := range map[string]string{
		"unassigned, status pending": replace(t, replace(t, solved, `"status":"SOLVED"`, `"status":"PENDING"`),
			`"assignee_id":"235324"`, `"assignee_id":null`),
		"agent update without ownership placeholders": replace(t, replace(t, agentUpdate, `,"status":"Open"`, ``),
			`"assignee":{"id":"235324","name":"Grace Hopper","email":"grace@example.com"},`, ``),
		"update by the API user": replace(t, agentUpdate, `"email":"grace@example.com","role"`, `"email":"bot@example.com","role"`),
	} {
		if _, err := parse(body); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
}

// The same comment under a new event id (Zendesk may invoke a webhook more
// than once for one action) is the same event.
func TestCommentDedupe(t *testing.T) {
	tr := mustNew(t, triggers.Config{Name: "zd", Kind: zendesk.Kind, Secret: "s"})
	comment := string(mustRead(t, "testdata/event_comment_added.json"))
	again := replace(t, comment, `"id":"d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52"`, `"id":"0b1e2c3d-0000-4c2e-a1b9-8e4f39c71d99"`)
	ev1, err1 := tr.Parse(request(comment, nil), []byte(comment))
	ev2, err2 := tr.Parse(request(again, nil), []byte(again))
	if err1 != nil || err2 != nil || ev1.ID != ev2.ID {
		t.Fatalf("ids = %q, %q (%v, %v), want one id for one comment", ev1.ID, ev2.ID, err1, err2)
	}
}
