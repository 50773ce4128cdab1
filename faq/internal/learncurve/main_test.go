package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/faq"
)

// TestSimulate: escalated questions are labelled and become examples (a
// repeat adds none), answered ones are not, and the rows cover every batch.
func TestSimulate(t *testing.T) {
	t.Parallel()
	kb := &faq.KB{Entries: []faq.Entry{
		{ID: "password", Question: "How do I reset my password?", Answer: "Use the reset link."},
		{ID: "invoice", Question: "Where can I find my invoices?", Answer: "Under Billing."},
		{ID: "cancel", Question: "How do I cancel my subscription?", Answer: "Settings, Billing, Cancel."},
	}}
	cases := []faq.Case{
		{Q: "I forgot my password", FAQ: "password"},
		{Q: "i forgot   my password", FAQ: "password"},
		{Q: "download my receipt pdf", FAQ: "invoice"},
		{Q: "stop my plan from renewing", FAQ: "cancel"},
		{Q: "what is the weather on mars", FAQ: ""},
	}
	rows, err := Simulate(context.Background(), kb, cases, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 3; got != want { // before, after 2, after 4
		t.Fatalf("%d rows, want %d", got, want)
	}
	last := rows[len(rows)-1]
	if last.Fed != 4 || last.Rest != 0 {
		t.Fatalf("last row = %+v", last)
	}
	escalated := 0
	for _, r := range rows[1:] {
		escalated += r.Escalated
		if r.Answered+r.Escalated != 2 {
			t.Fatalf("row %+v does not account for its batch", r)
		}
	}
	if last.Labelled != escalated || last.Examples > last.Labelled {
		t.Fatalf("labelled %d, examples %d, escalations %d", last.Labelled, last.Examples, escalated)
	}
	if len(kb.Entries[0].Examples) != 0 {
		t.Fatal("Simulate changed the knowledge base it was given")
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 4 |") || strings.Count(b.String(), "\n") != 5 {
		t.Fatalf("table:\n%s", b.String())
	}
}

// TestRunMissingData: without the eval data there is nothing to do.
func TestRunMissingData(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), &bytes.Buffer{}, filepath.Join(t.TempDir(), "nope.yaml"), "x.jsonl", 500, "file", 1)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("run without data = %v, want a not-exist error", err)
	}
}
