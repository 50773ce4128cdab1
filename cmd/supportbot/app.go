package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/metrics"
	"github.com/supportbot/supportbot/bot/openai"
	"github.com/supportbot/supportbot/bot/policy"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/slack"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/bot/worker"
	"github.com/supportbot/supportbot/faq/articles"
	"github.com/supportbot/supportbot/prompts"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/kinds"
)

// Main is the running service: everything serve wires together. Tests build
// it with a temporary database and a :0 address.
type Main struct {
	Config Config
	Logger *slog.Logger
	// HTTPClient, when set, is used for outbound replies (tests).
	HTTPClient *http.Client
	// DeferWorkers leaves the job runner stopped until StartWorkers (bench:
	// intake measured on its own).
	DeferWorkers bool
	// StoreOptions, when set, adjusts the store before it opens (tests).
	StoreOptions func(*sqlite.Store)

	Store    *sqlite.Store
	Triggers *triggers.Set
	Runner   *worker.Runner
	Server   *server.Server
	FAQ      *faqService
	// Articles is the help-center index, nil when knowledge.articles is off.
	Articles *articleService
	Metrics  *metrics.Metrics
	Slack    *slack.Escalator
	// FollowUps re-announces unclaimed escalations and tells waiting customers.
	FollowUps *worker.FollowUps
	// Retention deletes old resolved conversations and history (nil: off).
	Retention *worker.Retention
	// AuditRetention deletes old audit rows (nil: off).
	AuditRetention *worker.AuditRetention
	// SlackHTTPClient, when set, is used for Slack API calls (tests).
	SlackHTTPClient *http.Client

	router      *deliver.Router
	replyClient *http.Client
	runtime     *server.RuntimeTriggers
	webchat     *webchat.Chat
}

// NewMain returns a Main for cfg.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Open starts the store, the FAQ index build, the workers and the HTTP
// server, in that order; on an error it closes what it opened.
func (m *Main) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	if err := m.openSecrets(); err != nil {
		return err
	}
	if err := m.openTriggers(); err != nil {
		return err
	}
	if err := m.openStore(); err != nil {
		return err
	}
	if err := m.loadArticles(); err != nil {
		return err
	}
	if err := m.loadFAQ(ctx); err != nil {
		return err
	}
	m.openMetrics()
	pol, err := newPolicy(&m.Config, m.FAQ, m.Logger)
	if err != nil {
		return err
	}
	if m.Articles != nil {
		pol.Articles, pol.Passages = m.Articles, m.Config.Knowledge.Passages
	}
	pol.Observer = m.Metrics
	mounts := map[string]http.Handler{"GET /metrics": m.Metrics.Handler()}
	if err := m.openWebChat(mounts); err != nil {
		return err
	}
	escalator, err := m.openSlack(mounts)
	if err != nil {
		return err
	}
	if err := m.openRuntimeTriggers(ctx); err != nil {
		return err
	}
	m.mountAdmin(mounts)
	if err := m.openWorkers(pol, escalator); err != nil {
		return err
	}
	m.openPeriodic()
	if err := m.openHTTP(mounts); err != nil {
		return err
	}
	if m.Slack != nil {
		if err := m.Slack.Open(); err != nil {
			return fmt.Errorf("open slack: %w", err)
		}
	}
	cfg := &m.Config
	m.Logger.Info("supportbot started", "addr", m.Server.URL(), "version", version,
		"triggers", len(cfg.Triggers), "llm", cfg.LLM.Mode, "db", cfg.Storage.Path)
	return nil
}

// openSecrets fills the inbound and reply secrets the config leaves empty
// from the secrets file, generating the missing ones.
func (m *Main) openSecrets() error {
	cfg := &m.Config
	made, err := fillSecrets(cfg)
	if err != nil {
		return err
	}
	for _, k := range made {
		// The value stays in the file: the sender needs it, the log must not.
		m.Logger.Warn("generated secret: give the sender the value stored in the file under this key",
			"key", k, "file", secretsPath(cfg.Storage.Path))
	}
	return nil
}

// openTriggers builds the config file's triggers and their reply channels.
func (m *Main) openTriggers() error {
	m.Triggers = triggers.NewSet()
	ks := kinds.Default()
	for i, tc := range m.Config.Triggers {
		e, err := ks.Build(tc)
		if err != nil {
			return &ConfigError{fmt.Errorf("triggers[%d] (%s).%w", i, tc.Name, err)}
		}
		m.Triggers.Put(e)
	}
	return m.deliverers()
}

