package zendesk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/hmac"
)

// Kind is the trigger kind name.
const Kind = "zendesk"

// Headers of a Zendesk webhook request.
const (
	SignatureHeader  = "X-Zendesk-Webhook-Signature"
	TimestampHeader  = "X-Zendesk-Webhook-Signature-Timestamp"
	InvocationHeader = "X-Zendesk-Webhook-Invocation-Id"
)

// Event-subscription types that are answered; every other type is ignored.
const (
	EventCommentAdded  = "zen:event-type:ticket.comment_added"
	EventTicketCreated = "zen:event-type:ticket.created"
	// Ownership: the ticket's assignee or status changed.
	EventAssignmentChanged = "zen:event-type:ticket.agent_assignment_changed"
	EventStatusChanged     = "zen:event-type:ticket.status_changed"
	eventTypePrefix        = "zen:event-type:"
)

// Trigger verifies and parses Zendesk webhooks.
type Trigger struct {
	// Now returns the current time for the replay window of the signed
	// timestamp; tests set it. Default time.Now.
	Now func() time.Time

	name      string
	apiUser   string // reply.email: comments by this user are our own
	ticketURL string // reply.base_url + "/agent/tickets/", or ""
	verify    *hmac.Trigger
}

var _ triggers.Trigger = (*Trigger)(nil)

// New builds a Zendesk trigger. The webhook's signing secret is required
// (secret, or several under secrets during a rotation); tolerance sets the
// replay window. The reply settings, when they are Zendesk's, name the API
// user whose comments are ignored (reply.email) and the ticket links of
// event-subscription bodies (reply.base_url).
func New(cfg triggers.Config) (triggers.Trigger, error) {
	hc := cfg
	hc.HMAC = triggers.HMACConfig{Header: SignatureHeader, Algorithm: "sha256", Encoding: "base64",
		TimestampHeader: TimestampHeader, Signed: hmac.PlaceholderTimestamp + hmac.PlaceholderBody}
	v, err := hmac.New(hc)
	if err != nil {
		return nil, err
	}
	t := &Trigger{Now: time.Now, name: cfg.Name, apiUser: strings.TrimSpace(cfg.Reply.Email), verify: v.(*hmac.Trigger)}
	t.verify.Now = t.now
	if cfg.Reply.Kind == Kind {
		if base := strings.TrimRight(strings.TrimSpace(cfg.Reply.BaseURL), "/"); base != "" {
			t.ticketURL = base + "/agent/tickets/"
		}
	}
	return t, nil
}

func (t *Trigger) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "zendesk".
func (t *Trigger) Kind() string { return Kind }

// Verify checks X-Zendesk-Webhook-Signature over the signed timestamp and
// the raw body, and the timestamp against the replay window. It returns an
// error wrapping bot.ErrUnauthorized that says what failed.
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	return t.verify.Verify(r, body)
}

