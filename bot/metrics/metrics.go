// Package metrics exposes supportbot's Prometheus metrics on a private
// registry: intake requests and latency, job outcomes, decisions by action
// and reason, and the queue's depth and age (read from the store at scrape).
package metrics

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/policy"
)

// OutcomeReader reads conversation outcomes at scrape time.
type OutcomeReader interface {
	OutcomeStats(ctx context.Context, since time.Time, window time.Duration) (bot.OutcomeStats, error)
}

// Outcome periods: conversations started in the last OutcomePeriod, with a
// resolution window of OutcomeWindow (defaults).
const (
	OutcomePeriod = 7 * 24 * time.Hour
	OutcomeWindow = 24 * time.Hour
)

// QueueReader reads the queue's state at scrape time.
type QueueReader interface {
	QueueStats(ctx context.Context) (bot.QueueStats, error)
}

// Metrics holds every collector.
type Metrics struct {
	Registry *prometheus.Registry

	hooks     *prometheus.CounterVec
	hookTime  *prometheus.HistogramVec
	jobs      *prometheus.CounterVec
	jobTime   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	llmCalls  *prometheus.CounterVec
	llmTime   prometheus.Histogram
	llmTokens *prometheus.CounterVec
	upstream  *prometheus.CounterVec
	purged    *prometheus.CounterVec
	// known reports whether a trigger name is configured, so that unknown
	// names (404s) do not create unbounded label values.
	known func(string) bool
	// TriggerLabel, when set, gives the label of a trigger name instead of
	// known: /metrics is public, and a run-time trigger's unguessable name
	// is its URL, so it is labelled by kind.
	TriggerLabel func(name string) string
}

// New registers the collectors. known may be nil (every name is known).
func New(q QueueReader, known func(string) bool) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), known: known}
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_webhooks_total", Help: "Intake requests by trigger and HTTP status.",
	}, []string{"trigger", "status"})
	m.hookTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "supportbot_intake_duration_seconds", Help: "Time from request to acknowledgement.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
	}, []string{"trigger"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_jobs_total", Help: "Job runs by kind and outcome (completed, retried, discarded, snoozed, interrupted).",
	}, []string{"kind", "outcome"})
	m.jobTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "supportbot_job_duration_seconds", Help: "Job run time by kind.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"kind"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_decisions_total", Help: "Answer-or-escalate decisions by action, escalation reason and source.",
	}, []string{"action", "reason", "source"})
	m.llmCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_llm_calls_total", Help: "LLM calls by outcome (ok, invalid, rate_limited, timeout, rejected, error, breaker_open).",
	}, []string{"outcome"})
	m.llmTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "supportbot_llm_duration_seconds", Help: "LLM call latency.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
	})
	m.llmTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_llm_tokens_total", Help: "LLM tokens by kind (prompt, completion).",
	}, []string{"kind"})
	m.upstream = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_upstream_errors_total",
		Help: "Failed calls to Slack and to reply channels (webhook or helpdesk API) by upstream and class (rate_limited, permanent, error).",
	}, []string{"upstream", "class"})
	m.purged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supportbot_retention_purged_total", Help: "Rows deleted by the retention job by kind (conversations, events, jobs, audit).",
	}, []string{"kind"})
	m.Registry.MustRegister(m.hooks, m.hookTime, m.jobs, m.jobTime, m.decisions, m.llmCalls, m.llmTime, m.llmTokens, m.upstream, m.purged,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&queueCollector{q: q})
	if o, ok := q.(OutcomeReader); ok {
		m.Registry.MustRegister(&outcomeCollector{o: o, period: OutcomePeriod, window: OutcomeWindow})
	}
	return m
}

// GaugeFunc registers a gauge read from f at scrape time, such as the open
// chat streams or the request bytes in flight.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Handler serves the registry in the Prometheus text format. /metrics
// needs no credential and a scrape reads the store (queue and outcome
// statistics), so a rendering is reused for CacheFor: however many clients
// ask, the store is read once a second at most.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
	c := &scrapeCache{next: h, ttl: CacheFor, byAccept: map[string]*scrape{}}
	return c
}

// CacheFor is how long a rendering of /metrics is served again.
const CacheFor = time.Second

type scrape struct {
	at     time.Time
	status int
	header http.Header
	body   []byte
}

// scrapeCache serves one rendering per Accept header (content negotiation)
// for ttl; renderings are made one at a time.
type scrapeCache struct {
	next     http.Handler
	ttl      time.Duration
	mu       sync.Mutex
	byAccept map[string]*scrape
}

func (c *scrapeCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Accept") + "|" + r.Header.Get("Accept-Encoding")
	c.mu.Lock()
	sc, ok := c.byAccept[key]
	if !ok || time.Since(sc.at) > c.ttl {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		c.next.ServeHTTP(rec, r)
		sc = &scrape{at: time.Now(), status: rec.status, header: rec.header, body: rec.body.Bytes()}
		if len(c.byAccept) >= 16 {
			clear(c.byAccept) // odd Accept headers: bounded, not kept
		}
		c.byAccept[key] = sc
	}
	c.mu.Unlock()
	for k, v := range sc.header {
		w.Header()[k] = v
	}
	w.WriteHeader(sc.status)
	_, _ = w.Write(sc.body)
}

// ObserveHook counts one intake request.
func (m *Metrics) ObserveHook(trigger string, status int, d time.Duration) {
	switch {
	case m.TriggerLabel != nil:
		trigger = m.TriggerLabel(trigger)
	case m.known != nil && !m.known(trigger):
		trigger = "unknown"
	}
	m.hooks.WithLabelValues(trigger, strconv.Itoa(status)).Inc()
	m.hookTime.WithLabelValues(trigger).Observe(d.Seconds())
}