// openStore opens the SQLite store.
func (m *Main) openStore() error {
	path := m.Config.Storage.Path
	m.Store = sqlite.NewStore(path)
	m.Store.Logger = m.Logger.With("component", "store")
	if m.StoreOptions != nil {
		m.StoreOptions(m.Store)
	}
	if err := m.Store.Open(); err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	return nil
}

// loadArticles loads the help-center articles when knowledge.articles is
// set; before the FAQ's build starts in the background, as the two builds'
// working memory does not add up.
func (m *Main) loadArticles() error {
	cfg := &m.Config
	if cfg.Knowledge.Articles == "" {
		return nil
	}
	var vectors *articles.Vectors
	if cfg.LLM.Mode != "off" && cfg.LLM.EmbeddingModel != "" {
		vectors = &articles.Vectors{
			Embedder: openai.NewEmbedder(openai.Config{BaseURL: cfg.LLM.BaseURL, Model: cfg.LLM.EmbeddingModel,
				APIKey: cfg.LLM.APIKey, Timeout: cfg.LLM.Timeout}),
			Model: cfg.LLM.EmbeddingModel, Dir: filepath.Join(filepath.Dir(cfg.Storage.Path), "embedding-cache"),
		}
	}
	// The index cache sits beside the database, wherever the storage path
	// ended up (set after LoadConfig by tests and embedders).
	cfg.Knowledge.cacheDir = filepath.Join(filepath.Dir(cfg.Storage.Path), "articles-cache")
	var err error
	if m.Articles, err = openArticles(cfg.Knowledge, vectors, m.Logger); err != nil {
		return &ConfigError{fmt.Errorf("knowledge.articles: %w", err)}
	}
	return nil
}

// loadFAQ loads the FAQ and starts its index build, cached beside the
// database.
func (m *Main) loadFAQ(ctx context.Context) error {
	var err error
	m.FAQ, err = openFAQ(ctx, m.Config.FAQ, filepath.Join(filepath.Dir(m.Config.Storage.Path), "faq-cache"), m.Logger)
	if err != nil {
		return &ConfigError{fmt.Errorf("faq.path: %w", err)}
	}
	return nil
}

// openMetrics builds the metrics; run-time triggers are labelled "runtime"
// (their name is their URL, kept off the public /metrics).
func (m *Main) openMetrics() {
	m.Metrics = metrics.New(m.Store, func(name string) bool { _, ok := m.Triggers.Get(name); return ok })
	configured := map[string]bool{}
	for _, tc := range m.Config.Triggers {
		configured[tc.Name] = true
	}
	m.Metrics.TriggerLabel = func(name string) string {
		switch _, ok := m.Triggers.Get(name); {
		case !ok:
			return "unknown"
		case !configured[name]:
			return "runtime"
		}
		return name
	}
}

// openSlack builds the Slack escalator and mounts its HTTP endpoints (not
// in Socket Mode); with no bot token escalations are only stored, and the
// escalator is nil.
func (m *Main) openSlack(mounts map[string]http.Handler) (bot.Escalator, error) {
	cfg := &m.Config
	if cfg.Slack.BotToken == "" {
		m.Logger.Warn("slack is off: escalations are stored and listed by `supportbot escalations`")
		return nil, nil
	}
	sc := slack.Config{
		BotToken: cfg.Slack.BotToken, SigningSecret: cfg.Slack.SigningSecret, AppToken: cfg.Slack.AppToken,
		Channel: cfg.Slack.Channel, APIURL: cfg.Slack.APIURL, NotePrefix: cfg.Slack.NotePrefix,
		Relay: cfg.Slack.Relay, RelayPrefix: cfg.Slack.RelayPrefix, ClosingText: cfg.Slack.ClosingText,
		PublicURL: cfg.Server.PublicURL,
	}
	if err := sc.Validate(); err != nil {
		return nil, &ConfigError{err}
	}
	m.Slack = slack.New(sc, m.Store, m.SlackHTTPClient, m.Logger.With("component", "slack"))
	m.Slack.FAQ = m.faqLearner()
	if cfg.Slack.AppToken == "" {
		mounts["POST /slack/events"] = m.Slack.EventsHandler()
		mounts["POST /slack/interactions"] = m.Slack.InteractionsHandler()
	}
	return m.Slack, nil
}

