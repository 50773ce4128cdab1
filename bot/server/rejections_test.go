package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/sqlite"
	"github.com/supportbot/supportbot/triggers"
)

// TestAuditFloodAggregated is the audit flood scaled down: POSTs to made-up
// trigger names used to write one audit row each (20,000 at 3,675/s, kept
// forever). Now they are counted per source per minute, with a bounded
// sample of rows, and the made-up names are not kept.
func TestAuditFloodAggregated(t *testing.T) {
	t.Parallel()
	store := sqlite.NewStore(filepath.Join(t.TempDir(), "test.db"))
	if err := store.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	s := &server.Server{
		Addr: "127.0.0.1:0", Triggers: triggers.NewSet(), Intake: store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	const flood = 300
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range flood {
		resp, err := client.Post(fmt.Sprintf("%s/hooks/made-up-%d", s.URL(), i), "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := store.ListAudit(ctx, bot.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || len(rows) > 20 {
		t.Fatalf("%d audit rows for %d refused requests from one address, want a sample of at most 20", len(rows), flood)
	}
	counts, err := store.ListRejections(ctx, time.Now().Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		if c.Trigger != "" || c.Status != http.StatusNotFound || c.Remote != "127.0.0.1" {
			t.Fatalf("count %+v, want the address, status 404 and no made-up name", c)
		}
		total += c.Count
	}
	if total != flood {
		t.Fatalf("counted %d refused requests, want %d", total, flood)
	}
}
