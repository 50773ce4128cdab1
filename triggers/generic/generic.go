// Package generic is the trigger kind for any other system, in the manner
// of Jenkins' Generic Webhook Trigger: event fields are mapped from RFC 9535
// JSONPath expressions over the body, from headers, from query parameters or
// from constants, and filters (a JSONPath value against a regular
// expression) skip the events that need no processing.
//
// Requests authenticate as an hmac or token trigger built from the same
// config (auth: hmac | token), or not at all (auth: none, only together with
// allow_ips). Bodies are JSON objects, or form-encoded
// (application/x-www-form-urlencoded): a "payload" field holding JSON is
// parsed as the JSON body, as GitHub and Slack send it; otherwise the form
// fields form a flat object of strings (an array of strings for a field
// given several times).
package generic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/theory/jsonpath"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/token"
)

// Kind is the trigger kind this package builds.
const Kind = "generic"

// Values of triggers.Config.Auth.
const (
	AuthHMAC  = "hmac"
	AuthToken = "token"
	AuthNone  = "none"
)

// FormContentType is the form media type the generic kind accepts besides
// JSON.
const FormContentType = "application/x-www-form-urlencoded"

// PayloadField is the form field whose JSON is parsed as the body.
const PayloadField = "payload"

// ContentTypes lists the media types a generic trigger accepts; the
// server's triggers.Guard must accept them too (see Trigger.ContentTypes).
var ContentTypes = []string{"application/json", FormContentType}

// Fields lists the event fields a mapping may set.
var Fields = []string{
	"id", "type",
	"conversation.id", "conversation.subject", "conversation.url", "conversation.priority", "conversation.tags",
	"customer.id", "customer.name", "customer.email",
	"message.id", "message.text",
}

var _ triggers.Trigger = (*Trigger)(nil)

// Trigger is a configured generic trigger.
type Trigger struct {
	name     string
	idHeader string
	auth     triggers.Trigger // nil for auth: none
	// bodyOnly: the signature covers the body alone (hmac without a
	// timestamp header), so an unmapped id is not taken from a header,
	// which a replay could change, but from the body's hash.
	bodyOnly bool
	// idFromRequest: the id is mapped from a header or the query.
	idFromRequest bool
	maps          []mapping
	filters       []filter
}

// mapping is one compiled entry of the map key.
type mapping struct {
	field string
	path  *jsonpath.Path
	src   string // the path as configured, for messages
	// parts and partSrcs are the paths of a composite value, joined by join.
	parts    []*jsonpath.Path
	partSrcs []string
	join     string
	header   string
	query    string
	value    string // a constant; never empty when used
	def      string
	strip    *regexp.Regexp
}

// filter is one compiled entry of the filters key.
type filter struct {
	index int
	path  *jsonpath.Path
	src   string
	re    *regexp.Regexp
}

// New builds a generic trigger from cfg: Auth with the keys of the hmac or
// token kind, Map and Filters. JSONPaths and regular expressions are
// compiled here. Errors name the key, e.g. `map[2].path: invalid JSONPath:
// ...`, `filters[0].regex: ...` or `map: message.text and conversation.id
// must be mapped`.
func New(cfg triggers.Config) (triggers.Trigger, error) {
	t := &Trigger{name: cfg.Name, idHeader: cfg.IDHeader}
	var err error
	switch cfg.Auth {
	case AuthHMAC:
		t.auth, err = hmac.New(cfg)
		t.bodyOnly = cfg.HMAC.TimestampHeader == ""
	case AuthToken:
		t.auth, err = token.New(cfg)
	case AuthNone:
		if len(cfg.AllowIPs) == 0 {
			return nil, fmt.Errorf("auth: %q requires allow_ips", AuthNone)
		}
	case "":
		return nil, fmt.Errorf("auth: required; one of %s, %s, %s", AuthHMAC, AuthToken, AuthNone)
	default:
		return nil, fmt.Errorf("auth: %q is not one of %s, %s, %s", cfg.Auth, AuthHMAC, AuthToken, AuthNone)
	}
	if err != nil {
		return nil, err
	}
	if t.idHeader != "" && !triggers.ValidHeaderName(t.idHeader) {
		return nil, fmt.Errorf("id_header: %q is not a header name", t.idHeader)
	}
	seen := map[string]bool{}
	for _, m := range cfg.Map {
		if m.Field == "id" && (m.Header != "" || m.Query != "") {
			t.idFromRequest = true
		}
	}
	for i, m := range cfg.Map {
		key := fmt.Sprintf("map[%d]", i)
		cm, err := compileMapping(key, m)
		if err != nil {
			return nil, err
		}
		if seen[cm.field] {
			return nil, fmt.Errorf("%s.field: %q is mapped twice", key, cm.field)
		}
		seen[cm.field] = true
		t.maps = append(t.maps, cm)
	}
	if !seen["message.text"] || !seen["conversation.id"] {
		return nil, fmt.Errorf("map: message.text and conversation.id must be mapped")
	}
	for i, f := range cfg.Filters {
		key := fmt.Sprintf("filters[%d]", i)
		p, err := compilePath(key+".path", f.Path)
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(f.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s.regex: %v", key, err)
		}
		t.filters = append(t.filters, filter{index: i, path: p, src: f.Path, re: re})
	}
	return t, nil
}

