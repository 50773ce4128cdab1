// Package kinds registers the trigger kinds that supportbot ships. It sits
// apart from package triggers because the kinds import triggers, and
// triggers cannot import them back.
package kinds

import (
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/chatwoot"
	"github.com/supportbot/supportbot/triggers/generic"
	"github.com/supportbot/supportbot/triggers/hmac"
	"github.com/supportbot/supportbot/triggers/standard"
	"github.com/supportbot/supportbot/triggers/token"
)

// Default returns a new registry of every built-in trigger kind, keyed by
// the name used in config.yaml's kind key. Callers may add their own kinds
// to the returned map.
func Default() triggers.Kinds {
	return triggers.Kinds{
		standard.Kind: standard.New,
		hmac.Kind:     hmac.New,
		token.Kind:    token.New,
		generic.Kind:  generic.New,
		chatwoot.Kind: chatwoot.New,
	}
}

// Replies returns a new registry of the vendor reply channels, keyed by the
// name used in a trigger's reply.kind. The kinds webhook and none are built
// by the caller, which owns the logger and signing they need.
func Replies() triggers.ReplyKinds {
	return triggers.ReplyKinds{
		chatwoot.Kind: chatwoot.NewReply,
	}
}
