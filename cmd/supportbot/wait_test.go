package main

import (
	"errors"
	"testing"
	"time"
)

// waitFor polls cond every 10ms until it returns nil; after timeout it
// fails the test with cond's last error, which says what never came true.
func waitFor(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitThread waits until conversation key's hand-off thread is stored and
// returns its ts.
func waitThread(tb testing.TB, m *Main, key string) string {
	tb.Helper()
	var ts string
	waitFor(tb, 10*time.Second, func() error {
		c, err := m.Store.Conversation(tb.Context(), key)
		if err != nil {
			tb.Fatal(err)
		}
		if ts = c.SlackThreadTS; ts == "" {
			return errors.New("thread ts never stored")
		}
		return nil
	})
	return ts
}
