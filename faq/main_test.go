package faq

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// smallKB is a knowledge base small enough to train in milliseconds, even
// under the race detector.
func smallKB() *KB {
	return &KB{Entries: []Entry{
		{ID: "password", Question: "How do I reset my password?", Answer: "Use the reset link.", Tags: []string{"account"},
			Examples: []string{"I forgot my password", "reset password", "change my password", "lost my password", "new password please"}},
		{ID: "invoice", Question: "Where can I find my invoices?", Answer: "Under Billing.",
			Examples: []string{"download invoice", "I need a receipt", "send me my invoice", "invoice pdf", "billing statements"}},
		{ID: "cancel", Question: "How do I cancel my subscription?", Answer: "Settings, Billing, Cancel.",
			Examples: []string{"cancel my plan", "stop my subscription", "end my membership", "unsubscribe", "don't renew"}},
		{ID: "shipping", Question: "When will my order arrive?", Answer: "In 3-5 days.",
			Examples: []string{"track my package", "where is my order", "shipping time", "delivery status", "has my parcel shipped"}},
	}}
}

// MustBuild builds a matcher and fails the test on error.
func MustBuild(tb testing.TB, kb *KB) *Matcher {
	tb.Helper()
	m, err := Build(context.Background(), kb, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// evalDir is shared/eval beside the repository checkout: CI clones the repo
// with shared/ next to it, so from this package it is ../../shared/eval.
var evalDir = filepath.Join("..", "..", "shared", "eval")

// dataset is a knowledge base and its cases from evalDir, with the matcher
// built once per test binary.
type dataset struct {
	kbFile    string
	caseFiles []string

	once  sync.Once
	m     *Matcher
	cases []Case
	err   error
}

var (
	clinc   = &dataset{kbFile: "clinc150/faq.yaml", caseFiles: []string{"clinc150/val.jsonl"}}
	banking = &dataset{kbFile: "banking77/faq_dev.yaml", caseFiles: []string{"banking77/val.jsonl"}}
)

// MustLoad returns the data set's matcher and cases, skipping the test if
// the data is absent or the race detector would make training too slow.
func (d *dataset) MustLoad(tb testing.TB) (*Matcher, []Case) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(evalDir, d.kbFile)); err != nil {
		tb.Skipf("eval data not found (%v): it lives in shared/eval beside the repository checkout", err)
	}
	if raceEnabled {
		tb.Skip("skipping training on a full data set under the race detector (too slow; run without -race)")
	}
	d.once.Do(func() {
		kb, err := Load(filepath.Join(evalDir, d.kbFile))
		if err != nil {
			d.err = err
			return
		}
		for _, f := range d.caseFiles {
			cs, err := LoadCases(filepath.Join(evalDir, f))
			if err != nil {
				d.err = err
				return
			}
			if err := CheckCases(kb, cs); err != nil {
				d.err = err
				return
			}
			d.cases = append(d.cases, cs...)
		}
		d.m, d.err = Build(context.Background(), kb, Options{})
	})
	if d.err != nil {
		tb.Fatal(d.err)
	}
	return d.m, d.cases
}
