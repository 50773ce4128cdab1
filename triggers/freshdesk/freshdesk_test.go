package freshdesk_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/freshdesk"
	"github.com/supportbot/supportbot/triggers/triggertest"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string
	}{
		{"token", triggers.Config{Token: "t"}, ""},
		{"secret as the token", triggers.Config{Secret: "t"}, ""},
		{"basic", triggers.Config{Username: "fd", Password: "p"}, ""},
		{"basic with the password in secrets", triggers.Config{Username: "fd", Secrets: []string{"p"}}, ""},
		{"both", triggers.Config{Token: "t", Username: "fd", Password: "p"}, ""},
		{"nothing", triggers.Config{}, "token: required (or username and password)"},
		{"password alone", triggers.Config{Password: "p"}, "username: required with password"},
		{"username alone", triggers.Config{Username: "fd"}, "password: required with username"},
		{"colon in username", triggers.Config{Username: "f:d", Password: "p"}, "username: must not contain ':'"},
		{"bad header", triggers.Config{Token: "t", TokenHeader: "X Bad"}, `token_header: "X Bad" is not a header name`},
		{"token with spaces", triggers.Config{Token: " t"}, "token: must not begin or end with white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "fd", freshdesk.Kind
			_, err := freshdesk.New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New() = %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("New() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{}`)
	withToken := func(h, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(h, v) } }
	withBasic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	both := func(fs ...func(*http.Request)) func(*http.Request) {
		return func(r *http.Request) {
			for _, f := range fs {
				f(r)
			}
		}
	}
	tests := []struct {
		name string
		cfg  triggers.Config
		set  func(*http.Request)
		ok   bool
	}{
		{"token in the default header", triggers.Config{Token: "tok"}, withToken("X-Supportbot-Token", "tok"), true},
		{"rotated token in secrets", triggers.Config{Token: "new", Secrets: []string{"old"}}, withToken("X-Supportbot-Token", "old"), true},
		{"token in a named header", triggers.Config{Token: "tok", TokenHeader: "X-Freshdesk-Key"}, withToken("X-Freshdesk-Key", "tok"), true},
		{"wrong token", triggers.Config{Token: "tok"}, withToken("X-Supportbot-Token", "tok2"), false},
		{"token prefix", triggers.Config{Token: "tok"}, withToken("X-Supportbot-Token", "to"), false},
		{"token in another header", triggers.Config{Token: "tok", TokenHeader: "X-Freshdesk-Key"}, withToken("X-Supportbot-Token", "tok"), false},
		{"no token", triggers.Config{Token: "tok"}, func(*http.Request) {}, false},
		{"basic", triggers.Config{Username: "fd", Password: "pw"}, withBasic("fd", "pw"), true},
		{"rotated password in secrets", triggers.Config{Username: "fd", Password: "new", Secret: "old"}, withBasic("fd", "old"), true},
		{"wrong password", triggers.Config{Username: "fd", Password: "pw"}, withBasic("fd", "pw2"), false},
		{"wrong user", triggers.Config{Username: "fd", Password: "pw"}, withBasic("fe", "pw"), false},
		{"user and password shifted across the colon", triggers.Config{Username: "fd", Password: "pw"}, withBasic("fd:pw", ""), false},
		{"no basic", triggers.Config{Username: "fd", Password: "pw"}, func(*http.Request) {}, false},
		{"bearer instead of basic", triggers.Config{Username: "fd", Password: "pw"}, withToken("Authorization", "Bearer pw"), false},
		{"both present", triggers.Config{Token: "tok", Username: "fd", Password: "pw"}, both(withToken("X-Supportbot-Token", "tok"), withBasic("fd", "pw")), true},
		{"both configured, basic missing", triggers.Config{Token: "tok", Username: "fd", Password: "pw"}, withToken("X-Supportbot-Token", "tok"), false},
		{"both configured, token missing", triggers.Config{Token: "tok", Username: "fd", Password: "pw"}, withBasic("fd", "pw"), false},
		{"basic configured, secrets are no tokens", triggers.Config{Username: "fd", Password: "pw", Secret: "old"}, both(withToken("X-Supportbot-Token", "old"), withBasic("fd", "x")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Kind = "fd", freshdesk.Kind
			tr, err := freshdesk.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := request(string(body))
			tt.set(r)
			err = tr.Verify(r, body)
			triggertest.CheckAccepted(t, err, tt.ok)
		})
	}
}

func TestParse(t *testing.T) {
	tr, err := freshdesk.New(triggers.Config{Name: "fd", Kind: freshdesk.Kind, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	reply := mustRead(t, "testdata/reply_sent.json")
	ev, err := tr.Parse(request(string(reply)), reply)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Event{
		Trigger: "fd", ID: ev.ID, Type: bot.EventMessageCreated,
		Conversation: bot.ConversationRef{ID: "11", Subject: "Login trouble", URL: "https://acme.freshdesk.com/helpdesk/tickets/11",
			Priority: "medium", Tags: []string{"login", "web portal"}},
		Customer: bot.Customer{ID: "48000123456", Name: "Requester Bob", Email: "requester-bob@example.com"},
		Message:  bot.MessageRef{Text: "How do I reset my password?"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("reply mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(ev.ID, "ticket:11:sha256:") {
		t.Fatalf("id = %q, want ticket:11:sha256:...", ev.ID)
	}
	again, _ := tr.Parse(request(string(reply)), reply)
	next := replace(t, string(reply), "How do I reset my password?", "And my username?")
	other, _ := tr.Parse(request(next), []byte(next))
	if again.ID != ev.ID || other.ID == ev.ID {
		t.Fatalf("ids: redelivery %q, next message %q, first %q", again.ID, other.ID, ev.ID)
	}

	created := mustRead(t, "testdata/ticket_created.json")
	ev, err = tr.Parse(request(string(created)), created)
	if err != nil {
		t.Fatal(err)
	}
	want = bot.Event{
		Trigger: "fd", ID: ev.ID, Type: bot.EventTicketCreated,
		Conversation: bot.ConversationRef{ID: "12", Subject: "Refund for order 1001", URL: "https://acme.freshdesk.com/helpdesk/tickets/12", Priority: "urgent"},
		Customer:     bot.Customer{ID: "48000123456", Name: "Requester Bob", Email: "requester-bob@example.com"},
		Message:      bot.MessageRef{Text: "Where is my refund?\nOrder & invoice 1001"},
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("created mismatch (-want +got):\n%s", diff)
	}

	// Bare numbers, as a template without quotes renders them; an API
	// priority number; a quote with no text before it is kept.
	bare := replace(t, string(reply), `"id":"11"`, `"id":11`)
	bare = replace(t, bare, `"Medium"`, `3`)
	bare = replace(t, bare, `<div>How do I reset my password?</div>`, ``)
	ev, err = tr.Parse(request(bare), []byte(bare))
	if err != nil || ev.Conversation.ID != "11" || ev.Conversation.Priority != "high" || ev.Message.Text != "On Mon, 3 Mar, Support wrote:\nWe are looking into it." {
		t.Fatalf("bare = %+v, %v", ev, err)
	}

	for name, body := range map[string]string{
		"agent's reply, our echo": replace(t, string(reply), `"performer":"requester"`, `"performer":"agent"`),
		"system":                  replace(t, string(reply), `"performer":"requester"`, `"performer":"System"`),
		"private note":            replace(t, string(reply), `{reply_sent:sent}`, `{note_type:private}`),
		"public note":             replace(t, string(reply), `{reply_sent:sent}`, `{note_type:public}`),
		"status change":           replace(t, string(reply), `{reply_sent:sent}`, `{status:{from:2,to:3}}`),
		"feedback":                replace(t, string(reply), `{reply_sent:sent}`, `{customer_feedback:received}`),
		"ticket deleted":          replace(t, string(reply), `{reply_sent:sent}`, `{ticket_action:deleted}`),
	} {
		if _, err := tr.Parse(request(body), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Fatalf("%s: err = %v, want ignored", name, err)
		}
	}
	for _, performer := range []string{"Requester", "customer", " contact "} {
		body := replace(t, string(reply), `"performer":"requester"`, `"performer":"`+performer+`"`)
		if _, err := tr.Parse(request(body), []byte(body)); err != nil {
			t.Fatalf("performer %q: %v", performer, err)
		}
	}
	invalid := map[string]struct{ body, field string }{
		"no performer":        {replace(t, string(reply), `,"performer":"requester"`, ``), "performer"},
		"no triggered event":  {replace(t, string(reply), `"triggered_event":"{reply_sent:sent}",`, ``), "triggered_event"},
		"empty event":         {replace(t, string(reply), `{reply_sent:sent}`, ``), "triggered_event"},
		"no ticket id":        {replace(t, string(reply), `"id":"11"`, `"id":""`), "ticket.id"},
		"no ticket":           {`{"triggered_event":"{reply_sent:sent}","performer":"requester"}`, "ticket"},
		"empty reply":         {replace(t, string(reply), `"latest_public_comment":"<div>How`, `"latest_public_comment":"","x":"<div>How`), "message.text"},
		"only markup":         {replace(t, string(created), `<div>Where is my refund?<br>Order &amp; invoice 1001</div>`, `<div><br></div>`), "message.text"},
		"tags of a number":    {replace(t, string(reply), `"login, web portal"`, `7`), "body"},
		"id of an object":     {replace(t, string(reply), `"id":"11"`, `"id":{}`), "body"},
		"not an object":       {`"x"`, "body"},
		"invalid UTF-8":       {"{\"ticket\":\"\xff\"}", "body"},
		"trailing garbage":    {string(reply) + "}", "body"},
		"event of a number":   {replace(t, string(reply), `"{reply_sent:sent}"`, `1`), "body"},
		"performer of a list": {replace(t, string(reply), `"performer":"requester"`, `"performer":["requester"]`), "body"},
	}
	for name, tt := range invalid {
		var ve *bot.ValidationError
		if _, err := tr.Parse(request(tt.body), []byte(tt.body)); !errors.As(err, &ve) || ve.Field != tt.field {
			t.Fatalf("%s: err = %v, want %s invalid", name, err, tt.field)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func request(body string) *http.Request {
	return triggertest.Request("/hooks/fd", map[string]string{"Content-Type": "application/json"}, []byte(body))
}

// replace replaces old in s once, failing if the fixture lacks it.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestParseOwnership(t *testing.T) {
	tr, err := freshdesk.New(triggers.Config{Name: "fd", Kind: freshdesk.Kind, Token: "t",
		Reply: triggers.ReplyConfig{Kind: freshdesk.Kind, Email: "Bot@Acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	assigned := string(mustRead(t, "testdata/agent_assigned.json"))
	resolved := string(mustRead(t, "testdata/status_resolved.json"))
	reply := string(mustRead(t, "testdata/reply_sent.json"))
	grace := &bot.OwnerChange{State: bot.StateAgent, Actor: "freshdesk:Grace Hopper", Reason: bot.ReasonHelpdeskAssigned}
	for _, tc := range []struct {
		name, body string
		wantType   string
		want       *bot.OwnerChange
	}{
		{"agent assigned", assigned, bot.EventOwnerChanged, grace},
		{"agent removed", replace(t, replace(t, assigned, `to:48000777001`, `to:null`), `"agent":{"name":"Grace Hopper","email":"grace@acme.example"}`,
			`"agent":{"name":"","email":""}`), bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateBot, Actor: "freshdesk", Reason: bot.ReasonHelpdeskUnassigned}},
		{"resolved", resolved, bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateResolved, Actor: "freshdesk", Reason: bot.ReasonHelpdeskResolved}},
		{"closed", replace(t, resolved, `to:4`, `to:5`), bot.EventOwnerChanged,
			&bot.OwnerChange{State: bot.StateResolved, Actor: "freshdesk", Reason: bot.ReasonHelpdeskResolved}},
		{"customer replies on an assigned ticket", replace(t, reply, `"requester":`,
			`"agent":{"name":"Grace Hopper","email":"grace@acme.example"},"requester":`), bot.EventMessageCreated, grace},
		{"customer replies on a ticket of the bot's agent", replace(t, reply, `"requester":`,
			`"agent":{"name":"Support Bot","email":"bot@acme.example"},"requester":`), bot.EventMessageCreated, nil},
		{"customer replies on an unassigned ticket", replace(t, reply, `"requester":`,
			`"agent":{"name":"","email":""},"requester":`), bot.EventMessageCreated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := tr.Parse(request(tc.body), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.wantType || ev.Conversation.ID != "11" {
				t.Fatalf("event = %+v", ev)
			}
			if diff := cmp.Diff(tc.want, ev.Owner); diff != "" {
				t.Fatalf("owner mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// An agent's rule that changes nothing about the owner, and the bot's
	// own agent assigned, are ignored.
	for name, body := range map[string]string{
		"priority change": replace(t, replace(t, assigned, `{responder_id:{from:null,to:48000777001}}`, `{priority:{from:1,to:3}}`),
			`"agent":{"name":"Grace Hopper","email":"grace@acme.example"},`, ``),
		"the bot's agent": replace(t, assigned, `"agent":{"name":"Grace Hopper","email":"grace@acme.example"}`,
			`"agent":{"name":"Support Bot","email":"bot@acme.example"}`),
	} {
		if _, err := tr.Parse(request(body), []byte(body)); !errors.Is(err, bot.ErrIgnored) {
			t.Errorf("%s: err = %v, want ignored", name, err)
		}
	}
}
