package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/slack"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/triggers"
)

// Config is the whole configuration, decoded from config.yaml, defaults and
// SUPPORTBOT_* environment variables.
type Config struct {
	Server   ServerConfig      `mapstructure:"server"`
	Storage  StorageConfig     `mapstructure:"storage"`
	FAQ      FAQConfig         `mapstructure:"faq"`
	LLM      LLMConfig         `mapstructure:"llm"`
	Slack    SlackConfig       `mapstructure:"slack"`
	Outbound OutboundConfig    `mapstructure:"outbound"`
	Workers  WorkersConfig     `mapstructure:"workers"`
	Bot      BotConfig         `mapstructure:"bot"`
	Log      LogConfig         `mapstructure:"log"`
	Prompts  PromptsConfig     `mapstructure:"prompts"`
	Triggers []triggers.Config `mapstructure:"triggers"`
	WebChat  WebChatConfig     `mapstructure:"webchat"`

	// Warnings are problems that do not stop the service (an unknown
	// SUPPORTBOT_* variable, no trigger); serve logs them at start.
	Warnings []string `mapstructure:"-"`

	Conversation ConversationConfig `mapstructure:"conversation"`

	Knowledge KnowledgeConfig `mapstructure:"knowledge"`
}

// KnowledgeConfig is the help-center articles beside the FAQ.
type KnowledgeConfig struct {
	// Articles is the directory of article files (Markdown, HTML) that
	// `supportbot kb import` writes to (empty: none).
	Articles string `mapstructure:"articles"`
	// Threshold is the passage relevancy a local answer needs (0: the
	// index's measured default).
	Threshold float64 `mapstructure:"threshold"`
	// Passages is the number of passages shown to agents and the LLM.
	Passages int `mapstructure:"passages"`

	// cacheDir keeps the built index by content hash (articles-cache
	// beside the database, set by LoadConfig; empty: no cache).
	cacheDir string
}

