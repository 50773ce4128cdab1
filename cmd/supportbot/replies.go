package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
	cwreply "github.com/supportbot/supportbot/bot/deliver/chatwoot"
	fdreply "github.com/supportbot/supportbot/bot/deliver/freshdesk"
	hsreply "github.com/supportbot/supportbot/bot/deliver/helpscout"
	icreply "github.com/supportbot/supportbot/bot/deliver/intercom"
	zdreply "github.com/supportbot/supportbot/bot/deliver/zendesk"
	"github.com/supportbot/supportbot/triggers"
)

// replyFactory builds a vendor reply channel from a trigger's reply
// settings; client is the outbound client (nil: a default one). Errors name
// the key, e.g. "reply.api_token: required".
type replyFactory func(cfg triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error)

// replyKinds maps each vendor reply kind to its factory. The kinds webhook
// and none are built by replyChannel, which has the logger they need.
var replyKinds = map[string]replyFactory{
	"web": webReply,
	"chatwoot": func(c triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error) {
		return cwreply.New(cwreply.Config{BaseURL: c.BaseURL, AccountID: c.AccountID, Token: c.APIAccessToken, Timeout: c.Timeout}, client)
	},
	"intercom": func(c triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error) {
		return icreply.New(icreply.Config{BaseURL: c.BaseURL, AccessToken: c.AccessToken, AdminID: c.AdminID, EscalationTag: c.EscalationTag, Timeout: c.Timeout}, client)
	},
	"helpscout": func(c triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error) {
		return hsreply.New(hsreply.Config{BaseURL: c.BaseURL, AppID: c.AppID, AppSecret: c.AppSecret, EscalationTag: c.EscalationTag, Timeout: c.Timeout}, client)
	},
	"zendesk": func(c triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error) {
		return zdreply.New(zdreply.Config{BaseURL: c.BaseURL, Email: c.Email, APIToken: c.APIToken, EscalationTag: c.EscalationTag, Timeout: c.Timeout}, client)
	},
	"freshdesk": func(c triggers.ReplyConfig, client *http.Client) (bot.Deliverer, error) {
		return fdreply.New(fdreply.Config{BaseURL: c.BaseURL, APIKey: c.APIKey, EscalationTag: c.EscalationTag, Timeout: c.Timeout}, client)
	},
}

// replyKindNames lists the reply kinds: webhook, the vendor kinds, none.
func replyKindNames() []string {
	names := []string{"webhook"}
	for n := range replyKinds {
		names = append(names, n)
	}
	slices.Sort(names[1:])
	return append(names, "none")
}

// replyChannel builds the reply channel of tc's reply settings; client is
// the outbound client.
func replyChannel(tc triggers.Config, client *http.Client, logger *slog.Logger) (bot.Deliverer, error) {
	switch tc.Reply.Kind {
	case "webhook":
		w, err := deliver.NewWebhook(deliver.WebhookConfig{URL: tc.Reply.URL, Secret: tc.Reply.Secret, Timeout: tc.Reply.Timeout})
		if err != nil {
			return nil, err
		}
		w.HTTPClient, w.Logger = client, logger
		return w, nil
	case "none":
		return bot.DelivererFunc(func(context.Context, bot.Reply) error { return nil }), nil
	}
	f, ok := replyKinds[tc.Reply.Kind]
	if !ok {
		return nil, fmt.Errorf("kind: %q is not one of %s", tc.Reply.Kind, strings.Join(replyKindNames(), ", "))
	}
	return f(tc.Reply, client)
}

// setReply installs tc's reply channel in the router.
func (m *Main) setReply(tc triggers.Config) error {
	d, err := replyChannel(tc, m.replyClient, m.Logger)
	if err != nil {
		return err
	}
	m.router.Set(tc.Name, d)
	return nil
}