// Parse turns a customer's public comment into an event, from the
// documented trigger body or an event subscription's ticket.comment_added
// or ticket.created. Comments by agents, by the API user or private ones,
// and other event types, return an error wrapping bot.ErrIgnored; a body
// of neither shape, or one without the ticket id, role or text, a
// *bot.ValidationError naming the field.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	if err := triggers.CheckJSON(body); err != nil {
		return bot.Event{}, err
	}
	var head struct {
		Type string `json:"type"`
	}
	// A "type" that is not a string is no event subscription: the template
	// decoder below says what is wrong with the body.
	_ = json.Unmarshal(body, &head)
	var (
		ev  bot.Event
		err error
	)
	if strings.HasPrefix(head.Type, eventTypePrefix) {
		ev, err = t.parseEvent(head.Type, body)
	} else {
		ev, err = t.parseTemplate(r, body)
	}
	if err != nil {
		return bot.Event{}, err
	}
	ev.Trigger = t.name
	if ev.ID == "" {
		ev.ID = triggers.BodyID(body)
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// templateBody is the documented trigger body.
type templateBody struct {
	Ticket *struct {
		ID       triggers.FlexString `json:"id"`
		Subject  string              `json:"subject"`
		URL      string              `json:"url"`
		Priority string              `json:"priority"`
		Tags     tagList             `json:"tags"`
		// Status is {{ticket.status}}; nil when the body leaves it out.
		Status *string `json:"status"`
	} `json:"ticket"`
	// Assignee is {{ticket.assignee.*}}; nil when the body leaves it out.
	Assignee *struct {
		ID    triggers.FlexString `json:"id"`
		Name  string              `json:"name"`
		Email string              `json:"email"`
	} `json:"assignee"`
	Requester struct {
		ID    triggers.FlexString `json:"id"`
		Name  string              `json:"name"`
		Email string              `json:"email"`
	} `json:"requester"`
	Author struct {
		ID    triggers.FlexString `json:"id"`
		Email string              `json:"email"`
		Role  string              `json:"role"`
	} `json:"author"`
	Comment string `json:"comment"`
}

func (t *Trigger) parseTemplate(r *http.Request, body []byte) (bot.Event, error) {
	var p templateBody
	if err := decode(body, &p); err != nil {
		return bot.Event{}, err
	}
	if p.Ticket == nil {
		return bot.Event{}, bot.Invalid("ticket", "required: the body is neither the documented trigger body nor a Zendesk event")
	}
	ticket := p.Ticket.ID.String()
	if ticket == "" {
		return bot.Event{}, bot.Invalid("ticket.id", "required ({{ticket.id}})")
	}
	id := strings.TrimSpace(r.Header.Get(InvocationHeader))
	if id == "" {
		id = "ticket:" + ticket + ":" + triggers.BodyID(body)
	}
	owner := t.templateOwner(&p)
	switch role := normRole(p.Author.Role); {
	case role == "":
		return bot.Event{}, bot.Invalid("author.role", "required ({{current_user.role}}): it tells a customer's comment from an agent's")
	case t.isAPIUser(p.Author.Email):
		return bot.Event{}, fmt.Errorf("update by the API user: %w", bot.ErrIgnored)
	case role != "end-user":
		// A person on the support team updated the ticket: only what the
		// update says about its owner counts.
		if owner == nil {
			return bot.Event{}, fmt.Errorf("update by a user with role %q, not an end user: %w", p.Author.Role, bot.ErrIgnored)
		}
		return bot.Event{ID: id, Type: bot.EventOwnerChanged, Owner: owner,
			Conversation: bot.ConversationRef{ID: ticket, Subject: strings.TrimSpace(p.Ticket.Subject), URL: ticketLink(p.Ticket.URL)},
			Customer: bot.Customer{ID: p.Requester.ID.String(), Name: strings.TrimSpace(p.Requester.Name),
				Email: strings.TrimSpace(p.Requester.Email)},
		}, nil
	}
	if owner != nil && owner.State != bot.StateAgent {
		// The customer's comment reopens a solved ticket, and an unassigned
		// ticket is the bot's or waits for a claim: only an assignee counts.
		owner = nil
	}
	return bot.Event{
		ID: id, Type: bot.EventMessageCreated, Owner: owner,
		Conversation: bot.ConversationRef{ID: ticket, Subject: strings.TrimSpace(p.Ticket.Subject),
			URL: ticketLink(p.Ticket.URL), Priority: priority(p.Ticket.Priority), Tags: p.Ticket.Tags},
		Customer: bot.Customer{ID: p.Requester.ID.String(), Name: strings.TrimSpace(p.Requester.Name),
			Email: strings.TrimSpace(p.Requester.Email)},
		Message: bot.MessageRef{Text: strings.TrimSpace(p.Comment)},
	}, nil
}

// eventBody is the part of an event-subscription body that is read.
type eventBody struct {
	ID     triggers.FlexString `json:"id"`
	Detail *struct {
		ID          triggers.FlexString `json:"id"`
		Subject     string              `json:"subject"`
		Description string              `json:"description"`
		Priority    string              `json:"priority"`
		RequesterID triggers.FlexString `json:"requester_id"`
		SubmitterID triggers.FlexString `json:"submitter_id"`
		Tags        tagList             `json:"tags"`
		IsPublic    *bool               `json:"is_public"`
		AssigneeID  triggers.FlexString `json:"assignee_id"`
		Status      string              `json:"status"`
	} `json:"detail"`
	Event struct {
		Comment *struct {
			ID       triggers.FlexString `json:"id"`
			Body     string              `json:"body"`
			IsPublic *bool               `json:"is_public"`
			Author   struct {
				ID      triggers.FlexString `json:"id"`
				Name    string              `json:"name"`
				IsStaff bool                `json:"is_staff"`
			} `json:"author"`
		} `json:"comment"`
	} `json:"event"`
}

func (t *Trigger) parseEvent(typ string, body []byte) (bot.Event, error) {
	switch typ {
	case EventCommentAdded, EventTicketCreated, EventAssignmentChanged, EventStatusChanged:
	default:
		return bot.Event{}, fmt.Errorf("event type %q: %w", typ, bot.ErrIgnored)
	}
	var p eventBody
	if err := decode(body, &p); err != nil {
		return bot.Event{}, err
	}
	if p.Detail == nil || p.Detail.ID.String() == "" {
		return bot.Event{}, bot.Invalid("detail.id", "required")
	}
	d := p.Detail
	ticket := d.ID.String()
	ev := bot.Event{
		ID: p.ID.String(),
		Conversation: bot.ConversationRef{ID: ticket, Subject: strings.TrimSpace(d.Subject),
			Priority: priority(d.Priority), Tags: d.Tags},
	}
	if t.ticketURL != "" {
		ev.Conversation.URL = t.ticketURL + ticket
	}
	assignee := d.AssigneeID.String()
	if assignee == "0" {
		assignee = ""
	}
	status := strings.ToLower(strings.TrimSpace(d.Status))
	switch typ {
	case EventAssignmentChanged, EventStatusChanged:
		ev.Type = bot.EventOwnerChanged
		ev.Customer = bot.Customer{ID: d.RequesterID.String()}
		ev.Owner = eventOwner(typ, assignee, status)
		if ev.Owner == nil {
			return bot.Event{}, fmt.Errorf("%s to status %q, assignee %q: no change of owner: %w", typ, status, assignee, bot.ErrIgnored)
		}
		if ev.ID == "" {
			ev.ID = "ticket:" + ticket + ":" + typ + ":" + triggers.BodyID(body)
		}
		return ev, nil
	case EventTicketCreated:
		if d.IsPublic != nil && !*d.IsPublic {
			return bot.Event{}, fmt.Errorf("ticket created with a private comment: %w", bot.ErrIgnored)
		}
		// A ticket an agent opened on a customer's behalf (an outbound
		// message) is the agent's text, not a question for the bot.
		if sub := d.SubmitterID.String(); sub != "" && sub != d.RequesterID.String() {
			return bot.Event{}, fmt.Errorf("ticket submitted by %s for requester %s: %w", sub, d.RequesterID.String(), bot.ErrIgnored)
		}
		ev.Type = bot.EventTicketCreated
		ev.Customer = bot.Customer{ID: d.RequesterID.String()}
		ev.Message = bot.MessageRef{Text: strings.TrimSpace(d.Description)}
		if ev.ID == "" {
			ev.ID = "ticket:" + ticket + ":created"
		}
	case EventCommentAdded:
		c := p.Event.Comment
		switch {
		case c == nil:
			return bot.Event{}, bot.Invalid("event.comment", "required")
		case c.IsPublic == nil || !*c.IsPublic:
			return bot.Event{}, fmt.Errorf("private comment: %w", bot.ErrIgnored)
		case c.Author.IsStaff:
			return bot.Event{}, fmt.Errorf("comment by staff: %w", bot.ErrIgnored)
		}
		ev.Type = bot.EventMessageCreated
		ev.Customer = bot.Customer{ID: c.Author.ID.String(), Name: strings.TrimSpace(c.Author.Name)}
		ev.Message = bot.MessageRef{ID: c.ID.String(), Text: strings.TrimSpace(c.Body)}
		if c.ID.String() != "" {
			// The comment id, not the event id: the same comment under a new
			// event id is one message.
			ev.ID = "ticket:" + ticket + ":comment:" + c.ID.String()
		}
		if assignee != "" && status != "solved" && status != "closed" {
			ev.Owner = &bot.OwnerChange{State: bot.StateAgent, Actor: Kind, Reason: bot.ReasonHelpdeskAssigned}
		}
	}
	return ev, nil
}

// eventOwner is the owner an assignment or status event shows: detail is
// the ticket after the change.
func eventOwner(typ, assignee, status string) *bot.OwnerChange {
	switch {
	case status == "solved" || status == "closed":
		if typ == EventStatusChanged {
			return &bot.OwnerChange{State: bot.StateResolved, Actor: Kind, Reason: bot.ReasonHelpdeskResolved}
		}
	case assignee != "":
		return &bot.OwnerChange{State: bot.StateAgent, Actor: Kind, Reason: bot.ReasonHelpdeskAssigned}
	case typ == EventAssignmentChanged:
		return &bot.OwnerChange{State: bot.StateBot, Actor: Kind, Reason: bot.ReasonHelpdeskUnassigned}
	}
	return nil
}

// templateOwner is the owner a trigger body shows, when it carries
// {{ticket.status}} or {{ticket.assignee.*}}: solved or closed → resolved;
// assigned to a person other than the API user → agent; unassigned and new
// or open → bot (which returns only what a person held).
func (t *Trigger) templateOwner(p *templateBody) *bot.OwnerChange {
	status := ""
	if p.Ticket.Status != nil {
		status = strings.ToLower(strings.TrimSpace(*p.Ticket.Status))
	}
	who := Kind
	if e := strings.TrimSpace(p.Author.Email); e != "" && normRole(p.Author.Role) != "end-user" {
		who = Kind + ":" + e
	}
	switch {
	case status == "solved" || status == "closed":
		return &bot.OwnerChange{State: bot.StateResolved, Actor: bot.Clip(who, 200), Reason: bot.ReasonHelpdeskResolved}
	case p.Assignee == nil:
		return nil
	case p.Assignee.ID.String() != "" || strings.TrimSpace(p.Assignee.Email) != "":
		if t.isAPIUser(p.Assignee.Email) {
			return nil // assigned to the bot's own seat: still the bot's
		}
		name := cmpOr(strings.TrimSpace(p.Assignee.Name), strings.TrimSpace(p.Assignee.Email), p.Assignee.ID.String())
		return &bot.OwnerChange{State: bot.StateAgent, Actor: bot.Clip(Kind+":"+name, 200), Reason: bot.ReasonHelpdeskAssigned}
	case status == "new" || status == "open":
		return &bot.OwnerChange{State: bot.StateBot, Actor: bot.Clip(who, 200), Reason: bot.ReasonHelpdeskUnassigned}
	}
	return nil
}

// isAPIUser reports whether email is the reply settings' API user.
func (t *Trigger) isAPIUser(email string) bool {
	return t.apiUser != "" && strings.EqualFold(strings.TrimSpace(email), t.apiUser)
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return bot.Invalid("body", "not a Zendesk webhook: %v", err)
	}
	return nil
}

// normRole folds Zendesk's role names ("End-user", "end user", "Agent",
// "Admin", custom role names) to lower case with hyphens.
func normRole(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), "-"))
	s = strings.ReplaceAll(s, "_", "-")
	if s == "enduser" {
		s = "end-user"
	}
	return s
}

// ticketLink returns {{ticket.link}} as an absolute URL: a rendering
// without the scheme ("sub.zendesk.com/agent/tickets/1") gets https.
func ticketLink(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		s = "https://" + s
	}
	return s
}

// priority lower-cases Zendesk's priority ("Urgent", "HIGH"); "-" is
// Zendesk's rendering of none.
func priority(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "-" {
		return ""
	}
	return s
}
