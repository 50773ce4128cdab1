// Package triggers is supportbot's webhook intake: trigger configuration, the
// authentication and signature schemes, and the source adapters that turn a
// verified request into one bot.Event. A trigger verifies the raw body before
// anything parses it.
//
// Each kind lives in its own sub-package (triggers/standard, triggers/hmac,
// triggers/token, ...) and is constructed from a Config by its Factory;
// triggers/kinds registers the built-in kinds (it cannot live here, as the
// kinds import this package). A Set holds the triggers the server routes to
// by name.
package triggers

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// Trigger verifies and parses the webhooks of one configured source.
type Trigger interface {
	// Name is the trigger's name, the last segment of /hooks/{name}.
	Name() string
	// Kind is the trigger's kind (standard, hmac, token, ...).
	Kind() string
	// Verify checks the request's authentication over the raw body. It
	// returns an error wrapping bot.ErrUnauthorized when the signature,
	// token or timestamp does not verify.
	Verify(r *http.Request, body []byte) error
	// Parse turns a verified body into an event. It returns a
	// *bot.ValidationError naming the field that is wrong, or an error
	// wrapping bot.ErrIgnored for a request that needs no processing.
	// The returned event's Trigger and ID are set.
	Parse(r *http.Request, body []byte) (bot.Event, error)
}

// Config is one trigger as written in config.yaml (or created at run time).
// Kind-specific keys are ignored by the other kinds.
type Config struct {
	Name string `mapstructure:"name" json:"name"`
	Kind string `mapstructure:"kind" json:"kind"`

	// Secret is the inbound verification secret; Secrets lists more
	// accepted secrets, for rotation.
	Secret  string   `mapstructure:"secret" json:"-"`
	Secrets []string `mapstructure:"secrets" json:"-"`

	// Token kind: the expected token, and the header that carries it
	// ("" = Authorization: Bearer).
	Token       string `mapstructure:"token" json:"-"`
	TokenHeader string `mapstructure:"token_header" json:"token_header,omitempty"`

	// Basic auth (freshdesk).
	Username string `mapstructure:"username" json:"-"`
	Password string `mapstructure:"password" json:"-"`

	// HMAC kind.
	HMAC HMACConfig `mapstructure:"hmac" json:"hmac"`

	// IDHeader names a header whose value is the event id when the body
	// has none (hmac, token kinds). Default: webhook-id, then X-Request-Id,
	// then a hash of the body.
	IDHeader string `mapstructure:"id_header" json:"id_header,omitempty"`

	// Tolerance is the replay window for signed timestamps (default 5m).
	Tolerance time.Duration `mapstructure:"tolerance" json:"tolerance,omitempty"`
	// AllowIPs restricts callers to these CIDRs (empty: any).
	AllowIPs []string `mapstructure:"allow_ips" json:"allow_ips,omitempty"`
	// MaxBodyBytes caps the request body (default 64 KiB, chat-sized; the
	// vendor kinds, whose payloads carry the whole ticket, 1 MiB).
	MaxBodyBytes int64 `mapstructure:"max_body_bytes" json:"max_body_bytes,omitempty"`

	// Burst is the window within which consecutive messages of one
	// conversation form one turn (default 1.5s for message.created).
	Burst *time.Duration `mapstructure:"burst" json:"burst,omitempty"`

	Reply ReplyConfig `mapstructure:"reply" json:"reply"`

	// Generic kind: how requests authenticate (hmac | token | none), how
	// event fields are taken from the request, and the filters an event
	// must pass. Lists, not maps, as viper lower-cases map keys.
	Auth    string         `mapstructure:"auth" json:"auth,omitempty"`
	Map     []FieldMapping `mapstructure:"map" json:"map,omitempty"`
	Filters []FilterConfig `mapstructure:"filters" json:"filters,omitempty"`

	// EscalationBudget caps the trigger's hand-offs announced to agents
	// (see BudgetConfig).
	EscalationBudget BudgetConfig `mapstructure:"escalation_budget" json:"escalation_budget,omitempty"`

	// RateLimit caps the trigger's requests, and PerIP each caller's
	// (token buckets; zero rate: unlimited). Over the limit: 429 with
	// Retry-After, before the body is read.
	RateLimit RateConfig `mapstructure:"rate_limit" json:"rate_limit,omitempty"`
	PerIP     RateConfig `mapstructure:"per_ip" json:"per_ip,omitempty"`

	// Confirm asks "Did that answer your question?" after each bot answer
	// (nil: on for the web kind, off for the others); Greeting replaces
	// conversation.greeting for this trigger.
	Confirm  *bool  `mapstructure:"confirm" json:"confirm,omitempty"`
	Greeting string `mapstructure:"greeting" json:"greeting,omitempty"`
}