// openRuntimeTriggers installs the triggers created through the admin API.
func (m *Main) openRuntimeTriggers(ctx context.Context) error {
	cfg := &m.Config
	configured := make([]string, 0, len(cfg.Triggers))
	for _, tc := range cfg.Triggers {
		configured = append(configured, tc.Name)
	}
	m.runtime = &server.RuntimeTriggers{
		Store: m.Store, Triggers: m.Triggers, Kinds: kinds.Default(),
		SetReplyFunc: m.setReply, RemoveReplyFunc: m.router.Remove,
		CheckReplyURLFunc: deliver.CheckURL, NewSecretFunc: newWebhookSecret,
		PublicURL: cfg.Server.PublicURL, Configured: configured, Logger: m.Logger,
	}
	return m.runtime.Load(ctx)
}

// mountAdmin mounts the admin API, the run-time triggers API and the
// dashboard, all behind the admin token; with no token none of them.
func (m *Main) mountAdmin(mounts map[string]http.Handler) {
	token := m.Config.Server.AdminToken
	if token == "" {
		return
	}
	// One guard: failed token attempts count across the API's routes.
	guard := server.NewTokenGuard(token)
	mounts["/admin/api/"] = (&server.Admin{Store: m.Store, Token: token, Guard: guard, Logger: m.Logger}).Handler()
	dash := m.dashboardHandler()
	mounts["/admin"], mounts["/admin/"] = dash, dash
	rt := guard.Wrap(m.runtime.Handler())
	mounts["/admin/api/triggers"] = rt
	mounts["/admin/api/triggers/"] = rt
}

// openWorkers builds the engine and the job runner, and starts the runner
// unless DeferWorkers.
func (m *Main) openWorkers(pol *policy.Policy, escalator bot.Escalator) error {
	cfg := &m.Config
	eng := &worker.Engine{
		Store: m.Store, Decider: pol, Deliverer: m.router, Escalator: escalator,
		HandoffText: cfg.Bot.HandoffText, RephraseTurns: cfg.Bot.RephraseTurns, RephraseText: cfg.Bot.RephraseText, MaxAttempts: cfg.Workers.MaxAttempts, Mention: cfg.Slack.Mention,
		Logger:     m.Logger.With("component", "engine"),
		OnDecision: m.Metrics.ObserveDecision,
		Budget:     escalationBudget(m.Store, cfg.Triggers),
	}
	if err := m.wireActs(eng); err != nil {
		return err
	}
	handlers := eng.Handlers()
	if m.Slack != nil {
		maps.Copy(handlers, m.Slack.Handlers())
	}
	m.Runner = &worker.Runner{
		Queue: m.Store, Handlers: handlers, Workers: cfg.Workers.Count, Lease: cfg.Workers.Lease,
		Backoff:         worker.Backoff{Base: cfg.Workers.BackoffBase, Max: cfg.Workers.BackoffMax},
		ShutdownTimeout: cfg.Server.ShutdownTimeout, Logger: m.Logger, OnFinish: m.Metrics.ObserveJob,
	}
	if m.DeferWorkers {
		return nil
	}
	return m.Runner.Open()
}

// openPeriodic starts the follow-ups and, when configured, the retention of
// conversations and of the audit log.
func (m *Main) openPeriodic() {
	cfg := &m.Config
	hours, _ := worker.ParseBusinessHours(cfg.Bot.BusinessHours, cfg.Bot.Timezone) // validated with the config
	m.FollowUps = &worker.FollowUps{
		Store: m.Store, NoticeAfter: cfg.Bot.NoAgentAfter, NoAgentText: cfg.Bot.NoAgentText,
		ResolveIdleAfter: cfg.Bot.ResolveIdleAfter,
		AfterHoursText:   cfg.Bot.AfterHoursText, Hours: hours, MaxAttempts: cfg.Workers.MaxAttempts,
		Logger: m.Logger.With("component", "followups"),
	}
	if m.Slack != nil {
		m.FollowUps.ReannounceAfter = cfg.Slack.ReannounceAfter
	}
	m.FollowUps.Open()
	if cfg.Storage.AuditRetention > 0 {
		m.AuditRetention = &worker.AuditRetention{
			Store: m.Store, After: cfg.Storage.AuditRetention, Interval: cfg.Storage.RetentionInterval,
			Logger: m.Logger.With("component", "retention"),
		}
		m.AuditRetention.Open()
	}
	if cfg.Storage.Retention > 0 {
		m.Retention = &worker.Retention{
			Store: m.Store, After: cfg.Storage.Retention, Interval: cfg.Storage.RetentionInterval,
			ArchiveDir: cfg.Storage.ArchiveDir, OnPass: m.Metrics.ObservePurge,
			Logger: m.Logger.With("component", "retention"),
		}
		m.Retention.Open()
	}
}