func compileMapping(key string, m triggers.FieldMapping) (mapping, error) {
	cm := mapping{field: m.Field, header: m.Header, query: m.Query, value: m.Value, def: m.Default}
	if !slices.Contains(Fields, m.Field) {
		return cm, fmt.Errorf("%s.field: %q is not one of %s", key, m.Field, strings.Join(Fields, ", "))
	}
	// A constant is told apart by the key being set, so the empty string
	// cannot be one; an empty constant would be pointless anyway.
	n := 0
	for _, s := range []string{m.Path, m.Header, m.Query, m.Value} {
		if s != "" {
			n++
		}
	}
	if len(m.Paths) > 0 {
		n++
	}
	if n != 1 {
		return cm, fmt.Errorf("%s: exactly one of path, paths, header, query, value is required", key)
	}
	if m.Join != "" && len(m.Paths) == 0 {
		return cm, fmt.Errorf("%s.join: only with paths", key)
	}
	if len(m.Paths) > 0 {
		if m.Field == "conversation.tags" || m.Field == "message.text" {
			return cm, fmt.Errorf("%s.paths: not for %s (a path selecting several values already yields them all)", key, m.Field)
		}
		for j, src := range m.Paths {
			p, err := compilePath(fmt.Sprintf("%s.paths[%d]", key, j), src)
			if err != nil {
				return cm, err
			}
			cm.parts, cm.partSrcs = append(cm.parts, p), append(cm.partSrcs, src)
		}
		cm.join = m.Join
		if cm.join == "" {
			cm.join = "/"
		}
	}
	if m.Path != "" {
		p, err := compilePath(key+".path", m.Path)
		if err != nil {
			return cm, err
		}
		cm.path, cm.src = p, m.Path
	}
	if m.Header != "" && !triggers.ValidHeaderName(m.Header) {
		return cm, fmt.Errorf("%s.header: %q is not a header name", key, m.Header)
	}
	if m.Strip != "" {
		re, err := regexp.Compile(m.Strip)
		if err != nil {
			return cm, fmt.Errorf("%s.strip: %v", key, err)
		}
		cm.strip = re
	}
	return cm, nil
}

func compilePath(key, s string) (*jsonpath.Path, error) {
	if s == "" {
		return nil, fmt.Errorf("%s: required", key)
	}
	p, err := jsonpath.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSONPath: %v", key, err)
	}
	return p, nil
}

// Name returns the trigger's name.
func (t *Trigger) Name() string { return t.name }

// Kind returns "generic".
func (t *Trigger) Kind() string { return Kind }

// ContentTypes returns the media types the trigger accepts: JSON and
// form-encoded. The server's guard should accept these for this trigger.
func (t *Trigger) ContentTypes() []string { return slices.Clone(ContentTypes) }

