package sqlite_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the writer,
// the workers' listeners and every pool must stop with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
