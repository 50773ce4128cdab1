package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/metrics"
)

type queue struct{ st bot.QueueStats }

func (q queue) QueueStats(context.Context) (bot.QueueStats, error) { return q.st, nil }

func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, mt := range f.Metric {
			key := name
			for _, l := range mt.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.Counter != nil:
				out[key] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				out[key] = mt.Gauge.GetValue()
			case mt.Histogram != nil:
				out[key+",count"] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	m := metrics.New(queue{bot.QueueStats{Queued: 3, Running: 1, Discarded: 2, OldestDue: 1500 * time.Millisecond}},
		func(name string) bool { return name == "chat" })
	m.ObserveHook("chat", 202, time.Millisecond)
	m.ObserveHook("chat", 202, time.Millisecond)
	m.ObserveHook("chat", 401, time.Millisecond)
	m.ObserveHook("no-such-trigger-xyz", 404, time.Millisecond)
	m.ObserveJob(&bot.Job{Kind: bot.JobDeliver}, "retried", time.Millisecond, errors.New("post reply: status 500"))
	m.ObserveJob(&bot.Job{Kind: bot.JobDeliver}, "retried", time.Millisecond, bot.RetryAfter(time.Second, errors.New("429")))
	m.ObserveJob(&bot.Job{Kind: bot.JobEscalate}, "discarded", time.Millisecond, bot.Permanent(errors.New("channel_not_found")))
	m.ObserveJob(&bot.Job{Kind: bot.JobProcess}, "completed", time.Millisecond, nil)
	m.ObservePurge(bot.PurgeCounts{Conversations: 2, Jobs: 7})
	m.ObserveDecision(bot.Decision{Action: bot.ActionEscalate, Reason: bot.ReasonOutOfScope, Source: "matcher"})
	got := scrape(t, m)
	for key, want := range map[string]float64{
		"supportbot_webhooks_total,status=202,trigger=chat":                             2,
		"supportbot_webhooks_total,status=401,trigger=chat":                             1,
		"supportbot_webhooks_total,status=404,trigger=unknown":                          1,
		"supportbot_intake_duration_seconds,trigger=chat,count":                         3,
		"supportbot_jobs_total,kind=deliver,outcome=retried":                            2,
		"supportbot_jobs_total,kind=process,outcome=completed":                          1,
		"supportbot_upstream_errors_total,class=error,upstream=reply":                   1,
		"supportbot_upstream_errors_total,class=rate_limited,upstream=reply":            1,
		"supportbot_upstream_errors_total,class=permanent,upstream=slack":               1,
		"supportbot_retention_purged_total,kind=conversations":                          2,
		"supportbot_retention_purged_total,kind=jobs":                                   7,
		"supportbot_decisions_total,action=escalate,reason=out_of_scope,source=matcher": 1,
		"supportbot_queue_jobs,state=queued":                                            3,
		"supportbot_queue_jobs,state=discarded":                                         2,
		"supportbot_queue_oldest_due_seconds":                                           1.5,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}

// outcomes is a store that reports both the queue and conversation outcomes.
type outcomes struct {
	queue
	st bot.OutcomeStats
}

func (o outcomes) OutcomeStats(context.Context, time.Time, time.Duration) (bot.OutcomeStats, error) {
	return o.st, nil
}

func TestOutcomeMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New(outcomes{st: bot.OutcomeStats{Conversations: 10, ResolvedByBot: 4, Confirmed: 3, HandedOff: 2,
		Ratings: [5]int64{1, 0, 1, 2, 4}}}, nil)
	got := scrape(t, m)
	for key, want := range map[string]float64{
		"supportbot_conversation_outcomes,outcome=total":     10,
		"supportbot_conversation_outcomes,outcome=confirmed": 3,
		"supportbot_csat_ratings,score=1":                    1,
		"supportbot_csat_ratings,score=5":                    4,
		"supportbot_csat_ratio":                              0.75, // (2+4)/8
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	// No ratings: no ratio rather than a made-up one.
	if _, ok := scrape(t, metrics.New(outcomes{}, nil))["supportbot_csat_ratio"]; ok {
		t.Error("supportbot_csat_ratio reported with no ratings")
	}
}

// countingQueue counts the scrapes that read the store.
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) QueueStats(context.Context) (bot.QueueStats, error) {
	q.n.Add(1)
	return bot.QueueStats{}, nil
}

// TestScrapesShareOneStoreRead: /metrics needs no credential and reads the
// store; a burst of scrapes reads it once.
func TestScrapesShareOneStoreRead(t *testing.T) {
	q := &countingQueue{}
	h := metrics.New(q, nil).Handler()
	for range 50 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "supportbot_queue") {
			t.Fatalf("scrape = %d", w.Code)
		}
	}
	if got := q.n.Load(); got != 1 {
		t.Fatalf("50 scrapes in a burst read the store %d times, want 1", got)
	}
}