// openHTTP starts the HTTP server: the hooks, /healthz, /readyz and mounts.
func (m *Main) openHTTP(mounts map[string]http.Handler) error {
	cfg := &m.Config
	proxies, err := server.ParseTrustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return &ConfigError{fmt.Errorf("server.%w", err)}
	}
	m.Server = &server.Server{
		Addr: cfg.Server.Addr, Triggers: m.Triggers, Intake: m.Store, MaxAttempts: cfg.Workers.MaxAttempts,
		Version: version, Logger: m.Logger, Observer: m.Metrics,
		Mounts:         mounts,
		TrustedProxies: proxies,
		Bodies: server.BodyLimits{
			InFlight: cfg.Server.Bodies.InFlight, PerTrigger: cfg.Server.Bodies.PerTrigger,
			PerAddress: cfg.Server.Bodies.PerAddress, Timeout: cfg.Server.Bodies.Timeout,
		},
		Ready: func(ctx context.Context) error {
			if !m.Runner.Running() {
				return errors.New("workers are not running")
			}
			return m.Store.Ping(ctx)
		},
	}
	m.Metrics.GaugeFunc("supportbot_intake_body_bytes_in_flight", "Bytes reserved by the webhook bodies being read.",
		func() float64 { return float64(m.Server.BodyBytesInFlight()) })
	return m.Server.Open()
}

// deliverers builds the reply channel of every configured trigger; run-time
// triggers add theirs to the same router.
func (m *Main) deliverers() error {
	client := m.HTTPClient
	if client == nil {
		timeout := deliver.DefaultTimeout
		for _, tc := range m.Config.Triggers {
			timeout = max(timeout, tc.Reply.Timeout)
		}
		client = deliver.NewHTTPClient(deliver.ClientOptions{
			AllowPrivateNetworks: m.Config.Outbound.AllowPrivateNetworks, Timeout: timeout,
			UserAgent: userAgent(),
		})
	}
	m.replyClient, m.router = client, deliver.NewRouter()
	for i, tc := range m.Config.Triggers {
		if err := m.setReply(tc); err != nil {
			return &ConfigError{fmt.Errorf("triggers[%d] (%s).reply.%w", i, tc.Name, trimKey(err))}
		}
	}
	return nil
}

// userAgent names this build in outbound requests.
func userAgent() string { return "supportbot/" + version }

// trimKey drops a leading "reply." from an adapter's error so the key is
// not repeated.
func trimKey(err error) error {
	msg := strings.TrimPrefix(err.Error(), "reply.")
	return errors.New(msg)
}