// Verify checks the request with the configured hmac or token scheme; with
// auth: none it accepts every request (the guard's allow_ips restricts the
// callers).
func (t *Trigger) Verify(r *http.Request, body []byte) error {
	if t.auth == nil {
		return nil
	}
	return t.auth.Verify(r, body)
}

// Parse decodes the body, applies the filters (an error wrapping
// bot.ErrIgnored when one does not match) and then the mappings. The event
// id is the mapped id, else the id_header (else webhook-id, else
// X-Request-Id), else a hash of the body; the type defaults to
// message.created.
func (t *Trigger) Parse(r *http.Request, body []byte) (bot.Event, error) {
	doc, err := decode(r, body)
	if err != nil {
		return bot.Event{}, err
	}
	for _, f := range t.filters {
		if !f.matches(doc) {
			return bot.Event{}, fmt.Errorf("filters[%d]: value at %s does not match %s: %w",
				f.index, f.src, f.re, bot.ErrIgnored)
		}
	}
	ev := bot.Event{Trigger: t.name, Type: bot.EventMessageCreated}
	for _, m := range t.maps {
		if err := m.apply(&ev, r, doc); err != nil {
			return bot.Event{}, err
		}
	}
	if t.bodyOnly && t.idFromRequest {
		ev.ID = "" // from a header or the query: not signed, a replay could change it
	}
	if ev.ID == "" && !t.bodyOnly {
		ev.ID = triggers.HeaderID(r, t.idHeader)
	}
	if ev.ID == "" {
		ev.ID = triggers.BodyID(body)
	}
	if err := ev.Validate(); err != nil {
		return bot.Event{}, err
	}
	return ev, nil
}

// decode returns the JSON document of the body: the body itself, the JSON
// of a form's payload field, or a form's fields as a flat object.
func decode(r *http.Request, body []byte) (any, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == FormContentType {
		if !utf8.Valid(body) {
			return nil, bot.Invalid("body", "not valid UTF-8")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, bot.Invalid("body", "invalid form encoding: %v", err)
		}
		if p, ok := form[PayloadField]; ok {
			return decodeJSON([]byte(p[0]))
		}
		obj := make(map[string]any, len(form))
		for k, vs := range form {
			if !utf8.ValidString(k) || !validStrings(vs) {
				return nil, bot.Invalid("body", "form field not valid UTF-8")
			}
			if len(vs) == 1 {
				obj[k] = vs[0]
				continue
			}
			arr := make([]any, len(vs))
			for i, v := range vs {
				arr[i] = v
			}
			obj[k] = arr
		}
		return obj, nil
	}
	return decodeJSON(body)
}

func validStrings(vs []string) bool {
	for _, v := range vs {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// decodeJSON checks the body with triggers.CheckJSON (an object, UTF-8, the
// depth cap) and decodes it keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	if err := triggers.CheckJSON(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, bot.Invalid("body", "invalid JSON: %v", err)
	}
	return doc, nil
}

// matches reports whether any node the filter selects, rendered as text,
// contains a match of its regex. A missing or null value never matches.
func (f filter) matches(doc any) bool {
	for _, n := range f.path.Select(doc) {
		s, ok := filterText(n)
		if ok && f.re.MatchString(s) {
			return true
		}
	}
	return false
}

// filterText renders a node for a filter: scalars as text, objects and
// arrays as compact JSON.
func filterText(n any) (string, bool) {
	switch v := n.(type) {
	case nil:
		return "", false
	case map[string]any, []any:
		b, err := json.Marshal(v)
		return string(b), err == nil
	}
	return scalarText(n)
}

