package generic_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/generic"
	"github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/kinds"
)

// MustNew builds a generic trigger from cfg.
func MustNew(tb testing.TB, cfg triggers.Config) *generic.Trigger {
	tb.Helper()
	tr, err := generic.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return tr.(*generic.Trigger)
}

func newRequest(target string, h map[string]string, body []byte) *http.Request {
	if target == "" {
		target = "/hooks/x"
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

// none is the auth of trigger configs whose tests are not about auth.
func none(m []triggers.FieldMapping, f ...triggers.FilterConfig) triggers.Config {
	return triggers.Config{Name: "x", Kind: generic.Kind, Auth: generic.AuthNone, AllowIPs: []string{"10.0.0.0/8"}, Map: m, Filters: f}
}

func path(field, p string) triggers.FieldMapping { return triggers.FieldMapping{Field: field, Path: p} }

// jiraMap is the map of DESIGN.md's example, for a Jira comment webhook.
var jiraMap = []triggers.FieldMapping{
	path("conversation.id", "$.issue.key"),
	path("message.text", "$.comment.body"),
	path("customer.email", "$.user.emailAddress"),
	{Field: "id", Header: "X-Atlassian-Webhook-Identifier"},
	{Field: "type", Value: "message.created"},
	{Field: "conversation.subject", Path: "$.issue.fields.summary", Default: "(no subject)"},
	path("message.id", "$.comment.id"),
}

const jiraBody = `{"webhookEvent":"comment_created","timestamp":1700000000000,
 "user":{"emailAddress":"ann@example.com","displayName":"Ann"},
 "issue":{"key":"SUP-42","fields":{"summary":"Order late","priority":{"name":"High"}}},
 "comment":{"id":10042,"body":"Where is my order?"}}`

var jiraFilter = triggers.FilterConfig{Path: "$.webhookEvent", Regex: "^comment_created$"}

func TestParse(t *testing.T) {
	form := func(v url.Values) string { return v.Encode() }
	formCT := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name    string
		cfg     triggers.Config
		target  string
		headers map[string]string
		body    string
		want    bot.Event // Trigger is "x"; ID "" means BodyID(body)
		wantErr string    // a validation error: "field: reason"
		ignored bool
	}{
		{
			name: "jira nested objects", cfg: none(jiraMap, jiraFilter),
			headers: map[string]string{"X-Atlassian-Webhook-Identifier": "wh-1"}, body: jiraBody,
			want: bot.Event{ID: "wh-1", Type: "message.created",
				Conversation: bot.ConversationRef{ID: "SUP-42", Subject: "Order late"},
				Customer:     bot.Customer{Email: "ann@example.com"},
				Message:      bot.MessageRef{ID: "10042", Text: "Where is my order?"}},
		},
		{
			name: "jira default subject and body id", cfg: none(jiraMap, jiraFilter),
			body: `{"webhookEvent":"comment_created","issue":{"key":"SUP-1"},"comment":{"body":"hi"}}`,
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "SUP-1", Subject: "(no subject)"},
				Message: bot.MessageRef{Text: "hi"}},
		},
		{
			name: "jira filter skips", cfg: none(jiraMap, jiraFilter),
			body: `{"webhookEvent":"comment_updated","issue":{"key":"SUP-1"},"comment":{"body":"hi"}}`, ignored: true,
		},
		{
			name: "filter on a missing value skips", cfg: none(jiraMap, jiraFilter),
			body: `{"issue":{"key":"SUP-1"},"comment":{"body":"hi"}}`, ignored: true,
		},
		{
			name: "filter is a find, not a full match", cfg: none(jiraMap, triggers.FilterConfig{Path: "$.webhookEvent", Regex: "comment"}),
			body: jiraBody,
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "SUP-42", Subject: "Order late"},
				Customer: bot.Customer{Email: "ann@example.com"}, Message: bot.MessageRef{ID: "10042", Text: "Where is my order?"}},
		},
		{
			name: "id header and id_header fallbacks", cfg: func() triggers.Config {
				c := none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t")})
				c.IDHeader = "X-Delivery"
				return c
			}(),
			headers: map[string]string{"X-Delivery": "d-7", "webhook-id": "w-1"}, body: `{"c":"c1","t":"hi"}`,
			want: bot.Event{ID: "d-7", Type: "message.created", Conversation: bot.ConversationRef{ID: "c1"}, Message: bot.MessageRef{Text: "hi"}},
		},
		{
			name: "arrays: index, text joined, numbers, tags, filter inside array",
			cfg: none([]triggers.FieldMapping{
				path("conversation.id", "$.events[0].chat_id"),
				path("message.text", "$.events[*].message"),
				path("customer.id", "$.events[0].from.id"),
				path("conversation.priority", "$.urgent"),
				path("conversation.tags", "$.labels"),
			}, triggers.FilterConfig{Path: "$.events[*].type", Regex: "^message$"}),
			body: `{"urgent":true,"labels":["billing",7],"events":[{"type":"typing","chat_id":12345678901234567890,"message":"line 1","from":{"id":99}},{"type":"message","message":"line 2"}]}`,
			want: bot.Event{Type: "message.created",
				Conversation: bot.ConversationRef{ID: "12345678901234567890", Priority: "true", Tags: []string{"billing", "7"}},
				Customer:     bot.Customer{ID: "99"},
				Message:      bot.MessageRef{Text: "line 1\nline 2"}},
		},
		{
			name: "filter selecting inside an array skips",
			cfg: none([]triggers.FieldMapping{path("conversation.id", "$.id"), path("message.text", "$.events[0].message")},
				triggers.FilterConfig{Path: "$.events[?@.type=='message'].message", Regex: `\S`}),
			body: `{"id":"c","events":[{"type":"typing","message":"x"}]}`, ignored: true,
		},
		{
			name: "filter selecting inside an array passes",
			cfg: none([]triggers.FieldMapping{path("conversation.id", "$.id"), path("message.text", "$.events[?@.type=='message'].message")},
				triggers.FilterConfig{Path: "$.events[?@.type=='message'].message", Regex: `\S`}),
			body: `{"id":"c","events":[{"type":"typing","message":"x"},{"type":"message","message":"hello"}]}`,
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "c"}, Message: bot.MessageRef{Text: "hello"}},
		},
		{
			name: "headers, query values, constants, strip",
			cfg: none([]triggers.FieldMapping{
				{Field: "conversation.id", Query: "ticket", Strip: `[^0-9]`},
				{Field: "message.text", Path: "$.text"},
				{Field: "customer.name", Header: "X-User-Name"},
				{Field: "type", Value: "ticket.created"},
				{Field: "conversation.tags", Value: "web, vip"},
				{Field: "conversation.url", Query: "missing", Default: "https://desk.example.com"},
			}),
			target:  "/hooks/x?ticket=nbr123&ticket=9",
			headers: map[string]string{"X-User-Name": "Bob"}, body: `{"text":"help"}`,
			want: bot.Event{Type: "ticket.created",
				Conversation: bot.ConversationRef{ID: "123", URL: "https://desk.example.com", Tags: []string{"web", "vip"}},
				Customer:     bot.Customer{Name: "Bob"}, Message: bot.MessageRef{Text: "help"}},
		},
		{
			name: "strip leaving nothing falls back to the default",
			cfg: none([]triggers.FieldMapping{
				{Field: "conversation.id", Path: "$.c", Strip: `.*`, Default: "fallback"},
				path("message.text", "$.t"),
			}),
			body: `{"c":"abc","t":"hi"}`,
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "fallback"}, Message: bot.MessageRef{Text: "hi"}},
		},
		{
			name: "form with a JSON payload (GitHub style)",
			cfg: none([]triggers.FieldMapping{path("conversation.id", "$.issue.number"), path("message.text", "$.comment.body"),
				path("customer.name", "$.sender.login")}, triggers.FilterConfig{Path: "$.action", Regex: "^created$"}),
			headers: formCT,
			body:    form(url.Values{"payload": {`{"action":"created","issue":{"number":7},"comment":{"body":"a & b = c"},"sender":{"login":"octocat"}}`}}),
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "7"},
				Customer: bot.Customer{Name: "octocat"}, Message: bot.MessageRef{Text: "a & b = c"}},
		},
		{
			name:    "plain form fields",
			cfg:     none([]triggers.FieldMapping{path("conversation.id", "$.ticket"), path("message.text", "$.body"), path("conversation.tags", "$.tag")}),
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			body:    "ticket=T-9&body=hello+there&tag=a&tag=b",
			want: bot.Event{Type: "message.created", Conversation: bot.ConversationRef{ID: "T-9", Tags: []string{"a", "b"}},
				Message: bot.MessageRef{Text: "hello there"}},
		},
		{
			name:    "form payload that is not JSON",
			cfg:     none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t")}),
			headers: formCT, body: "payload=nope", wantErr: "body: invalid JSON",
		},
		{
			name:    "bad form encoding",
			cfg:     none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t")}),
			headers: formCT, body: "a=%zz", wantErr: "body: invalid form encoding",
		},
		{
			name: "missing text", cfg: none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.x.y")}),
			body: `{"c":"c1"}`, wantErr: "message.text: no value at $.x.y",
		},
		{
			name: "null text is missing", cfg: none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.x")}),
			body: `{"c":"c1","x":null}`, wantErr: "message.text: no value at $.x",
		},
		{
			name: "missing conversation from a header", cfg: none([]triggers.FieldMapping{{Field: "conversation.id", Header: "X-Conv"}, path("message.text", "$.t")}),
			body: `{"t":"hi"}`, wantErr: "conversation.id: no value at header X-Conv",
		},
		{
			name: "object where text expected", cfg: none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.comment")}),
			body: `{"c":"c1","comment":{"body":"hi"}}`, wantErr: "message.text: $.comment selects an object or array, not a value",
		},
		{
			name: "array where an id is expected", cfg: none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t")}),
			body: `{"c":["a"],"t":"hi"}`, wantErr: "conversation.id: $.c selects an object or array",
		},
		{
			name: "bad JSON", cfg: none(jiraMap), body: `{"issue":`, wantErr: "body: invalid JSON",
		},
		{
			name: "JSON array body", cfg: none(jiraMap), body: `[1]`, wantErr: "body: must be a JSON object",
		},
		{
			name: "invalid mapped type", cfg: none([]triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t"), path("type", "$.kind")}),
			body: `{"c":"c1","t":"hi","kind":"push"}`, wantErr: "type: must be",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := MustNew(t, tt.cfg)
			ev, err := tr.Parse(newRequest(tt.target, tt.headers, []byte(tt.body)), []byte(tt.body))
			switch {
			case tt.ignored:
				if !errors.Is(err, bot.ErrIgnored) {
					t.Fatalf("Parse()=%v, want it to wrap bot.ErrIgnored", err)
				}
				return
			case tt.wantErr != "":
				var ve *bot.ValidationError
				if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Parse()=%v, want a validation error starting with %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("Parse()=%v", err)
			}
			want := tt.want
			want.Trigger = "x"
			if want.ID == "" {
				want.ID = triggers.BodyID([]byte(tt.body))
			}
			if diff := cmp.Diff(want, ev); diff != "" {
				t.Fatalf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	ok := []triggers.FieldMapping{path("conversation.id", "$.c"), path("message.text", "$.t")}
	with := func(extra ...triggers.FieldMapping) []triggers.FieldMapping {
		return append(append([]triggers.FieldMapping{}, ok...), extra...)
	}
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string // prefix
	}{
		{name: "invalid JSONPath", cfg: none(with(path("customer.id", "$.a["))), wantErr: "map[2].path: invalid JSONPath: "},
		{name: "not a JSONPath", cfg: none(with(path("customer.id", "issue.key"))), wantErr: "map[2].path: invalid JSONPath: "},
		{name: "invalid filter regex", cfg: none(ok, triggers.FilterConfig{Path: "$.a", Regex: "(["}), wantErr: "filters[0].regex: "},
		{name: "invalid filter path", cfg: none(ok, triggers.FilterConfig{Path: "$..[", Regex: "x"}), wantErr: "filters[0].path: invalid JSONPath: "},
		{name: "missing filter path", cfg: none(ok, triggers.FilterConfig{Regex: "x"}), wantErr: "filters[0].path: required"},
		{name: "invalid strip", cfg: none(with(triggers.FieldMapping{Field: "customer.id", Header: "X-A", Strip: "("})), wantErr: "map[2].strip: "},
		{name: "text not mapped", cfg: none(ok[:1]), wantErr: "map: message.text and conversation.id must be mapped"},
		{name: "conversation not mapped", cfg: none(ok[1:]), wantErr: "map: message.text and conversation.id must be mapped"},
		{name: "nothing mapped", cfg: none(nil), wantErr: "map: message.text and conversation.id must be mapped"},
		{name: "unknown field", cfg: none(with(path("customer.phone", "$.p"))), wantErr: `map[2].field: "customer.phone" is not one of`},
		{name: "field twice", cfg: none(with(path("message.text", "$.u"))), wantErr: `map[2].field: "message.text" is mapped twice`},
		{name: "two sources", cfg: none(with(triggers.FieldMapping{Field: "customer.id", Path: "$.a", Header: "X-A"})), wantErr: "map[2]: exactly one of path, paths, header, query, value"},
		{name: "no source", cfg: none(with(triggers.FieldMapping{Field: "customer.id", Default: "d"})), wantErr: "map[2]: exactly one of path, paths, header, query, value"},
		{name: "bad header", cfg: none(with(triggers.FieldMapping{Field: "customer.id", Header: "X A"})), wantErr: `map[2].header: "X A" is not a header name`},
		{name: "auth missing", cfg: triggers.Config{Name: "x", Map: ok}, wantErr: "auth: required"},
		{name: "auth unknown", cfg: triggers.Config{Name: "x", Auth: "basic", Map: ok}, wantErr: `auth: "basic" is not one of hmac, token, none`},
		{name: "auth none without allow_ips", cfg: triggers.Config{Name: "x", Auth: "none", Map: ok}, wantErr: `auth: "none" requires allow_ips`},
		{name: "auth hmac without secret", cfg: triggers.Config{Name: "x", Auth: "hmac", Map: ok}, wantErr: "secret: required"},
		{name: "auth token without token", cfg: triggers.Config{Name: "x", Auth: "token", Map: ok}, wantErr: "token: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := generic.New(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("New()=%v, want an error starting with %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(jiraBody)
	hcfg := triggers.Config{Name: "jira", Kind: generic.Kind, Auth: generic.AuthHMAC, Secret: "s3cret",
		HMAC: triggers.HMACConfig{Header: "X-Hub-Signature", Prefix: "sha256="}, Map: jiraMap, Filters: []triggers.FilterConfig{jiraFilter}}
	signer, err := hmac.New(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	signed := http.Header{}
	signer.(*hmac.Trigger).Sign(signed, body, time.Now())
	tcfg := triggers.Config{Name: "jira", Kind: generic.Kind, Auth: generic.AuthToken, Token: "tok-1", TokenHeader: "X-Token", Map: jiraMap}
	tests := []struct {
		name    string
		cfg     triggers.Config
		headers map[string]string
		body    []byte
		ok      bool
	}{
		{name: "hmac ok", cfg: hcfg, headers: map[string]string{"X-Hub-Signature": signed.Get("X-Hub-Signature")}, body: body, ok: true},
		{name: "hmac bad signature", cfg: hcfg, headers: map[string]string{"X-Hub-Signature": "sha256=" + strings.Repeat("0", 64)}, body: body},
		{name: "hmac body changed", cfg: hcfg, headers: map[string]string{"X-Hub-Signature": signed.Get("X-Hub-Signature")}, body: append(bytes.Clone(body), ' ')},
		{name: "hmac missing", cfg: hcfg, body: body},
		{name: "token ok", cfg: tcfg, headers: map[string]string{"X-Token": "tok-1"}, body: body, ok: true},
		{name: "token bad", cfg: tcfg, headers: map[string]string{"X-Token": "tok-2"}, body: body},
		{name: "token missing", cfg: tcfg, body: body},
		{name: "none", cfg: none(jiraMap), body: body, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := MustNew(t, tt.cfg)
			err := tr.Verify(newRequest("", tt.headers, tt.body), tt.body)
			if got := err == nil; got != tt.ok {
				t.Fatalf("Verify()=%v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
		})
	}
}

// TestKinds checks the registration and that the trigger tells the server
// which content types its guard must accept.
func TestKinds(t *testing.T) {
	e, err := kinds.Default().Build(none(jiraMap))
	if err != nil {
		t.Fatalf("Build()=%v", err)
	}
	if got := e.Kind(); got != generic.Kind {
		t.Fatalf("Kind()=%q", got)
	}
	ct, ok := e.Trigger.(interface{ ContentTypes() []string })
	if !ok {
		t.Fatal("generic trigger has no ContentTypes method")
	}
	if diff := cmp.Diff([]string{"application/json", "application/x-www-form-urlencoded"}, ct.ContentTypes()); diff != "" {
		t.Fatalf("ContentTypes() mismatch (-want +got):\n%s", diff)
	}
	g := e.Guard
	g.ContentTypes = ct.ContentTypes()
	if err := g.CheckContentType(newRequest("", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil)); err != nil {
		t.Fatalf("CheckContentType(form)=%v", err)
	}
}

// An organisation-wide GitHub hook numbers issues per repository: issue #703
// of two repositories are two conversations when the id joins both paths.
func TestCompositeConversationID(t *testing.T) {
	tr := MustNew(t, none([]triggers.FieldMapping{
		{Field: "conversation.id", Paths: []string{"$.repository.full_name", "$.issue.number"}, Join: "#"},
		path("message.text", "$.comment.body"),
	}))
	ids := map[string]bool{}
	for _, repo := range []string{"acme/api", "acme/web"} {
		body := []byte(`{"repository":{"full_name":"` + repo + `"},"issue":{"number":703},"comment":{"body":"It crashes"}}`)
		ev, err := tr.Parse(newRequest("", map[string]string{"Content-Type": "application/json"}, body), body)
		if err != nil {
			t.Fatal(err)
		}
		if want := repo + "#703"; ev.Conversation.ID != want {
			t.Fatalf("conversation.id = %q, want %q", ev.Conversation.ID, want)
		}
		ids[ev.Conversation.ID] = true
	}
	if len(ids) != 2 {
		t.Fatalf("two repositories' issue #703 share a conversation: %v", ids)
	}
	// A missing part is a 400 naming the path, never a shorter id.
	body := []byte(`{"issue":{"number":703},"comment":{"body":"It crashes"}}`)
	_, err := tr.Parse(newRequest("", map[string]string{"Content-Type": "application/json"}, body), body)
	var ve *bot.ValidationError
	if !errors.As(err, &ve) || ve.Field != "conversation.id" || !strings.Contains(err.Error(), "$.repository.full_name") {
		t.Fatalf("missing part: %v, want a conversation.id error naming the path", err)
	}
	// Config errors name the key.
	for _, m := range []triggers.FieldMapping{
		{Field: "conversation.id", Paths: []string{"$.a"}, Path: "$.b"},
		{Field: "conversation.id", Path: "$.a", Join: "#"},
		{Field: "message.text", Paths: []string{"$.a", "$.b"}},
		{Field: "conversation.id", Paths: []string{"$.a", "$["}},
	} {
		var cfg triggers.Config
		if m.Field == "message.text" {
			cfg = none([]triggers.FieldMapping{m, path("conversation.id", "$.c")})
		} else {
			cfg = none([]triggers.FieldMapping{m, path("message.text", "$.t")})
		}
		if _, err := generic.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "map[0]") {
			t.Errorf("New(%+v) = %v, want an error naming map[0]", m, err)
		}
	}
}

// TestReplayUnderNewIDIsDuplicate: with auth hmac and no timestamp header
// only the body is signed; an id from a header (mapped or not) would let a
// captured request replay forever under new ids, so the id is the body's
// hash instead.
func TestReplayUnderNewIDIsDuplicate(t *testing.T) {
	body := []byte(jiraBody)
	cfg := triggers.Config{Name: "jira", Kind: generic.Kind, Auth: generic.AuthHMAC, Secret: "s3cret",
		HMAC: triggers.HMACConfig{Header: "X-Hub-Signature", Prefix: "sha256="}, Map: jiraMap}
	tr := MustNew(t, cfg)
	var ids []string
	for _, id := range []string{"delivery-1", "delivery-2"} {
		ev, err := tr.Parse(newRequest("", map[string]string{"X-Atlassian-Webhook-Identifier": id, "webhook-id": id}, body), body)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if ids[0] != ids[1] || ids[0] != triggers.BodyID(body) {
		t.Fatalf("ids %q, want the body's hash for both", ids)
	}
	// With a signed timestamp the mapped header id stands.
	cfg.HMAC.TimestampHeader = "X-Ts"
	ev, err := MustNew(t, cfg).Parse(newRequest("", map[string]string{"X-Atlassian-Webhook-Identifier": "delivery-1"}, body), body)
	if err != nil || ev.ID != "delivery-1" {
		t.Fatalf("with a timestamp: id %q, %v; want delivery-1", ev.ID, err)
	}
}