// Close shuts down in order: stop HTTP intake, stop claiming and drain the
// workers, stop the FAQ builder, then close the store.
func (m *Main) Close() error {
	var errs []error
	m.closeWebChat() // first: open reply streams would hold up the server's shutdown
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.Server.ShutdownTimeout)
		errs = append(errs, m.Server.Close(ctx))
		cancel()
	}
	if m.Slack != nil {
		errs = append(errs, m.Slack.Close())
	}
	if m.AuditRetention != nil {
		errs = append(errs, m.AuditRetention.Close())
	}
	if m.Retention != nil {
		errs = append(errs, m.Retention.Close())
	}
	if m.FollowUps != nil {
		errs = append(errs, m.FollowUps.Close())
	}
	if m.runtime != nil {
		m.runtime.Close()
	}
	if m.Runner != nil {
		errs = append(errs, m.Runner.Close())
	}
	if m.Articles != nil {
		errs = append(errs, m.Articles.Close())
	}
	if m.FAQ != nil {
		errs = append(errs, m.FAQ.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newPolicy builds the answer-or-escalate policy from the config: the local
// matcher, the escalation rules, and the LLM when llm.mode is not off.
func newPolicy(cfg *Config, r policy.Retriever, logger *slog.Logger) (*policy.Policy, error) {
	set, err := prompts.Load(cfg.Prompts.Dir)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("prompts.dir: %w", err)}
	}
	var ans bot.Answerer
	if cfg.LLM.Mode != "off" {
		// Not the outbound client: a local model server (Ollama on
		// localhost) is the common case, and its address is the operator's.
		ans = openai.NewAnswerer(openai.Config{BaseURL: cfg.LLM.BaseURL, Model: cfg.LLM.Model,
			APIKey: cfg.LLM.APIKey, Timeout: cfg.LLM.Timeout})
	}
	var emb bot.Embedder
	embDir := ""
	if cfg.LLM.Mode != "off" && cfg.LLM.EmbeddingModel != "" {
		emb = openai.NewEmbedder(openai.Config{BaseURL: cfg.LLM.BaseURL, Model: cfg.LLM.EmbeddingModel,
			APIKey: cfg.LLM.APIKey, Timeout: cfg.LLM.Timeout})
		// Beside the matcher's cache (which prunes its own files only).
		embDir = filepath.Join(filepath.Dir(cfg.Storage.Path), "embedding-cache")
	}
	p := &policy.Policy{
		Retriever: r, TopK: cfg.FAQ.TopK,
		SensitiveTopics: cfg.Bot.SensitiveTopics, SensitiveTags: cfg.Bot.SensitiveTags,
		EscalatePriorities: cfg.Bot.EscalatePriorities,
		RepeatSimilarity:   offIfZeroF(cfg.Bot.RepeatSimilarity),
		CloseMargin:        offIfZeroF(cfg.Bot.CloseMargin),
		Mode:               policy.Mode(cfg.LLM.Mode), Answerer: ans, Prompts: set,
		MinConfidence: cfg.LLM.MinConfidence, UnsureBand: offIfZeroF(cfg.LLM.UnsureBand), LLMTimeout: cfg.LLM.Timeout,
		MaxRetries: offIfZero(cfg.LLM.MaxRetries), MaxRetryAfter: cfg.LLM.MaxRetryAfter,
		BreakerFailures: offIfZero(cfg.LLM.BreakerFailures), BreakerCooldown: cfg.LLM.BreakerCooldown,
		MaxTokens: cfg.LLM.MaxTokens, HistoryTurns: cfg.LLM.HistoryTurns,
		MinSupport: offIfZeroF(cfg.LLM.MinSupport), AllowedLinks: cfg.LLM.AllowedLinks,
		MinRelevance: offIfZeroF(cfg.LLM.MinRelevance),
		Candidates:   cfg.LLM.Candidates, ContextBudget: offIfZero(cfg.LLM.ContextBudget),
		Embedder: emb, EmbeddingModel: cfg.LLM.EmbeddingModel, EmbeddingCacheDir: embDir,
		Logger: logger.With("component", "policy"),
	}
	if err := p.Init(); err != nil {
		return nil, &ConfigError{err}
	}
	return p, nil
}

// offIfZero maps an operator's literal 0 ("off") to the policy's -1; the
// policy reads 0 as "default".
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func offIfZeroF(f float64) float64 {
	if f == 0 {
		return -1
	}
	return f
}

// StartWorkers starts the job runner when Open deferred it.
func (m *Main) StartWorkers() error {
	if m.Runner.Running() {
		return nil
	}
	return m.Runner.Open()
}

// escalationBudget is the engine's per-trigger cap on announced hand-offs,
// nil when no trigger has one.
func escalationBudget(store worker.BudgetStore, tcs []triggers.Config) *worker.EscalationBudget {
	budgets := map[string]worker.Budget{}
	for _, tc := range tcs {
		if max, window, ok := tc.Budget(); ok {
			budgets[tc.Name] = worker.Budget{Max: max, Window: window}
		}
	}
	if len(budgets) == 0 {
		return nil
	}
	return &worker.EscalationBudget{Store: store, Budgets: budgets}
}
