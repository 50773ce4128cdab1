package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestEvalRecall(t *testing.T) {
	cases := filepath.Join(t.TempDir(), "cases.jsonl")
	if err := os.WriteFile(cases, []byte(`{"q": "How do I reset my password?", "faq": "password-reset"}
{"q": "I cannot log in to my account", "faq": "login-problems"}
{"q": "what is the weather on mars", "faq": ""}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"eval", "--recall", "--json", "--faq", filepath.Join("..", "..", "faq", "kb"), "--cases", cases}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r recallReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if r.Cases != 2 || r.RecallAt["1"] != 1 || r.RecallAt["20"] != 1 || r.LLMCandidates != 1 || r.MeanShown < 10 {
		t.Fatalf("recall report %+v, want both cases found at 1 and among at least 10 shown", r)
	}
}

func TestEvalMargins(t *testing.T) {
	cases := filepath.Join(t.TempDir(), "cases.jsonl")
	if err := os.WriteFile(cases, []byte(`{"q": "How do I reset my password?", "faq": "password-reset"}
{"q": "How can I get a refund for my last invoice?", "faq": "refunds"}
{"q": "what is the weather on mars", "faq": ""}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"eval", "--margins", "--json", "--faq", filepath.Join("..", "..", "faq", "kb"), "--cases", cases}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rows []marginRow
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if len(rows) != len(evalMargins) || rows[0].Margin != 0 || rows[0].Wrong != 0.5 || rows[len(rows)-1].Wrong != 0 || rows[len(rows)-1].Ambiguous != 0.5 {
		t.Fatalf("rows %+v, want the refund question answered wrongly without a margin and ambiguous with the widest", rows)
	}
}