// BudgetConfig is an escalation budget: at most Max hand-offs announced to
// agents in any Window (default one minute); the others wait, none is
// dropped. Max 0 means the kind's default (10 for web, none for the
// others), -1 no budget.
type BudgetConfig struct {
	Max    int           `mapstructure:"max" json:"max,omitempty"`
	Window time.Duration `mapstructure:"window" json:"window,omitempty"`
}

// Default escalation budget of web chat triggers, whose visitors are
// anonymous.
const (
	DefaultWebBudgetMax = 10
	DefaultBudgetWindow = time.Minute
	webKind             = "web"
)

// Budget returns the trigger's effective escalation budget: ok is false
// when it has none.
func (c Config) Budget() (max int, window time.Duration, ok bool) {
	max = c.EscalationBudget.Max
	if max == 0 && c.Kind == webKind {
		max = DefaultWebBudgetMax
	}
	if max <= 0 {
		return 0, 0, false
	}
	window = c.EscalationBudget.Window
	if window <= 0 {
		window = DefaultBudgetWindow
	}
	return max, window, true
}

// RateConfig is a token bucket: Rate requests per second, Burst at once
// (default: Rate rounded up, at least 1).
type RateConfig struct {
	Rate  float64 `mapstructure:"rate" json:"rate,omitempty"`
	Burst int     `mapstructure:"burst" json:"burst,omitempty"`
}

// FieldMapping sets one event field of a generic trigger from exactly one
// source: a JSONPath over the body, a header, a query parameter or a
// constant value.
type FieldMapping struct {
	Field string `mapstructure:"field" json:"field"`
	Path  string `mapstructure:"path" json:"path,omitempty"`
	// Paths build one value from several JSONPaths, their values joined
	// with Join (default "/"): a conversation id that is unique only with
	// its repository or account, such as ["$.repository.full_name",
	// "$.issue.number"].
	Paths  []string `mapstructure:"paths" json:"paths,omitempty"`
	Join   string   `mapstructure:"join" json:"join,omitempty"`
	Header string   `mapstructure:"header" json:"header,omitempty"`
	Query  string   `mapstructure:"query" json:"query,omitempty"`
	Value  string   `mapstructure:"value" json:"value,omitempty"`
	// Default is used when the source yields nothing (or only text that
	// Strip removes).
	Default string `mapstructure:"default" json:"default,omitempty"`
	// Strip is a regular expression whose matches are removed from the
	// value, like the Generic Webhook Trigger's regexpFilter.
	Strip string `mapstructure:"strip" json:"strip,omitempty"`
}

// FilterConfig admits only events whose value at Path matches Regex (a
// find, so anchor with ^ and $); a generic trigger ignores the others.
type FilterConfig struct {
	Path  string `mapstructure:"path" json:"path"`
	Regex string `mapstructure:"regex" json:"regex"`
}

// HMACConfig configures the generic HMAC scheme (GitHub-style and most vendors).
type HMACConfig struct {
	Header          string `mapstructure:"header" json:"header,omitempty"`       // default X-Signature
	Algorithm       string `mapstructure:"algorithm" json:"algorithm,omitempty"` // sha256 (default) | sha1 | sha512
	Encoding        string `mapstructure:"encoding" json:"encoding,omitempty"`   // hex (default) | base64
	Prefix          string `mapstructure:"prefix" json:"prefix,omitempty"`       // e.g. "sha256="
	TimestampHeader string `mapstructure:"timestamp_header" json:"timestamp_header,omitempty"`
	// Template of the signed content when a timestamp is used; {timestamp}
	// and {body} are replaced. Default "{timestamp}.{body}".
	Signed string `mapstructure:"signed" json:"signed,omitempty"`
}

