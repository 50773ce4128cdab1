package sqlite_test

import (
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/storetest"
)

// TestContract runs the store contract suite on SQLite files.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return MustOpenStore(t) })
}
