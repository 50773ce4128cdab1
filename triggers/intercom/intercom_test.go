package intercom_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/intercom"
	"github.com/supportbot/supportbot/triggers/triggertest"
)

// body B of WEBHOOKS.md 0.2.
const vectorBody = `{"ticket_id":123,"subject":"Help","body":"My order is late"}`

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNew(t *testing.T, cfg triggers.Config) triggers.Trigger {
	t.Helper()
	tr, err := intercom.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func request(body []byte, sig string) *http.Request {
	return triggertest.Request("/hooks/ic", map[string]string{
		"Content-Type": "application/json", "User-Agent": "intercom-parrot-service-client/1.0", "X-Hub-Signature": sig,
	}, body)
}

// D5 of WEBHOOKS.md: secret my-client-secret, body B.
func TestVectorD5(t *testing.T) {
	const want = "sha1=ad5398351b028a3f437f47067d1a25b9ded19281"
	if got := intercom.Signature("my-client-secret", []byte(vectorBody)); got != want {
		t.Fatalf("Signature()=%s, want %s", got, want)
	}
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "my-client-secret"})
	if err := tr.Verify(request([]byte(vectorBody), want), []byte(vectorBody)); err != nil {
		t.Fatalf("Verify(D5)=%v", err)
	}
	// Hex is case-insensitive, the prefix too.
	if err := tr.Verify(request([]byte(vectorBody), strings.ToUpper(want)), []byte(vectorBody)); err != nil {
		t.Fatalf("Verify(upper-case D5)=%v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := mustRead(t, "conversation_user_created.json")
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "new-secret", Secrets: []string{"old-secret"}})
	good := intercom.Signature("new-secret", body)
	tests := []struct {
		name string
		sig  string
		body []byte
		ok   bool
	}{
		{name: "current secret", sig: good, body: body, ok: true},
		{name: "rotated-out secret still accepted", sig: intercom.Signature("old-secret", body), body: body, ok: true},
		{name: "missing header", sig: "", body: body},
		{name: "wrong secret", sig: intercom.Signature("other", body), body: body},
		{name: "tampered body", sig: good, body: append(append([]byte{}, body...), ' ')},
		{name: "sha256 prefix", sig: "sha256=" + strings.TrimPrefix(good, "sha1="), body: body},
		{name: "no prefix", sig: strings.TrimPrefix(good, "sha1="), body: body},
		{name: "truncated", sig: good[:20], body: body},
		{name: "base64 instead of hex", sig: "sha1=rVOYNRsCij9Df0cGfRolud7RkoE=", body: body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tr.Verify(request(tt.body, tt.sig), tt.body)
			triggertest.CheckAccepted(t, err, tt.ok)
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := intercom.New(triggers.Config{Name: "ic", Kind: intercom.Kind}); err == nil || err.Error() != "secret: required" {
		t.Fatalf("New() without secret = %v, want secret: required", err)
	}
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s"})
	if tr.Name() != "ic" || tr.Kind() != "intercom" {
		t.Fatalf("Name, Kind = %q, %q", tr.Name(), tr.Kind())
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s"})
	tests := []struct {
		fixture string
		want    bot.Event
	}{
		{
			fixture: "conversation_user_created.json",
			want: bot.Event{
				Trigger: "ic", ID: "notif_78c122d0-23ba-11e4-9464-79b01267cc2e", Type: bot.EventTicketCreated,
				Conversation: bot.ConversationRef{
					ID: "1911149811", Subject: "Login trouble", Priority: "priority", Tags: []string{"vip"},
					URL: "https://app.intercom.com/a/apps/a86dr8yl/conversations/1911149811",
				},
				Customer: bot.Customer{ID: "5bc8f7ae2d96695c18a", Name: "Ada Lovelace", Email: "ada@example.com"},
				Message:  bot.MessageRef{ID: "269650473", Text: "How do I reset my password?"},
			},
		},
		{
			fixture: "conversation_user_replied.json",
			want: bot.Event{
				Trigger: "ic", ID: "notif_a1e5f9c0-23bb-11e4-9464-79b01267cc2e", Type: bot.EventMessageCreated,
				Conversation: bot.ConversationRef{
					ID: "1911149811", Subject: "Login trouble",
					URL: "https://app.intercom.com/a/apps/a86dr8yl/conversations/1911149811",
				},
				Customer: bot.Customer{ID: "5bc8f7ae2d96695c18a", Name: "Ada Lovelace", Email: "ada@example.com"},
				Message:  bot.MessageRef{ID: "2202737122", Text: "The reset link says it has expired.\n\nWhat now?"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := mustRead(t, tt.fixture)
			got, err := tr.Parse(request(body, ""), body)
			if err != nil {
				t.Fatalf("Parse()=%v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFallbacks(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s"})
	created := string(mustRead(t, "conversation_user_created.json"))
	replied := string(mustRead(t, "conversation_user_replied.json"))

	// Without a notification id: the conversation and part ids.
	noID := strings.Replace(replied, `"id": "notif_a1e5f9c0-23bb-11e4-9464-79b01267cc2e",`, "", 1)
	ev, err := tr.Parse(request([]byte(noID), ""), []byte(noID))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.ID, "conversation:1911149811:part:2202737122"; got != want {
		t.Fatalf("id without notification id = %q, want %q", got, want)
	}
	// Numeric ids (older API versions) and the bare contacts array; the
	// author without an id falls back to the first contact.
	numeric := strings.Replace(created, `"id": "1911149811"`, `"id": 1911149811`, 1)
	numeric = strings.Replace(numeric, `"type": "user",
          "id": "5bc8f7ae2d96695c18a",`, `"type": "user",`, 1)
	numeric = strings.Replace(numeric, `"contacts": {
        "type": "contact.list",
        "contacts": [
          {"type": "contact", "id": "5bc8f7ae2d96695c18a", "external_id": "u-7"}
        ]
      }`, `"contacts": [{"type": "lead", "id": 42}]`, 1)
	ev, err = tr.Parse(request([]byte(numeric), ""), []byte(numeric))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Conversation.ID != "1911149811" || ev.Customer.ID != "42" {
		t.Fatalf("numeric ids: conversation %q, customer %q", ev.Conversation.ID, ev.Customer.ID)
	}
	// A lead's message is a customer's message too.
	lead := strings.Replace(replied, `"author": {"type": "user", "id": "5bc8f7ae2d96695c18a", "name": "Ada Lovelace", "email": "ada@example.com"},
            "attachments"`, `"author": {"type": "lead", "id": "77"},
            "attachments"`, 1)
	if ev, err := tr.Parse(request([]byte(lead), ""), []byte(lead)); err != nil || ev.Customer.ID != "77" {
		t.Fatalf("lead reply = %+v, %v", ev.Customer, err)
	}
}

func TestParseIgnored(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: intercom.Kind, AdminID: "814860"}})
	replied := string(mustRead(t, "conversation_user_replied.json"))
	created := string(mustRead(t, "conversation_user_created.json"))
	userAuthor := `"author": {"type": "user", "id": "5bc8f7ae2d96695c18a", "name": "Ada Lovelace", "email": "ada@example.com"},
            "attachments"`
	for name, body := range map[string]string{
		"our own reply (echo)": string(mustRead(t, "conversation_admin_replied.json")),
		"admin reply under a user topic": strings.Replace(replied, userAuthor, `"author": {"type": "admin", "id": "814860"},
            "attachments"`, 1),
		"bot part":   strings.Replace(replied, userAuthor, `"author": {"type": "bot", "id": "815309"}, "attachments"`, 1),
		"note":       strings.Replace(replied, `"part_type": "comment"`, `"part_type": "note"`, 1),
		"admin note": strings.Replace(replied, `"conversation.user.replied"`, `"conversation.admin.noted"`, 1),
		"assignment": strings.Replace(replied, `"conversation.user.replied"`, `"conversation.admin.assigned"`, 1),
		"ping":       `{"type":"notification_event","topic":"ping","id":"notif_1","data":{"item":{"type":"ping","message":"hi"}}}`,
		"image only": strings.Replace(replied, `"<p>The reset link says it has expired.</p><p>What now?</p>"`, `"<p><img src=\"https://example.com/x.png\"></p>"`, 1),
		"admin-started": strings.Replace(created, `"type": "user",
          "id": "5bc8f7ae2d96695c18a"`, `"type": "admin",
          "id": "814860"`, 1),
	} {
		if body == replied || body == created {
			t.Fatalf("%s: the fixture was not modified", name)
		}
		if _, err := tr.Parse(request([]byte(body), ""), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Errorf("%s: Parse()=%v, want ignored", name, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s"})
	replied := string(mustRead(t, "conversation_user_replied.json"))
	tests := []struct {
		name, body, field string
	}{
		{"not JSON", `{"topic":`, "body"},
		{"array", `[]`, "body"},
		{"no topic", `{"type":"notification_event","data":{}}`, "topic"},
		{"other envelope", `{"type":"event","topic":"conversation.user.created"}`, "type"},
		{"no item", `{"type":"notification_event","topic":"conversation.user.replied","data":{}}`, "data.item"},
		{"no conversation id", `{"topic":"conversation.user.created","data":{"item":{"type":"conversation","source":{"body":"hi","author":{"type":"user"}}}}}`, "data.item.id"},
		{"reply without parts", `{"topic":"conversation.user.replied","data":{"item":{"id":"1"}}}`, "data.item.conversation_parts"},
		{"id of the wrong type", strings.Replace(replied, `"id": "1911149811"`, `"id": {"x":1}`, 1), "body"},
		{"text too long", strings.Replace(replied, "What now?", strings.Repeat("a", bot.MaxTextLen+1), 1), "message.text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tr.Parse(request([]byte(tt.body), ""), []byte(tt.body))
			var ve *bot.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("Parse()=%v, want a validation error on %s", err, tt.field)
			}
		})
	}
}

func TestParseOwnership(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: intercom.Kind, AdminID: "814860"}})
	other := mustNew(t, triggers.Config{Name: "ic", Kind: intercom.Kind, Secret: "s",
		Reply: triggers.ReplyConfig{Kind: intercom.Kind, AdminID: "999"}})
	grace := "intercom:Grace Hopper"
	for _, tc := range []struct {
		name     string
		tr       triggers.Trigger
		body     string
		wantType string
		wantText string
		want     *bot.OwnerChange
	}{
		{"assigned", tr, string(mustRead(t, "conversation_admin_assigned.json")), bot.EventOwnerChanged, "",
			&bot.OwnerChange{State: bot.StateAgent, Actor: grace, Reason: bot.ReasonHelpdeskAssigned}},
		{"unassigned", tr, strings.NewReplacer(`"admin_assignee_id": 4242`, `"admin_assignee_id": null`,
			`"assigned_to": {
              "type": "admin",
              "id": "4242"
            }`, `"assigned_to": {"type": "nobody_admin", "id": null}`).Replace(string(mustRead(t, "conversation_admin_assigned.json"))),
			bot.EventOwnerChanged, "", &bot.OwnerChange{State: bot.StateBot, Actor: "intercom", Reason: bot.ReasonHelpdeskUnassigned}},
		{"closed", tr, string(mustRead(t, "conversation_admin_closed.json")), bot.EventOwnerChanged, "",
			&bot.OwnerChange{State: bot.StateResolved, Actor: grace, Reason: bot.ReasonHelpdeskResolved}},
		{"a teammate replies", other, string(mustRead(t, "conversation_admin_replied.json")), bot.EventOwnerChanged, "",
			&bot.OwnerChange{State: bot.StateAgent, Actor: "intercom:Support Bot", Reason: bot.ReasonHelpdeskReplied,
				Echo: "On the sign-in page, choose Forgot password."}},
		{"every part of a customer's reply", tr, string(mustRead(t, "conversation_user_replied_assigned.json")), bot.EventMessageCreated,
			"The reset link says it has expired.\nWhat now?",
			&bot.OwnerChange{State: bot.StateAgent, Actor: "intercom:admin 4242", Reason: bot.ReasonHelpdeskAssigned}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.body, "conversation") {
				t.Fatal("empty fixture")
			}
			ev, err := tc.tr.Parse(request([]byte(tc.body), ""), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.wantType || ev.Message.Text != tc.wantText || ev.Conversation.ID != "1911149811" {
				t.Fatalf("event = %+v", ev)
			}
			if diff := cmp.Diff(tc.want, ev.Owner); diff != "" {
				t.Fatalf("owner mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Assigned to the bot's own admin: no person.
	own := strings.ReplaceAll(string(mustRead(t, "conversation_admin_assigned.json")), "4242", "814860")
	if _, err := tr.Parse(request([]byte(own), ""), []byte(own)); !errors.Is(err, bot.ErrIgnored) {
		t.Fatalf("assigned to the bot's admin: %v, want ignored", err)
	}
}