// ReplyConfig is where a trigger's replies go.
type ReplyConfig struct {
	Kind   string `mapstructure:"kind" json:"kind"` // webhook | none | vendor kinds
	URL    string `mapstructure:"url" json:"url,omitempty"`
	Secret string `mapstructure:"secret" json:"-"`
	// Timeout of one delivery attempt (default 10s).
	Timeout time.Duration `mapstructure:"timeout" json:"timeout,omitempty"`
	// Vendor API settings; each vendor kind names the ones it needs.
	BaseURL        string `mapstructure:"base_url" json:"base_url,omitempty"`
	AccountID      string `mapstructure:"account_id" json:"account_id,omitempty"`
	APIAccessToken string `mapstructure:"api_access_token" json:"-"`    // chatwoot
	Email          string `mapstructure:"email" json:"email,omitempty"` // zendesk: the API user
	APIToken       string `mapstructure:"api_token" json:"-"`           // zendesk
	APIKey         string `mapstructure:"api_key" json:"-"`             // freshdesk
	AccessToken    string `mapstructure:"access_token" json:"-"`        // intercom
	AdminID        string `mapstructure:"admin_id" json:"admin_id,omitempty"`
	AppID          string `mapstructure:"app_id" json:"app_id,omitempty"` // help scout OAuth client id
	AppSecret      string `mapstructure:"app_secret" json:"-"`            // help scout OAuth client secret
	// EscalationTag is the tag put on the ticket at a hand-off (default
	// supportbot-escalated).
	EscalationTag string `mapstructure:"escalation_tag" json:"escalation_tag,omitempty"`
}

// Defaults.
const (
	DefaultMaxBodyBytes = 64 << 10
	// VendorMaxBodyBytes is the default of the kinds in VendorKinds.
	VendorMaxBodyBytes = 1 << 20
	DefaultTolerance   = 5 * time.Minute
	DefaultBurst       = 1500 * time.Millisecond
)

// VendorKinds are the kinds whose payloads are a vendor's whole ticket or
// conversation (its thread, its custom fields, a contact's attributes), not
// one chat message: their default body limit is VendorMaxBodyBytes.
var VendorKinds = map[string]bool{
	"zendesk": true, "freshdesk": true, "intercom": true, "helpscout": true, "chatwoot": true,
}

// BodyLimit returns the configured body limit, or the kind's default.
func (c *Config) BodyLimit() int64 {
	switch {
	case c.MaxBodyBytes != 0:
		return c.MaxBodyBytes
	case VendorKinds[c.Kind]:
		return VendorMaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// BurstWindow returns the configured burst window, or the default.
func (c *Config) BurstWindow() time.Duration {
	if c.Burst != nil {
		return *c.Burst
	}
	return DefaultBurst
}

// AllSecrets returns Secret and Secrets, without empty ones.
func (c *Config) AllSecrets() []string {
	var out []string
	for _, s := range append([]string{c.Secret}, c.Secrets...) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Factory builds a Trigger of one kind from its config. It returns an error
// naming the config key that is missing or invalid.
type Factory func(cfg Config) (Trigger, error)

// Kinds maps a kind name to its factory.
type Kinds map[string]Factory

// Names returns the registered kind names, sorted.
func (k Kinds) Names() []string {
	out := make([]string, 0, len(k))
	for n := range k {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Entry is a trigger with the options every kind shares.
type Entry struct {
	Trigger
	Config  Config
	Guard   *Guard
	Limiter *Limiter // nil: no rate limit
}

// Set holds the live triggers by name. It is safe for concurrent use; run-time
// triggers are added and removed while the server runs.
type Set struct {
	mu sync.RWMutex
	m  map[string]*Entry
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{m: map[string]*Entry{}} }

// Build constructs a trigger from cfg with the factory of its kind.
func (k Kinds) Build(cfg Config) (*Entry, error) {
	if err := CheckName(cfg.Name); err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	f, ok := k[cfg.Kind]
	if !ok {
		return nil, fmt.Errorf("kind: %q is not one of %v", cfg.Kind, k.Names())
	}
	g, err := NewGuard(cfg)
	if err != nil {
		return nil, err
	}
	lim, err := NewLimiter(cfg)
	if err != nil {
		return nil, err
	}
	t, err := f(cfg)
	if err != nil {
		return nil, err
	}
	// A kind that takes more than JSON (form bodies) says so.
	if ct, ok := t.(interface{ ContentTypes() []string }); ok {
		g.ContentTypes = ct.ContentTypes()
	}
	return &Entry{Trigger: t, Config: cfg, Guard: g, Limiter: lim}, nil
}

// CheckName reports whether name can be a trigger's name (the last segment
// of /hooks/{name}): 1 to 128 letters, digits, '-' and '_'.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("required")
	case !validName(name):
		return fmt.Errorf("%q may hold only letters, digits, '-' and '_'", name)
	}
	return nil
}

func validName(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// Put adds or replaces a trigger.
func (s *Set) Put(e *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[e.Name()] = e
}

// Delete removes a trigger by name.
func (s *Set) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// Get returns the trigger named name.
func (s *Set) Get(name string) (*Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.m[name]
	return e, ok
}

// All returns every trigger, sorted by name.
func (s *Set) All() []*Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Entry, 0, len(s.m))
	for _, e := range s.m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
