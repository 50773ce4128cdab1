package storetest_test

import (
	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/dashboard"
	"github.com/supportbot/supportbot/bot/metrics"
	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/bot/slack"
	"github.com/supportbot/supportbot/bot/webchat"
	"github.com/supportbot/supportbot/bot/worker"
)

// Every consumer's store interface is a part of bot.Store, so a store that
// passes the contract serves them all.
var (
	_ worker.Store            = bot.Store(nil)
	_ worker.Queue            = bot.Store(nil)
	_ worker.FollowUpStore    = bot.Store(nil)
	_ worker.RetentionStore   = bot.Store(nil)
	_ worker.AuditStore       = bot.Store(nil)
	_ worker.BudgetStore      = bot.Store(nil)
	_ server.AdminStore       = bot.Store(nil)
	_ server.Intake           = bot.Store(nil)
	_ server.RejectionCounter = bot.Store(nil)
	_ slack.Store             = bot.Store(nil)
	_ webchat.Store           = bot.Store(nil)
	_ webchat.Revocations     = bot.Store(nil)
	_ dashboard.Store         = bot.Store(nil)
	_ metrics.OutcomeReader   = bot.Store(nil)
	_ metrics.QueueReader     = bot.Store(nil)
)
