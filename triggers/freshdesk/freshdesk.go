package freshdesk

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/token"
)

// Kind is the trigger kind name.
const Kind = "freshdesk"

// DefaultTokenHeader carries the shared token when token_header is not set:
// a custom header of the rule's webhook action.
const DefaultTokenHeader = "X-Supportbot-Token"

// Trigger verifies and parses Freshdesk automation webhooks.
type Trigger struct {
	name  string
	self  string           // reply.email: the agent the bot replies as, never a person
	token triggers.Trigger // nil: no token
	user  string           // "": no Basic credentials
	basic [][sha256.Size]byte
}

var _ triggers.Trigger = (*Trigger)(nil)

// New builds a Freshdesk trigger from token (with token_header), or
// username and password, or both; the trigger's secrets are accepted as
// further passwords when username is set, else as further tokens. Errors
// name the key, e.g. "token: required (or username and password)".
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name}
	if cfg.Reply.Kind == Kind {
		t.self = strings.ToLower(strings.TrimSpace(cfg.Reply.Email))
	}
	secrets := cfg.AllSecrets()
	switch {
	case cfg.Username == "" && cfg.Password != "":
		return nil, errors.New("username: required with password")
	case cfg.Username != "" && cfg.Password == "" && len(secrets) == 0:
		return nil, errors.New("password: required with username")
	case strings.Contains(cfg.Username, ":"):
		return nil, errors.New("username: must not contain ':'")
	case cfg.Token == "" && cfg.Username == "" && len(secrets) == 0:
		return nil, errors.New("token: required (or username and password)")
	}
	var tokens []string
	if cfg.Username != "" {
		t.user = cfg.Username
		for _, p := range append([]string{cfg.Password}, secrets...) {
			if p != "" {
				t.basic = append(t.basic, sha256.Sum256([]byte(cfg.Username+":"+p)))
			}
		}
	} else {
		tokens = secrets
	}
	if cfg.Token != "" || len(tokens) > 0 {
		v, err := token.New(triggers.Config{Name: cfg.Name, Kind: token.Kind, Token: cfg.Token, Secrets: tokens,
			TokenHeader: cmp.Or(cfg.TokenHeader, DefaultTokenHeader)})
		if err != nil {
			return nil, err
		}
		t.token = v
	}
	return t, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "freshdesk".
func (t *Trigger) Kind() string { return Kind }

// Verify checks the token header and the Basic credentials, each when
// configured. It returns an error wrapping bot.ErrUnauthorized when one is
// missing or matches none of the accepted values.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	if t.token != nil {
		if err := t.token.Verify(r, body); err != nil {
			return err
		}
	}
	if t.user == "" {
		return nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return triggers.Unauthorized("missing Basic credentials")
	}
	got := sha256.Sum256([]byte(user + ":" + pass))
	// Every accepted pair is compared, so the time does not say which one
	// (if any) matched.
	match := 0
	for i := range t.basic {
		match |= subtle.ConstantTimeCompare(got[:], t.basic[i][:])
	}
	if match != 1 {
		return triggers.Unauthorized("Basic credentials do not match")
	}
	return nil
}

// payload is the documented body.
type payload struct {
	Ticket *struct {
		ID                  triggers.FlexString `json:"id"`
		Subject             string              `json:"subject"`
		Description         string              `json:"description"`
		LatestPublicComment string              `json:"latest_public_comment"`
		URL                 string              `json:"url"`
		Priority            triggers.FlexString `json:"priority"`
		Tags                tagList             `json:"tags"`
		// Status is {{ticket.status}} (Open, Pending, Resolved, Closed);
		// nil when the body leaves it out.
		Status *string `json:"status"`
	} `json:"ticket"`
	// Agent is the assigned agent, {{ticket.agent.name}} and
	// {{ticket.agent.email}}; nil when the body leaves it out.
	Agent *struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"agent"`
	Requester struct {
		ID    triggers.FlexString `json:"id"`
		Name  string              `json:"name"`
		Email string              `json:"email"`
	} `json:"requester"`
	TriggeredEvent *string `json:"triggered_event"`
	Performer      string  `json:"performer"`
}

// Parse turns a new ticket ({ticket_action:created}) or a reply
// ({reply_sent:sent}) performed by the requester into an event. Other
// events and other performers return an error wrapping bot.ErrIgnored; a
// body without the ticket id, triggered_event, performer or text, a
// *bot.ValidationError naming the field.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var p payload
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		return bot.Event{}, bot.Invalid("body", "not the documented Freshdesk body: %v", err)
	}
	switch {
	case p.Ticket == nil:
		return bot.Event{}, bot.Invalid("ticket", "required: the body is not the documented Freshdesk body")
	case p.Ticket.ID.String() == "":
		return bot.Event{}, bot.Invalid("ticket.id", "required ({{ticket.id}})")
	case p.TriggeredEvent == nil || strings.TrimSpace(*p.TriggeredEvent) == "":
		return bot.Event{}, bot.Invalid("triggered_event", "required ({{triggered_event}})")
	}
	tk := p.Ticket
	ticket := tk.ID.String()
	switch performer := strings.ToLower(strings.TrimSpace(p.Performer)); performer {
	case "requester", "customer", "contact":
	case "":
		return bot.Event{}, bot.Invalid("performer", `required: the rule's "Performed by", "requester"`)
	default:
		// An agent's rule: only what it says about the owner counts.
		o := t.agentOwner(&p)
		if o == nil {
			return bot.Event{}, fmt.Errorf("performed by %q, not the requester: %w", p.Performer, bot.ErrIgnored)
		}
		ev := bot.Event{
			Trigger: t.name, ID: "ticket:" + ticket + ":" + triggers.BodyID(body), Type: bot.EventOwnerChanged, Owner: o,
			Conversation: bot.ConversationRef{ID: ticket, Subject: strings.TrimSpace(tk.Subject), URL: strings.TrimSpace(tk.URL)},
			Customer: bot.Customer{ID: p.Requester.ID.String(), Name: strings.TrimSpace(p.Requester.Name),
				Email: strings.TrimSpace(p.Requester.Email)},
		}
		if err := ev.Validate(); err != nil {
			return bot.Event{}, err
		}
		return ev, nil
	}
	typ, err := eventType(*p.TriggeredEvent)
	if err != nil {
		return bot.Event{}, err
	}
	html := tk.LatestPublicComment
	if typ == bot.EventTicketCreated && strings.TrimSpace(tk.Description) != "" {
		html = tk.Description
	}
	ev := bot.Event{
		Trigger: t.name, ID: "ticket:" + ticket + ":" + triggers.BodyID(body), Type: typ, Owner: t.assignedOwner(&p),
		Conversation: bot.ConversationRef{ID: ticket, Subject: strings.TrimSpace(tk.Subject), URL: strings.TrimSpace(tk.URL),
			Priority: priority(tk.Priority.String()), Tags: tk.Tags},
		Customer: bot.Customer{ID: p.Requester.ID.String(), Name: strings.TrimSpace(p.Requester.Name),
			Email: strings.TrimSpace(p.Requester.Email)},
		Message: bot.MessageRef{Text: messageText(html)},
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// status is {{ticket.status}} in lower case, or "".
func (p *payload) status() string {
	if p.Ticket.Status == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(*p.Ticket.Status))
}

