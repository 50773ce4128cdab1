package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the package when a test wrote into the package directory:
// every test keeps its database, secrets and caches in t.TempDir(), and a
// data/ directory here means one used a default relative path instead.
func TestMain(m *testing.M) {
	_, before := os.Stat("data")
	code := m.Run()
	if _, err := os.Stat("data"); err == nil && before != nil {
		fmt.Fprintln(os.Stderr, "a test wrote data/ into cmd/supportbot: use t.TempDir() for storage paths")
		_ = os.RemoveAll("data")
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
