// Package kinds registers the trigger kinds that supportbot ships. It sits
// apart from package triggers because the kinds import triggers, and
// triggers cannot import them back.
package kinds

import (
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/chatwoot"
	"github.com/supportbot/supportbot/triggers/freshdesk"
	"github.com/supportbot/supportbot/triggers/generic"
	"github.com/supportbot/supportbot/triggers/helpscout"
	"github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/intercom"
	"github.com/supportbot/supportbot/triggers/standard"
	"github.com/supportbot/supportbot/triggers/token"
	"github.com/supportbot/supportbot/triggers/web"
	"github.com/supportbot/supportbot/triggers/zendesk"
)

// Default returns a new registry of every built-in trigger kind, keyed by
// the name used in config.yaml's kind key. Callers may add their own kinds
// to the returned map.
func Default() triggers.Kinds {
	return triggers.Kinds{
		standard.Kind:  standard.New,
		hmac.Kind:      hmac.New,
		token.Kind:     token.New,
		generic.Kind:   generic.New,
		chatwoot.Kind:  chatwoot.New,
		intercom.Kind:  intercom.New,
		helpscout.Kind: helpscout.New,
		web.Kind:       web.New,
		zendesk.Kind:   zendesk.New,
		freshdesk.Kind: freshdesk.New,
	}
}