// assignedOwner is the owner a ticket shows: an agent other than the bot's
// own (reply.email) assigned to an open ticket → agent.
func (t *Trigger) assignedOwner(p *payload) *bot.OwnerChange {
	a := p.Agent
	if a == nil {
		return nil
	}
	name, email := strings.TrimSpace(a.Name), strings.ToLower(strings.TrimSpace(a.Email))
	switch st := p.status(); {
	case name == "" && email == "", email != "" && email == t.self, st == "resolved" || st == "closed":
		return nil
	}
	return &bot.OwnerChange{State: bot.StateAgent, Actor: bot.Clip(Kind+":"+cmp.Or(name, email), 200), Reason: bot.ReasonHelpdeskAssigned}
}

// agentOwner is the owner an agent's rule reports: {{triggered_event}}
// names the change, {status:{from:2,to:4}} or {responder_id:{from:..,to:..}}
// (the agent), and {{ticket.status}} and {{ticket.agent.*}} the ticket
// after it. Resolved (4) or closed (5) → resolved; an agent assigned →
// agent; the agent removed → bot (which returns only what a person held).
func (t *Trigger) agentOwner(p *payload) *bot.OwnerChange {
	key, to := change(*p.TriggeredEvent)
	st := p.status()
	switch {
	case st == "resolved" || st == "closed" || (key == "status" && (to == "4" || to == "5")):
		return &bot.OwnerChange{State: bot.StateResolved, Actor: Kind, Reason: bot.ReasonHelpdeskResolved}
	case key == "responder_id" && (to == "" || to == "null" || to == "0"):
		return &bot.OwnerChange{State: bot.StateBot, Actor: Kind, Reason: bot.ReasonHelpdeskUnassigned}
	case key == "responder_id":
		if o := t.assignedOwner(p); o != nil {
			return o
		}
		if p.Agent == nil {
			return &bot.OwnerChange{State: bot.StateAgent, Actor: Kind + ":agent " + to, Reason: bot.ReasonHelpdeskAssigned}
		}
	}
	return nil
}

// change reads {{triggered_event}} as the changed property and its new
// value: "{status:{from:2,to:4}}" is ("status", "4").
func change(raw string) (key, to string) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(strings.TrimSuffix(s, "}"), "{")
	key, rest, _ := strings.Cut(s, ":")
	if i := strings.Index(rest, "to:"); i >= 0 {
		to = strings.TrimSpace(strings.TrimRight(rest[i+3:], "} "))
		to = strings.Trim(to, `"'`)
	}
	return strings.ToLower(strings.TrimSpace(key)), to
}

// eventType reads {{triggered_event}}: "{ticket_action:created}" is a new
// ticket, "{reply_sent:sent}" a reply; anything else is ignored.
func eventType(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	key, val, _ := strings.Cut(s, ":")
	key, val = strings.ToLower(strings.TrimSpace(key)), strings.ToLower(strings.TrimSpace(val))
	switch {
	case key == "ticket_action" && val == "created":
		return bot.EventTicketCreated, nil
	case key == "reply_sent":
		return bot.EventMessageCreated, nil
	}
	return "", fmt.Errorf("event %q: %w", raw, bot.ErrIgnored)
}

// messageText turns Freshdesk's HTML into plain text, without the quoted
// history of an e-mail reply: everything from the first <blockquote>, when
// there is text before it.
func messageText(html string) string {
	if i := strings.Index(strings.ToLower(html), "<blockquote"); i > 0 {
		if before := triggers.HTMLText(html[:i]); before != "" {
			return before
		}
	}
	return triggers.HTMLText(html)
}

// priority names Freshdesk's priority in lower case; the API's numbers
// (1 low ... 4 urgent) are named too.
func priority(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "1":
		return "low"
	case "2":
		return "medium"
	case "3":
		return "high"
	case "4":
		return "urgent"
	}
	return s
}
