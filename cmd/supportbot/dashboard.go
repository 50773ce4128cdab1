package main

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/supportbot/supportbot/bot/dashboard"
	"github.com/supportbot/supportbot/bot/sqlite"
)

// dashboardHandler builds the operators' pages at /admin (off when
// server.admin_token is empty).
func (m *Main) dashboardHandler() http.Handler {
	d := &dashboard.Dashboard{
		Store: m.Store, Stats: dashboardStats{m.Store},
		TriggersFunc: m.dashboardTriggers,
		Token:        m.Config.Server.AdminToken, PublicURL: m.Config.Server.PublicURL,
		Logger: m.Logger.With("component", "dashboard"),
		FAQ:    m.faqLearner(),
	}
	return d.Handler()
}

// dashboardStats gives the dashboard the store's aggregate queries in the
// dashboard's own types (the dashboard imports only bot).
type dashboardStats struct{ s *sqlite.Store }

func (ds dashboardStats) Activity(ctx context.Context, since time.Time, step time.Duration, n int) ([]dashboard.Bucket, error) {
	list, err := ds.s.Activity(ctx, since, step, n)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Bucket, len(list))
	for i, b := range list {
		out[i] = dashboard.Bucket(b)
	}
	return out, nil
}

func (ds dashboardStats) Counts(ctx context.Context) (dashboard.Counts, error) {
	c, err := ds.s.DashboardCounts(ctx)
	return dashboard.Counts(c), err
}

// dashboardTriggers lists the configured and run-time triggers, without
// secrets: only names, kinds and where replies go.
func (m *Main) dashboardTriggers(ctx context.Context) ([]dashboard.Trigger, error) {
	var out []dashboard.Trigger
	for _, tc := range m.Config.Triggers {
		target := tc.Reply.URL
		if target == "" {
			target = tc.Reply.BaseURL
		}
		out = append(out, dashboard.Trigger{
			Name: tc.Name, Kind: tc.Kind, Source: "config",
			ReplyKind: tc.Reply.Kind, ReplyTarget: redactURL(target),
		})
	}
	list, err := m.Store.RuntimeTriggers(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		out = append(out, dashboard.Trigger{
			Name: t.Name, Kind: t.Kind, Source: "runtime",
			ReplyKind: t.ReplyKind, ReplyTarget: redactURL(t.ReplyURL),
			CreatedAt: t.CreatedAt, PreviousSecretUntil: t.PreviousUntil,
		})
	}
	return out, nil
}

// redactURL drops what may carry a credential (user info, query, fragment)
// from a reply URL before it is shown.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(not shown)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

func (ds dashboardStats) Ratings(ctx context.Context, since time.Time) ([5]int64, error) {
	return ds.s.RatingsSince(ctx, since)
}