// ObserveJob counts one job run, and a failed call to Slack or a reply
// channel by its error class.
func (m *Metrics) ObserveJob(j *bot.Job, outcome string, d time.Duration, err error) {
	m.jobs.WithLabelValues(j.Kind, outcome).Inc()
	m.jobTime.WithLabelValues(j.Kind).Observe(d.Seconds())
	if err == nil || outcome == "interrupted" {
		return
	}
	var upstream string
	switch {
	case j.Kind == bot.JobDeliver:
		upstream = "reply"
	case j.Kind == bot.JobEscalate, j.Kind == bot.JobMirror, j.Kind == bot.JobReannounce, strings.HasPrefix(j.Kind, "slack_"):
		upstream = "slack"
	default:
		return
	}
	class := "error"
	if _, ok := bot.RetryDelay(err); ok {
		class = "rate_limited"
	} else if bot.IsPermanent(err) {
		class = "permanent"
	}
	m.upstream.WithLabelValues(upstream, class).Inc()
}

// ObservePurge counts what a retention pass deleted.
func (m *Metrics) ObservePurge(c bot.PurgeCounts) {
	m.purged.WithLabelValues("conversations").Add(float64(c.Conversations))
	m.purged.WithLabelValues("events").Add(float64(c.Events))
	m.purged.WithLabelValues("jobs").Add(float64(c.Jobs))
	m.purged.WithLabelValues("audit").Add(float64(c.Audit))
}

// ObserveDecision counts one applied decision.
func (m *Metrics) ObserveDecision(d bot.Decision) {
	m.decisions.WithLabelValues(string(d.Action), d.Reason, d.Source).Inc()
}

type queueCollector struct{ q QueueReader }

var (
	queueDepth = prometheus.NewDesc("supportbot_queue_jobs", "Jobs by state (queued, running, discarded = dead letters).", []string{"state"}, nil)
	queueAge   = prometheus.NewDesc("supportbot_queue_oldest_due_seconds", "How long the oldest due job has waited.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueAge
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.q.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepth, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(st.Queued), "queued")
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(st.Running), "running")
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(st.Discarded), "discarded")
	ch <- prometheus.MustNewConstMetric(queueAge, prometheus.GaugeValue, st.OldestDue.Seconds())
}

// ObserveLLM counts one LLM call.
func (m *Metrics) ObserveLLM(c policy.LLMCall) {
	m.llmCalls.WithLabelValues(c.Outcome).Inc()
	if c.Latency > 0 {
		m.llmTime.Observe(c.Latency.Seconds())
	}
	m.llmTokens.WithLabelValues("prompt").Add(float64(c.PromptTokens))
	m.llmTokens.WithLabelValues("completion").Add(float64(c.CompletionTokens))
}

var outcomeDesc = prometheus.NewDesc("supportbot_conversation_outcomes",
	"Conversations started in the last 7 days by outcome: total, resolved_by_bot (never escalated, resolved, not reopened within 24 h), confirmed (resolved by the customer's thanks, goodbye or yes, and not reopened), handed_off (escalated at least once), abandoned (escalation unclaimed after 24 h).",
	[]string{"outcome"}, nil)

var claimDesc = prometheus.NewDesc("supportbot_time_to_claim_seconds",
	"Time from escalation to an agent's claim, over escalations created in the last 7 days and claimed: quantile 0.5, 0.9 and 1 (the longest).",
	[]string{"quantile"}, nil)

var csatRatingsDesc = prometheus.NewDesc("supportbot_csat_ratings",
	"Satisfaction ratings (1-5) of conversations started in the last 7 days, by score.", []string{"score"}, nil)

var csatDesc = prometheus.NewDesc("supportbot_csat_ratio",
	"CSAT: the share of ratings of 4 or 5 among the ratings of conversations started in the last 7 days (absent with no ratings).", nil, nil)

var claimedDesc = prometheus.NewDesc("supportbot_escalations_claimed",
	"Escalations created in the last 7 days that an agent has claimed.", nil, nil)

type outcomeCollector struct {
	o              OutcomeReader
	period, window time.Duration
}

func (c *outcomeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outcomeDesc
	ch <- claimDesc
	ch <- claimedDesc
	ch <- csatRatingsDesc
	ch <- csatDesc
}

func (c *outcomeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.o.OutcomeStats(ctx, time.Now().Add(-c.period), c.window)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outcomeDesc, err)
		return
	}
	for outcome, v := range map[string]int64{
		"total": st.Conversations, "resolved_by_bot": st.ResolvedByBot, "confirmed": st.Confirmed,
		"handed_off": st.HandedOff, "abandoned": st.Abandoned,
	} {
		ch <- prometheus.MustNewConstMetric(outcomeDesc, prometheus.GaugeValue, float64(v), outcome)
	}
	ch <- prometheus.MustNewConstMetric(claimedDesc, prometheus.GaugeValue, float64(st.Claimed))
	var rated int64
	for i, n := range st.Ratings {
		rated += n
		ch <- prometheus.MustNewConstMetric(csatRatingsDesc, prometheus.GaugeValue, float64(n), strconv.Itoa(i+1))
	}
	if rated > 0 {
		ch <- prometheus.MustNewConstMetric(csatDesc, prometheus.GaugeValue, float64(st.Ratings[3]+st.Ratings[4])/float64(rated))
	}
	if st.Claimed > 0 {
		for q, d := range map[string]time.Duration{"0.5": st.ClaimP50, "0.9": st.ClaimP90, "1": st.ClaimMax} {
			ch <- prometheus.MustNewConstMetric(claimDesc, prometheus.GaugeValue, d.Seconds(), q)
		}
	}
}

// recorder keeps a response to serve it again.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
