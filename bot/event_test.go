package bot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
)

func TestEventValidateOwner(t *testing.T) {
	t.Parallel()
	agent := &bot.OwnerChange{State: bot.StateAgent, Actor: "zendesk", Reason: bot.ReasonHelpdeskAssigned}
	conv := bot.ConversationRef{ID: "c-1"}
	for _, tc := range []struct {
		name      string
		ev        bot.Event
		wantField string
	}{
		{name: "signal only", ev: bot.Event{Type: bot.EventOwnerChanged, Conversation: conv, Owner: agent}},
		{name: "message with signal", ev: bot.Event{Type: bot.EventMessageCreated, Conversation: conv, Owner: agent,
			Message: bot.MessageRef{Text: "hi"}}},
		{name: "signal without owner", ev: bot.Event{Type: bot.EventOwnerChanged, Conversation: conv}, wantField: "owner"},
		{name: "signal without conversation", ev: bot.Event{Type: bot.EventOwnerChanged, Owner: agent}, wantField: "conversation.id"},
		{name: "message without text", ev: bot.Event{Type: bot.EventMessageCreated, Conversation: conv, Owner: agent}, wantField: "message.text"},
		{name: "escalated is no helpdesk state", ev: bot.Event{Type: bot.EventOwnerChanged, Conversation: conv,
			Owner: &bot.OwnerChange{State: bot.StateEscalated, Actor: "x", Reason: "y"}}, wantField: "owner.state"},
		{name: "no actor", ev: bot.Event{Type: bot.EventOwnerChanged, Conversation: conv,
			Owner: &bot.OwnerChange{State: bot.StateBot, Reason: "y"}}, wantField: "owner.actor"},
		{name: "no reason", ev: bot.Event{Type: bot.EventOwnerChanged, Conversation: conv,
			Owner: &bot.OwnerChange{State: bot.StateResolved, Actor: "x"}}, wantField: "owner.reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ev.Validate()
			var ve *bot.ValidationError
			switch {
			case tc.wantField == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantField != "" && (!errors.As(err, &ve) || ve.Field != tc.wantField):
				t.Fatalf("Validate() = %v, want an error on %s", err, tc.wantField)
			}
		})
	}
}

func TestCanHelpdeskTransition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to       bot.State
		helpdesk, core bool
	}{
		{bot.StateBot, bot.StateAgent, true, false},
		{bot.StateResolved, bot.StateAgent, true, false},
		{bot.StateEscalated, bot.StateAgent, true, true},
		{bot.StateAgent, bot.StateBot, true, true},
		{bot.StateBot, bot.StateResolved, true, true},
		{bot.StateAgent, bot.StateAgent, false, false},
		{bot.StateResolved, bot.StateResolved, false, false},
	} {
		if got := tc.from.CanHelpdeskTransition(tc.to); got != tc.helpdesk {
			t.Errorf("%s.CanHelpdeskTransition(%s) = %v, want %v", tc.from, tc.to, got, tc.helpdesk)
		}
		if got := tc.from.CanTransition(tc.to); got != tc.core {
			t.Errorf("%s.CanTransition(%s) = %v, want %v", tc.from, tc.to, got, tc.core)
		}
	}
}

func TestOwnerChangeAllows(t *testing.T) {
	t.Parallel()
	states := []bot.State{bot.StateBot, bot.StateEscalated, bot.StateAgent, bot.StateResolved}
	for _, tc := range []struct {
		o    bot.OwnerChange
		want string // the states it may leave, in the order above
	}{
		{bot.OwnerChange{State: bot.StateAgent, Reason: bot.ReasonHelpdeskAssigned}, "bot escalated resolved"},
		{bot.OwnerChange{State: bot.StateAgent, Reason: bot.ReasonHelpdeskReplied}, "bot escalated resolved"},
		{bot.OwnerChange{State: bot.StateAgent, Reason: bot.ReasonHelpdeskOpened}, "bot"},
		{bot.OwnerChange{State: bot.StateResolved, Reason: bot.ReasonHelpdeskResolved}, "bot escalated agent"},
		{bot.OwnerChange{State: bot.StateBot, Reason: bot.ReasonHelpdeskReturned}, "escalated agent resolved"},
		{bot.OwnerChange{State: bot.StateBot, Reason: bot.ReasonHelpdeskUnassigned}, "agent"},
	} {
		var got []string
		for _, from := range states {
			if tc.o.Allows(from) {
				got = append(got, string(from))
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s %s allows from %q, want %q", tc.o.State, tc.o.Reason, g, tc.want)
		}
	}
}
