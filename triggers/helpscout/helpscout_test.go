package helpscout_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/helpscout"
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
	tr, err := helpscout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func request(body []byte, event, sig string) *http.Request {
	return triggertest.Request("/hooks/hs", map[string]string{
		"Content-Type": "application/json", helpscout.EventHeader: event, "X-HelpScout-Signature": sig,
	}, body)
}

// D4 of WEBHOOKS.md: secret my-secret-key (the key of Help Scout's own PHP
// example), body B.
func TestVectorD4(t *testing.T) {
	const want = "Br1YLfmFvsznJZXb8BslmD66Tmc="
	if got := helpscout.Signature("my-secret-key", []byte(vectorBody)); got != want {
		t.Fatalf("Signature()=%s, want %s", got, want)
	}
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "my-secret-key"})
	if err := tr.Verify(request([]byte(vectorBody), "convo.created", want), []byte(vectorBody)); err != nil {
		t.Fatalf("Verify(D4)=%v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := mustRead(t, "convo_created.json")
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "new-secret", Secrets: []string{"old-secret"}})
	good := helpscout.Signature("new-secret", body)
	tests := []struct {
		name string
		sig  string
		body []byte
		ok   bool
	}{
		{name: "current secret", sig: good, body: body, ok: true},
		{name: "rotated-out secret still accepted", sig: helpscout.Signature("old-secret", body), body: body, ok: true},
		{name: "unpadded base64", sig: strings.TrimRight(good, "="), body: body, ok: true},
		{name: "missing header", sig: "", body: body},
		{name: "wrong secret", sig: helpscout.Signature("other", body), body: body},
		{name: "tampered body", sig: good, body: append(append([]byte{}, body...), '\n')},
		{name: "hex instead of base64", sig: "06bd582df985bfccf32595dbf01b2598", body: body},
		{name: "lower-cased base64", sig: strings.ToLower(good), body: body},
		{name: "truncated", sig: good[:10], body: body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tr.Verify(request(tt.body, "convo.created", tt.sig), tt.body)
			triggertest.CheckAccepted(t, err, tt.ok)
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := helpscout.New(triggers.Config{Name: "hs", Kind: helpscout.Kind}); err == nil || err.Error() != "secret: required" {
		t.Fatalf("New() without secret = %v, want secret: required", err)
	}
	long := strings.Repeat("x", helpscout.MaxSecretLen+1)
	if _, err := helpscout.New(triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: long}); err == nil || !strings.HasPrefix(err.Error(), "secret:") {
		t.Fatalf("New() with a %d-character secret = %v, want a secret error", len(long), err)
	}
	mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: long[:helpscout.MaxSecretLen]})
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	if tr.Name() != "hs" || tr.Kind() != "helpscout" {
		t.Fatalf("Name, Kind = %q, %q", tr.Name(), tr.Kind())
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	ada := bot.Customer{ID: "472611012", Name: "Ada Lovelace", Email: "ada@example.com"}
	url := "https://secure.helpscout.net/conversation/2391938111/349/"
	tests := []struct {
		fixture, event string
		want           bot.Event
	}{
		{
			fixture: "convo_created.json", event: "convo.created",
			want: bot.Event{
				Trigger: "hs", ID: "conversation:2391938111:thread:2198262392", Type: bot.EventTicketCreated,
				Conversation: bot.ConversationRef{ID: "2391938111", Subject: "Login trouble", URL: url, Tags: []string{"vip"}},
				Customer:     ada,
				Message:      bot.MessageRef{ID: "2198262392", Text: "How do I reset my password?"},
			},
		},
		{
			fixture: "convo_customer_reply_created.json", event: "convo.customer.reply.created",
			want: bot.Event{
				Trigger: "hs", ID: "conversation:2391938111:thread:2198262511", Type: bot.EventMessageCreated,
				Conversation: bot.ConversationRef{ID: "2391938111", Subject: "Login trouble", URL: url},
				Customer:     ada,
				Message:      bot.MessageRef{ID: "2198262511", Text: "The reset link says it has expired.\n\nWhat now?"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			body := mustRead(t, tt.fixture)
			got, err := tr.Parse(request(body, tt.event, ""), body)
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
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	// The legacy shape: threads at the top level, customer instead of
	// primaryCustomer, tags as strings, firstName/lastName, no _links.
	legacy := `{"id":77,"number":5,"subject":"Refund","customer":{"id":9,"type":"customer","firstName":"Lin","lastName":"Lee","email":"lin@example.com"},
		"tags":["billing","vip"],
		"threads":[{"id":301,"type":"customer","state":"published","body":"Can I get a refund?","createdBy":{"id":9,"type":"customer"},"createdAt":"2024-01-01T00:00:00Z"}]}`
	ev, err := tr.Parse(request([]byte(legacy), "convo.created", ""), []byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Event{
		Trigger: "hs", ID: "conversation:77:thread:301", Type: bot.EventTicketCreated,
		Conversation: bot.ConversationRef{ID: "77", Subject: "Refund", URL: "https://secure.helpscout.net/conversation/77/5/", Tags: []string{"billing", "vip"}},
		Customer:     bot.Customer{ID: "9", Name: "Lin Lee", Email: "lin@example.com"},
		Message:      bot.MessageRef{ID: "301", Text: "Can I get a refund?"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("legacy shape mismatch (-want +got):\n%s", diff)
	}
	// A Beacon chat message written by the customer is answered.
	chat := `{"id":78,"_embedded":{"threads":[{"id":401,"type":"chat","body":"hello?","createdBy":{"id":9,"type":"customer"}}]}}`
	if ev, err := tr.Parse(request([]byte(chat), "convo.customer.reply.created", ""), []byte(chat)); err != nil || ev.Customer.ID != "9" {
		t.Fatalf("chat thread = %+v, %v", ev, err)
	}
}

func TestParseIgnored(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	created := string(mustRead(t, "convo_created.json"))
	reply := string(mustRead(t, "convo_customer_reply_created.json"))
	agent := string(mustRead(t, "convo_agent_reply_created.json"))
	tests := []struct {
		name, event, body string
	}{
		{"our own reply (echo), by event", "convo.agent.reply.created", agent},
		{"our own reply under a customer event", "convo.customer.reply.created", agent},
		{"note", "convo.note.created", reply},
		{"assignment", "convo.assigned", reply},
		{"tags changed", "convo.tags", reply},
		{"customer created", "customer.created", `{"id":1}`},
		{"started by an agent", "convo.created", strings.Replace(created, `"type": "customer",
        "status"`, `"type": "message",
        "status"`, 1)},
		{"customer thread written by an agent", "convo.created", strings.Replace(created, `"createdBy": {"id": 472611012, "type": "customer", "first": "Ada", "last": "Lovelace", "email": "ada@example.com"},
        "assignedTo"`, `"createdBy": {"id": 9, "type": "user"},
        "assignedTo"`, 1)},
		{"draft", "convo.created", strings.Replace(created, `"state": "published",
        "action"`, `"state": "draft",
        "action"`, 1)},
		{"attachment only", "convo.created", strings.Replace(created, `"<div>How do I reset my password?</div>"`, `"<div><img src=\"cid:1\"></div>"`, 1)},
		{"line items only", "convo.customer.reply.created", `{"id":1,"_embedded":{"threads":[{"id":2,"type":"lineitem"}]}}`},
		{"chat message by an agent", "convo.customer.reply.created", `{"id":1,"_embedded":{"threads":[{"id":2,"type":"chat","body":"hi","createdBy":{"id":9,"type":"user"}}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body == created && tt.event == "convo.created" {
				t.Fatal("the fixture was not modified")
			}
			if _, err := tr.Parse(request([]byte(tt.body), tt.event, ""), []byte(tt.body)); !errors.Is(err, bot.ErrIgnored) {
				t.Fatalf("Parse()=%v, want ignored", err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	created := string(mustRead(t, "convo_created.json"))
	tests := []struct {
		name, event, body, field string
	}{
		{"no event header", "", created, helpscout.EventHeader},
		{"not JSON", "convo.created", `{"id":`, "body"},
		{"array", "convo.created", `[]`, "body"},
		{"notification webhook", "convo.created", `{"url":"https://api.helpscout.net/v2/conversations/1"}`, "id"},
		{"no threads", "convo.created", `{"id":1}`, "_embedded.threads"},
		{"id of the wrong type", "convo.created", `{"id":{"a":1}}`, "body"},
		{"threads of the wrong type", "convo.created", `{"id":1,"threads":[1]}`, "threads"},
		{"text too long", "convo.created", strings.Replace(created, "How do I reset my password?</div>", strings.Repeat("a", bot.MaxTextLen+1)+"</div>", 1), "message.text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tr.Parse(request([]byte(tt.body), tt.event, ""), []byte(tt.body))
			var ve *bot.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("Parse()=%v, want a validation error on %s", err, tt.field)
			}
		})
	}
}

func TestParseOwnership(t *testing.T) {
	t.Parallel()
	tr := mustNew(t, triggers.Config{Name: "hs", Kind: helpscout.Kind, Secret: "s"})
	kj := "helpscout:Katherine Johnson"
	reply := string(mustRead(t, "convo_customer_reply_created.json"))
	for _, tc := range []struct {
		name, file, event string
		edit              func(string) string
		wantType          string
		want              *bot.OwnerChange
	}{
		{"assigned", "convo_assigned.json", helpscout.EventAssigned, nil, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateAgent, Actor: kj, Reason: bot.ReasonHelpdeskAssigned}},
		{"unassigned", "convo_agent_reply_created.json", helpscout.EventAssigned, nil, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateBot, Actor: "helpscout", Reason: bot.ReasonHelpdeskUnassigned}},
		{"closed", "convo_status_closed.json", helpscout.EventStatus, nil, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateResolved, Actor: kj, Reason: bot.ReasonHelpdeskResolved}},
		{"a person replies", "convo_agent_reply_person.json", helpscout.EventAgentReply, nil, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateAgent, Actor: kj, Reason: bot.ReasonHelpdeskReplied, Echo: "Hi Ada, I have reset the link for you."}},
		{"customer writes to an assigned conversation", "convo_customer_reply_created.json", helpscout.EventCustomerReply,
			func(s string) string {
				return strings.Replace(s, `"assignee": {"id": 9, "type": "user", "first": "Grace", "last": "Hopper", "email": "grace@example.com"}`,
					`"assignee": {"id": 12, "type": "user", "first": "Katherine", "last": "Johnson", "email": "katherine@example.com"}`, 1)
			}, bot.EventMessageCreated,
			&bot.OwnerChange{State: bot.StateAgent, Actor: kj, Reason: bot.ReasonHelpdeskAssigned}},
		{"customer writes to a conversation assigned to the bot's user", "convo_customer_reply_created.json", helpscout.EventCustomerReply,
			nil, bot.EventMessageCreated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := string(mustRead(t, tc.file))
			if tc.edit != nil {
				if body = tc.edit(body); body == reply {
					t.Fatal("fixture unchanged")
				}
			}
			ev, err := tr.Parse(request([]byte(body), tc.event, ""), []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.wantType || ev.Conversation.ID == "" || ev.ID == "" {
				t.Fatalf("event = %+v", ev)
			}
			if diff := cmp.Diff(tc.want, ev.Owner); diff != "" {
				t.Fatalf("owner mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// The bot's own reply (through the API), and an assignment to the
	// bot's user, are no signal.
	for name, tc := range map[string][2]string{
		"our reply":               {"convo_agent_reply_created.json", helpscout.EventAgentReply},
		"assigned to the bot":     {"convo_customer_reply_created.json", helpscout.EventAssigned},
		"active, nobody assigned": {"convo_agent_reply_created.json", helpscout.EventStatus},
	} {
		body := mustRead(t, tc[0])
		if _, err := tr.Parse(request(body, tc[1], ""), body); !errors.Is(err, bot.ErrIgnored) {
			t.Errorf("%s: err = %v, want ignored", name, err)
		}
	}
}