// ConversationConfig is the conversation around the answer: the bot's
// replies to greetings, thanks and goodbyes, and the confirm question.
type ConversationConfig struct {
	// Acts turns the recognition of conversation acts on.
	Acts bool `mapstructure:"acts"`
	// ActsFile replaces the built-in phrase list (empty: built in).
	ActsFile    string `mapstructure:"acts_file"`
	Greeting    string `mapstructure:"greeting"`
	Closing     string `mapstructure:"closing"`
	Welcome     string `mapstructure:"welcome"`
	Goodbye     string `mapstructure:"goodbye"`
	ConfirmText string `mapstructure:"confirm_text"`
	// AskCloseCalls asks the customer which of two equally close FAQ
	// entries they mean instead of escalating with reason ambiguous;
	// ChoiceText introduces the two ("Did you mean: A, or B?").
	AskCloseCalls bool   `mapstructure:"ask_close_calls"`
	ChoiceText    string `mapstructure:"choice_text"`
}

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Addr            string        `mapstructure:"addr"`
	PublicURL       string        `mapstructure:"public_url"`
	AdminToken      string        `mapstructure:"admin_token"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// Bodies bounds the webhook bodies being read at once.
	Bodies BodiesConfig `mapstructure:"bodies"`
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For
	// names the client; empty: the TCP peer is the client.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// BodiesConfig is server.bodies: bytes of request bodies in flight, in all,
// per trigger and per client address (over a cap: 503 with Retry-After),
// and how long one body may take to arrive.
type BodiesConfig struct {
	InFlight   int64         `mapstructure:"in_flight"`
	PerTrigger int64         `mapstructure:"per_trigger"`
	PerAddress int64         `mapstructure:"per_address"`
	Timeout    time.Duration `mapstructure:"timeout"`
}

// StorageConfig is the database.
type StorageConfig struct {
	Path string `mapstructure:"path"`
	// Retention is the age past which resolved conversations, events,
	// finished jobs and audit rows are deleted (0: kept forever).
	Retention         time.Duration `mapstructure:"retention"`
	RetentionInterval time.Duration `mapstructure:"retention_interval"`
	// AuditRetention is the age past which audit rows and counts of
	// refused requests are deleted, whatever Retention says (0: kept).
	AuditRetention time.Duration `mapstructure:"audit_retention"`
	// ArchiveDir, when set, receives each conversation as a JSON line
	// before it is deleted.
	ArchiveDir string `mapstructure:"archive_dir"`
}

// FAQConfig is the knowledge base and the local matcher.
type FAQConfig struct {
	Path      string  `mapstructure:"path"`
	Threshold float64 `mapstructure:"threshold"`
	TopK      int     `mapstructure:"top_k"`
	// AutoApproveExamples writes the questions agents answer with an
	// entry ("Send FAQ answer") straight into the entry's examples,
	// instead of leaving them as suggestions to review.
	AutoApproveExamples bool `mapstructure:"auto_approve_examples"`
}

// LLMConfig is the OpenAI-compatible model.
type LLMConfig struct {
	Mode            string        `mapstructure:"mode"`
	BaseURL         string        `mapstructure:"base_url"`
	Model           string        `mapstructure:"model"`
	APIKey          string        `mapstructure:"api_key"`
	Timeout         time.Duration `mapstructure:"timeout"`
	MinConfidence   float64       `mapstructure:"min_confidence"`
	UnsureBand      float64       `mapstructure:"unsure_band"`
	MaxRetries      int           `mapstructure:"max_retries"`
	MaxRetryAfter   time.Duration `mapstructure:"max_retry_after"`
	BreakerFailures int           `mapstructure:"breaker_failures"`
	BreakerCooldown time.Duration `mapstructure:"breaker_cooldown"`
	MaxTokens       int           `mapstructure:"max_tokens"`
	HistoryTurns    int           `mapstructure:"history_turns"`
	// MinSupport, AllowedLinks and MinRelevance are the grounding check
	// of LLM answers (policy.Policy's fields of the same names).
	MinSupport   float64  `mapstructure:"min_support"`
	AllowedLinks []string `mapstructure:"allowed_links"`
	MinRelevance float64  `mapstructure:"min_relevance"`
	// Candidates entries go to the model (a knowledge base that fits
	// ContextBudget tokens goes whole); EmbeddingModel, when set, ranks
	// them with embeddings fused with the matcher's ranking.
	Candidates     int    `mapstructure:"candidates"`
	ContextBudget  int    `mapstructure:"context_budget"`
	EmbeddingModel string `mapstructure:"embedding_model"`
}

// PromptsConfig points at a directory of templates overriding the embedded ones.
type PromptsConfig struct {
	Dir string `mapstructure:"dir"`
}

// SlackConfig is the agents' side.
type SlackConfig struct {
	BotToken      string `mapstructure:"bot_token"`
	SigningSecret string `mapstructure:"signing_secret"`
	AppToken      string `mapstructure:"app_token"`
	Channel       string `mapstructure:"channel"`
	APIURL        string `mapstructure:"api_url"`
	NotePrefix    string `mapstructure:"note_prefix"`
	Relay         string `mapstructure:"relay"`
	RelayPrefix   string `mapstructure:"relay_prefix"`
	ClosingText   string `mapstructure:"closing_text"`
	// ReannounceAfter re-posts an unclaimed escalation (0: never), with Mention.
	ReannounceAfter time.Duration `mapstructure:"reannounce_after"`
	Mention         string        `mapstructure:"mention"`
}

// OutboundConfig governs outbound calls.
type OutboundConfig struct {
	AllowPrivateNetworks bool `mapstructure:"allow_private_networks"`
}

// WorkersConfig is the job runner.
type WorkersConfig struct {
	Count       int           `mapstructure:"count"`
	MaxAttempts int           `mapstructure:"max_attempts"`
	BackoffBase time.Duration `mapstructure:"backoff_base"`
	BackoffMax  time.Duration `mapstructure:"backoff_max"`
	Lease       time.Duration `mapstructure:"lease"`
}

// BotConfig is the engine's wording and policy.
type BotConfig struct {
	HandoffText   string `mapstructure:"handoff_text"`
	RephraseTurns int    `mapstructure:"rephrase_turns"`
	RephraseText  string `mapstructure:"rephrase_text"`
	// MaxFailedTurns is accepted and ignored: rephrase_turns replaced it.
	MaxFailedTurns     int           `mapstructure:"max_failed_turns"`
	RepeatSimilarity   float64       `mapstructure:"repeat_similarity"`
	CloseMargin        float64       `mapstructure:"close_margin"`
	SensitiveTopics    []string      `mapstructure:"sensitive_topics"`
	SensitiveTags      []string      `mapstructure:"sensitive_tags"`
	EscalatePriorities []string      `mapstructure:"escalate_priorities"`
	NoAgentAfter       time.Duration `mapstructure:"no_agent_after"`
	ResolveIdleAfter   time.Duration `mapstructure:"resolve_idle_after"`
	NoAgentText        string        `mapstructure:"no_agent_text"`
	AfterHoursText     string        `mapstructure:"after_hours_text"`
	BusinessHours      string        `mapstructure:"business_hours"`
	Timezone           string        `mapstructure:"timezone"`
}

// LogConfig is the log output.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// defaults lists every scalar key with its default: viper only applies
// environment overrides to keys it knows.
var defaults = map[string]any{
	"server.addr":                     ":8080",
	"server.public_url":               "", // empty: derived from server.addr
	"server.admin_token":              "",
	"server.shutdown_timeout":         "10s",
	"server.trusted_proxies":          []string{},
	"server.bodies.in_flight":         64 << 20,
	"server.bodies.per_trigger":       16 << 20,
	"server.bodies.per_address":       4 << 20,
	"server.bodies.timeout":           "10s",
	"storage.path":                    "data/supportbot.db",
	"storage.retention":               "0s",
	"storage.retention_interval":      "1h",
	"storage.audit_retention":         "720h",
	"storage.archive_dir":             "",
	"faq.path":                        "faq/kb",
	"knowledge.articles":              "",
	"knowledge.threshold":             0.0,
	"knowledge.passages":              4,
	"faq.threshold":                   0.0,
	"faq.top_k":                       3,
	"faq.auto_approve_examples":       false,
	"llm.mode":                        "off",
	"llm.base_url":                    "https://api.openai.com/v1",
	"llm.model":                       "gpt-4o-mini",
	"llm.api_key":                     "",
	"llm.timeout":                     "30s",
	"llm.min_confidence":              0.6,
	"llm.unsure_band":                 0.15,
	"llm.max_retries":                 2,
	"llm.max_retry_after":             "5s",
	"llm.breaker_failures":            5,
	"llm.breaker_cooldown":            "30s",
	"llm.max_tokens":                  600,
	"llm.history_turns":               6,
	"llm.min_support":                 0.4,
	"llm.allowed_links":               []string{},
	"llm.min_relevance":               0.5,
	"llm.candidates":                  10,
	"llm.context_budget":              3000,
	"llm.embedding_model":             "",
	"prompts.dir":                     "",
	"slack.bot_token":                 "",
	"slack.signing_secret":            "",
	"slack.app_token":                 "",
	"slack.channel":                   "",
	"slack.api_url":                   "",
	"slack.note_prefix":               "//",
	"slack.relay":                     "all",
	"slack.relay_prefix":              ">>",
	"slack.closing_text":              "",
	"slack.reannounce_after":          "15m",
	"slack.mention":                   "",
	"outbound.allow_private_networks": false,
	"workers.count":                   32,
	"workers.max_attempts":            10,
	"workers.backoff_base":            "1s",
	"workers.backoff_max":             "1h",
	"workers.lease":                   "5m",
	"bot.handoff_text":                "",
	"bot.max_failed_turns":            0,
	"bot.rephrase_turns":              0,
	"bot.rephrase_text":               "",
	"bot.repeat_similarity":           0.6,
	"bot.close_margin":                0.02,
	"bot.sensitive_topics":            []string{},
	"bot.sensitive_tags":              []string{},
	"bot.escalate_priorities":         []string{},
	"bot.no_agent_after":              "10m",
	"bot.resolve_idle_after":          "24h",
	"bot.no_agent_text":               "",
	"bot.after_hours_text":            "",
	"bot.business_hours":              "",
	"bot.timezone":                    "UTC",
	"log.level":                       "info",
	"log.format":                      "text",
	"webchat.title":                   "Support",
	"webchat.greeting":                webchat.DefaultGreeting,
	"webchat.frame_ancestors":         []string{},
	"webchat.per_visitor.rate":        0.5,
	"webchat.per_visitor.burst":       10,
	"webchat.session_ttl":             "720h",
	"webchat.heartbeat":               "25s",
	"conversation.acts":               true,
	"conversation.acts_file":          "",
	"conversation.greeting":           worker.DefaultGreetingText,
	"conversation.closing":            worker.DefaultClosingText,
	"conversation.welcome":            worker.DefaultWelcomeText,
	"conversation.goodbye":            worker.DefaultGoodbyeText,
	"conversation.confirm_text":       worker.DefaultConfirmText,
	"webchat.stream_token_ttl":        "10m",
	"webchat.streams.per_visitor":     3,
	"webchat.streams.per_address":     32,
	"webchat.streams.max":             2000,
	"webchat.streams.lifetime":        "15m",
	"conversation.ask_close_calls":    true,
	"conversation.choice_text":        worker.DefaultChoiceText,
}

// ConfigError is a configuration problem; the CLI exits with status 2.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "config: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads path (optional when empty or missing and not explicit),
// applies defaults and SUPPORTBOT_* overrides, and validates the result.
func LoadConfig(path string, explicit bool) (Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("SUPPORTBOT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			if !errors.Is(err, fs.ErrNotExist) || explicit {
				return Config{}, &ConfigError{fmt.Errorf("read %s: %w", path, err)}
			}
		}
	}
	var cfg Config
	err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		durationHook,
		mapstructure.StringToSliceHookFunc(","),
		durationPtrHook,
	)))
	if err != nil {
		return Config{}, &ConfigError{cleanDecodeError(err)}
	}
	triggerEnv(&cfg, os.LookupEnv)
	if cfg.Server.PublicURL == "" {
		cfg.Server.PublicURL = publicURLFor(cfg.Server.Addr)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, &ConfigError{err}
	}
	cfg.Knowledge.cacheDir = filepath.Join(filepath.Dir(cfg.Storage.Path), "articles-cache")
	cfg.Warnings = configWarnings(&cfg, os.Environ())
	return cfg, nil
}

// publicURLFor is the address links should use when server.public_url is
// not set: the listen address on localhost (or its host, when one is named).
func publicURLFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "http://localhost:8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// configWarnings lists what an operator most likely got wrong without
// making the config invalid: a SUPPORTBOT_* variable that names no key (a
// typo is otherwise silently ignored), and a config with no trigger.
func configWarnings(cfg *Config, environ []string) []string {
	known := map[string]bool{}
	for k := range defaults {
		known["SUPPORTBOT_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = true
	}
	var warn []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SUPPORTBOT_") || known[name] || name == kbTokenEnv {
			continue
		}
		if strings.HasPrefix(name, "SUPPORTBOT_TRIGGERS_") && triggerEnvKnown(cfg, name) {
			continue
		}
		warn = append(warn, fmt.Sprintf("environment variable %s sets no configuration key; it is ignored", name))
	}
	sort.Strings(warn)
	if len(cfg.Triggers) == 0 {
		warn = append(warn, "no trigger is configured: nothing can post to /hooks/ (see triggers: in config.yaml)")
	}
	return warn
}

func triggerEnvKnown(cfg *Config, name string) bool {
	for i := range cfg.Triggers {
		prefix := "SUPPORTBOT_TRIGGERS_" + envName(cfg.Triggers[i].Name) + "_"
		if key, ok := strings.CutPrefix(name, prefix); ok && triggerEnvFields(&cfg.Triggers[i])[key] != nil {
			return true
		}
	}
	return false
}

// triggerEnv applies the environment to the credentials of each trigger,
// which viper cannot reach inside the triggers list:
// SUPPORTBOT_TRIGGERS_<NAME>_<KEY>, NAME the trigger's name in capitals with
// every other character than a letter or digit as "_" (trigger "help-desk":
// SUPPORTBOT_TRIGGERS_HELP_DESK_SECRET, ..._REPLY_API_TOKEN).
func triggerEnv(cfg *Config, lookup func(string) (string, bool)) {
	for i := range cfg.Triggers {
		t := &cfg.Triggers[i]
		prefix := "SUPPORTBOT_TRIGGERS_" + envName(t.Name) + "_"
		for key, field := range triggerEnvFields(t) {
			if v, ok := lookup(prefix + key); ok {
				*field = v
			}
		}
	}
}

// triggerEnvFields are the credentials of t settable from the environment,
// by the key after SUPPORTBOT_TRIGGERS_<NAME>_.
func triggerEnvFields(t *triggers.Config) map[string]*string {
	return map[string]*string{
		"SECRET": &t.Secret, "TOKEN": &t.Token, "USERNAME": &t.Username, "PASSWORD": &t.Password,
		"REPLY_URL": &t.Reply.URL, "REPLY_SECRET": &t.Reply.Secret, "REPLY_BASE_URL": &t.Reply.BaseURL,
		"REPLY_API_ACCESS_TOKEN": &t.Reply.APIAccessToken, "REPLY_EMAIL": &t.Reply.Email,
		"REPLY_API_TOKEN": &t.Reply.APIToken, "REPLY_API_KEY": &t.Reply.APIKey,
		"REPLY_ACCESS_TOKEN": &t.Reply.AccessToken, "REPLY_APP_SECRET": &t.Reply.AppSecret,
	}
}

func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// durationHook decodes "1.5s" into a time.Duration, with an error that
// quotes the value and shows the form (mapstructure's own cuts the message
// short).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	if d, ok := data.(string); ok {
		return parseDuration(d)
	}
	return data, nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write a number and a unit, such as 30s, 5m or 1h30m", s)
	}
	return v, nil
}

// durationPtrHook decodes "1.5s" into a *time.Duration.
func durationPtrHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf((*time.Duration)(nil)) {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		v, err := parseDuration(d)
		if err != nil {
			return nil, err
		}
		return &v, nil
	case int:
		v := time.Duration(d) * time.Second
		return &v, nil
	}
	return data, nil
}

var decodeNoise = regexp.MustCompile(`(?s)^decoding failed due to the following error\(s\):\s*`)

func cleanDecodeError(err error) error {
	msg := decodeNoise.ReplaceAllString(err.Error(), "")
	msg = strings.ReplaceAll(msg, "\n\n", "; ")
	msg = strings.ReplaceAll(msg, "'", "")
	return errors.New(strings.TrimSpace(msg))
}

// Validate checks every key and names the one that is wrong.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Server.Addr == "" {
		add("server.addr", "required")
	}
	if err := deliver.CheckURL(c.Server.PublicURL); err != nil {
		add("server.public_url", "%v", err)
	}
	if c.Server.ShutdownTimeout <= 0 {
		add("server.shutdown_timeout", "must be positive")
	}
	if c.Server.Bodies.InFlight < 0 || c.Server.Bodies.PerTrigger < 0 || c.Server.Bodies.PerAddress < 0 {
		add("server.bodies", "in_flight, per_trigger and per_address must not be negative")
	}
	if c.Server.Bodies.Timeout < 0 || (c.Server.Bodies.Timeout > 0 && c.Server.Bodies.Timeout < time.Second) {
		add("server.bodies.timeout", "must be at least 1s")
	}
	if _, err := server.ParseTrustedProxies(c.Server.TrustedProxies); err != nil {
		add("server", "%v", err)
	}
	if c.Storage.Path == "" {
		add("storage.path", "required")
	}
	if c.Storage.Retention != 0 && c.Storage.Retention < worker.MinRetention {
		add("storage.retention", "must be 0 (keep forever) or at least %s: the inbox is what makes a redelivered webhook a no-op", worker.MinRetention)
	}
	if c.Storage.AuditRetention != 0 && c.Storage.AuditRetention < time.Hour {
		add("storage.audit_retention", "must be 0 (keep forever) or at least 1h")
	}
	if c.Storage.RetentionInterval < time.Minute {
		add("storage.retention_interval", "must be at least 1m")
	}
	if c.FAQ.Threshold < 0 || c.FAQ.Threshold > 1 {
		add("faq.threshold", "must be between 0 and 1 (0: the matcher's default)")
	}
	if c.FAQ.TopK < 1 || c.FAQ.TopK > 20 {
		add("faq.top_k", "must be between 1 and 20")
	}
	if c.Knowledge.Threshold < 0 || c.Knowledge.Threshold > 1 {
		add("knowledge.threshold", "must be between 0 and 1 (0: the measured default)")
	}
	if c.Knowledge.Passages < 1 || c.Knowledge.Passages > 20 {
		add("knowledge.passages", "must be between 1 and 20")
	}
	switch c.LLM.Mode {
	case "off":
	case "fallback", "always":
		if err := deliver.CheckURL(c.LLM.BaseURL); err != nil {
			add("llm.base_url", "%v", err)
		}
		if c.LLM.Model == "" {
			add("llm.model", "required when llm.mode is %s", c.LLM.Mode)
		}
	default:
		add("llm.mode", "%q is not one of off, fallback, always", c.LLM.Mode)
	}
	if c.LLM.Timeout <= 0 {
		add("llm.timeout", "must be positive")
	}
	if c.LLM.MinConfidence < 0 || c.LLM.MinConfidence > 1 {
		add("llm.min_confidence", "must be between 0 and 1")
	}
	if c.LLM.UnsureBand < 0 || c.LLM.UnsureBand > 1 {
		add("llm.unsure_band", "must be between 0 and 1")
	}
	if c.LLM.MinSupport < 0 || c.LLM.MinSupport > 1 {
		add("llm.min_support", "must be between 0 and 1 (0: check facts and the system prompt only)")
	}
	if c.LLM.MinRelevance < 0 || c.LLM.MinRelevance > 1 {
		add("llm.min_relevance", "must be between 0 and 1 (0: always ask)")
	}
	if c.LLM.Candidates < 1 || c.LLM.Candidates > 100 {
		add("llm.candidates", "must be between 1 and 100")
	}
	if c.LLM.ContextBudget < 0 {
		add("llm.context_budget", "must not be negative (0: never the whole knowledge base)")
	}
	for i, l := range c.LLM.AllowedLinks {
		if l = strings.TrimSpace(l); l == "" || strings.ContainsAny(l, " \t\n") {
			add(fmt.Sprintf("llm.allowed_links[%d]", i), "%q is not a domain or URL prefix", l)
		}
	}
	if c.Bot.CloseMargin < 0 || c.Bot.CloseMargin > 1 {
		add("bot.close_margin", "must be between 0 and 1 (0: off)")
	}
	if c.Bot.RephraseTurns < 0 {
		add("bot.rephrase_turns", "must not be negative (0: escalate the first unanswerable turn)")
	}
	if c.Bot.RepeatSimilarity < 0 || c.Bot.RepeatSimilarity > 1 {
		add("bot.repeat_similarity", "must be between 0 and 1 (0: off)")
	}
	if _, err := worker.ParseBusinessHours(c.Bot.BusinessHours, c.Bot.Timezone); err != nil {
		add("bot.business_hours", "%v", err)
	}
	if c.Bot.ResolveIdleAfter < 0 {
		add("bot.resolve_idle_after", "must not be negative (0: never)")
	}
	if c.Bot.NoAgentAfter < 0 {
		add("bot.no_agent_after", "must not be negative (0: off)")
	}
	if _, err := slack.MentionMarkup(c.Slack.Mention); err != nil {
		add("slack.mention", "%v", err)
	}
	if c.Slack.ReannounceAfter < 0 {
		add("slack.reannounce_after", "must not be negative (0: off)")
	}
	if c.Slack.BotToken != "" {
		if c.Slack.Channel == "" {
			add("slack.channel", "required when slack.bot_token is set")
		}
		if c.Slack.AppToken == "" && c.Slack.SigningSecret == "" {
			add("slack.signing_secret", "required when slack.bot_token is set without slack.app_token")
		}
	}
	if c.Slack.APIURL != "" {
		if err := deliver.CheckURL(c.Slack.APIURL); err != nil {
			add("slack.api_url", "%v", err)
		}
	}
	if c.Workers.Count < 1 || c.Workers.Count > 256 {
		add("workers.count", "must be between 1 and 256")
	}
	if c.Workers.MaxAttempts < 1 {
		add("workers.max_attempts", "must be at least 1")
	}
	if c.Workers.BackoffBase <= 0 {
		add("workers.backoff_base", "must be positive")
	}
	if c.Workers.BackoffMax < c.Workers.BackoffBase {
		add("workers.backoff_max", "must be at least workers.backoff_base")
	}
	if c.Workers.Lease < 10*time.Second {
		add("workers.lease", "must be at least 10s")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q is not one of text, json", c.Log.Format)
	}
	seen := map[string]bool{}
	for i, t := range c.Triggers {
		key := fmt.Sprintf("triggers[%d]", i)
		if t.Name != "" {
			key = fmt.Sprintf("triggers[%d] (%s)", i, t.Name)
		}
		if err := triggers.CheckName(t.Name); err != nil {
			add(key+".name", "%v", err)
		}
		if b := t.EscalationBudget; b.Max < -1 || b.Window < 0 {
			add(key+".escalation_budget", "max must be -1 (none), 0 (the kind's default) or more, and window not negative")
		}
		if seen[t.Name] {
			add(key+".name", "duplicate trigger name")
		}
		seen[t.Name] = true
		switch t.Reply.Kind {
		case "none":
		case "webhook":
			if err := deliver.CheckURL(t.Reply.URL); err != nil {
				add(key+".reply.url", "%v", err)
			}
		case "":
			add(key+".reply.kind", "required (%s)", strings.Join(replyKindNames(), ", "))
		default:
			if f, ok := replyKinds[t.Reply.Kind]; !ok {
				add(key+".reply.kind", "%q is not one of %s", t.Reply.Kind, strings.Join(replyKindNames(), ", "))
			} else if _, err := f(t.Reply, nil); err != nil {
				errs = append(errs, fmt.Errorf("%s.%w", key, err)) // err names reply.<key>
			}
		}
		if t.Reply.Timeout < 0 {
			add(key+".reply.timeout", "must be positive")
		}
		// A credential anyone could guess verifies nothing: a one-byte key
		// ("x") used to start without a word.
		for k, v := range map[string]string{"secret": t.Secret, "token": t.Token, "password": t.Password} {
			if v != "" && len(v) < minInboundSecret {
				add(key+"."+k, "too short (%d bytes); use at least %d random bytes", len(v), minInboundSecret)
			}
		}
		for j, v := range t.Secrets {
			if v != "" && len(v) < minInboundSecret {
				add(fmt.Sprintf("%s.secrets[%d]", key, j), "too short (%d bytes); use at least %d random bytes", len(v), minInboundSecret)
			}
		}
		if t.Burst != nil && (*t.Burst < 0 || *t.Burst > time.Minute) {
			add(key+".burst", "must be between 0s and 1m")
		}
	}
	errs = append(errs, checkWebChat(c), checkConversation(c))
	return errors.Join(errs...)
}

// minInboundSecret is the shortest inbound secret, token or password
// accepted at start. Generated ones have 32 random bytes.
const minInboundSecret = 8

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