// scalarText renders a string, number or boolean node as text; ok is false
// for null, objects and arrays.
func scalarText(n any) (string, bool) {
	switch v := n.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// apply sets the mapping's field of ev from the request.
func (m mapping) apply(ev *bot.Event, r *http.Request, doc any) error {
	if m.field == "conversation.tags" {
		tags, err := m.tags(r, doc)
		if err != nil {
			return err
		}
		ev.Conversation.Tags = tags
		return nil
	}
	if len(m.parts) > 0 {
		s, err := m.composite(doc)
		if err != nil {
			return err
		}
		set(ev, m.field, s)
		return nil
	}
	vals, err := m.values(r, doc, false)
	if err != nil {
		return err
	}
	sep := ""
	if m.field == "message.text" {
		sep = "\n"
	}
	var s string
	switch {
	case len(vals) == 0:
	case sep != "":
		s = strings.Join(vals, sep)
	default:
		s = vals[0]
	}
	if s == "" {
		s = m.def
	}
	if s == "" && (m.field == "message.text" || m.field == "conversation.id") {
		return bot.Invalid(m.field, "no value at %s", m.source())
	}
	set(ev, m.field, s)
	return nil
}

// values returns the texts the mapping's source yields, stripped, without
// empty ones. With flatten, arrays of scalars contribute their elements.
func (m mapping) values(r *http.Request, doc any, flatten bool) ([]string, error) {
	var raw []string
	switch {
	case m.path != nil:
		for _, n := range m.path.Select(doc) {
			if arr, ok := n.([]any); ok && flatten {
				for _, e := range arr {
					s, ok := scalarText(e)
					if !ok && e != nil {
						return nil, bot.Invalid(m.field, "%s selects an array holding an object or array", m.src)
					}
					raw = append(raw, s)
				}
				continue
			}
			s, ok := scalarText(n)
			if !ok {
				if n == nil {
					continue
				}
				return nil, bot.Invalid(m.field, "%s selects an object or array, not a value", m.src)
			}
			raw = append(raw, s)
		}
	case m.header != "":
		raw = []string{r.Header.Get(m.header)}
	case m.query != "":
		raw = []string{r.URL.Query().Get(m.query)}
	case m.value != "":
		raw = []string{m.value}
	}
	out := raw[:0]
	for _, s := range raw {
		if m.strip != nil {
			s = m.strip.ReplaceAllString(s, "")
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// tags returns the conversation tags: every selected scalar (arrays of
// scalars flattened) for a path, else the comma-separated items of the
// header, query, constant or default.
func (m mapping) tags(r *http.Request, doc any) ([]string, error) {
	vals, err := m.values(r, doc, true)
	if err != nil {
		return nil, err
	}
	if m.path == nil {
		vals = splitTags(strings.Join(vals, ","))
	}
	if len(vals) == 0 {
		vals = splitTags(m.def)
	}
	return vals, nil
}

func splitTags(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// source names where the mapping looks, for error messages.
// composite joins the first value of each of the mapping's paths. Every
// part must be there: an id made of the parts that happen to be present
// would merge conversations that only differ in a missing one. When one is
// missing the default is used, or the field is reported.
func (m mapping) composite(doc any) (string, error) {
	parts := make([]string, 0, len(m.parts))
	for i, p := range m.parts {
		var v string
		for _, n := range p.Select(doc) {
			if s, ok := scalarText(n); ok && n != nil {
				v = s
				break
			}
		}
		if m.strip != nil {
			v = m.strip.ReplaceAllString(v, "")
		}
		v = strings.TrimSpace(v)
		if v == "" {
			if m.def != "" {
				return m.def, nil
			}
			return "", bot.Invalid(m.field, "no value at %s", m.partSrcs[i])
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, m.join), nil
}

func (m mapping) source() string {
	switch {
	case m.path != nil:
		return m.src
	case m.header != "":
		return "header " + m.header
	case m.query != "":
		return "query parameter " + m.query
	}
	return "value"
}

func set(ev *bot.Event, field, s string) {
	switch field {
	case "id":
		ev.ID = s
	case "type":
		if s != "" {
			ev.Type = s
		}
	case "conversation.id":
		ev.Conversation.ID = s
	case "conversation.subject":
		ev.Conversation.Subject = s
	case "conversation.url":
		ev.Conversation.URL = s
	case "conversation.priority":
		ev.Conversation.Priority = s
	case "customer.id":
		ev.Customer.ID = s
	case "customer.name":
		ev.Customer.Name = s
	case "customer.email":
		ev.Customer.Email = s
	case "message.id":
		ev.Message.ID = s
	case "message.text":
		ev.Message.Text = s
	}
}
