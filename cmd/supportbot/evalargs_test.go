package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// eval and ask refuse a --faq path that does not exist and a threshold
// outside [0, 1] (exit 2, the flag named), instead of evaluating the embedded
// default knowledge base.
func TestEvalAskArguments(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	cases := filepath.Join("..", "..", "faq", "testdata", "default_cases.jsonl")
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"eval missing faq", []string{"eval", "--faq", missing, "--cases", cases}, "--faq"},
		{"ask missing faq", []string{"ask", "--faq", missing, "how do I reset my password"}, "--faq"},
		{"eval threshold above 1", []string{"eval", "--threshold", "1.5", "--cases", cases}, "--threshold"},
		{"eval threshold below 0", []string{"eval", "--threshold", "-0.1", "--cases", cases}, "--threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			if code := run(context.Background(), tc.args, nil, io.Discard, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2 (%s)", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.flag) {
				t.Fatalf("error %q does not name %s", errOut.String(), tc.flag)
			}
		})
	}
	// The README's example runs as written: the shipped KB and cases.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"eval", "--faq", filepath.Join("..", "..", "faq", "kb"), "--cases", cases}, nil, &out, io.Discard); code != 0 {
		t.Fatalf("eval on the shipped KB: exit %d", code)
	}
}
