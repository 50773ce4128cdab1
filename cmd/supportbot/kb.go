package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/supportbot/supportbot/bot/deliver"
	"github.com/supportbot/supportbot/bot/kbimport"
	"github.com/supportbot/supportbot/triggers"
)

// kbTokenEnv holds the vendor credential of `supportbot kb import` when
// --token is not given, so that it stays out of the process list.
const kbTokenEnv = "SUPPORTBOT_KB_TOKEN"

// kbVendors are the help centers `supportbot kb import` reads.
var kbVendors = []string{"zendesk", "intercom", "helpscout", "freshdesk", "chatwoot"}

// kbImportOptions are the flags of `supportbot kb import`.
type kbImportOptions struct {
	dir, trigger                           string
	baseURL, email, token, account, portal string
	full                                   bool
	// envToken is $SUPPORTBOT_KB_TOKEN: it stands in for --token, after a
	// trigger's own credential.
	envToken string
}

func (c *cli) kbCmd() *cobra.Command {
	kb := &cobra.Command{Use: "kb", Short: "Help-center articles: import them from a helpdesk"}
	var o kbImportOptions
	imp := &cobra.Command{
		Use:   "import zendesk|intercom|helpscout|freshdesk|chatwoot",
		Short: "Import a help center's published articles into the articles directory, incrementally",
		Long: "Import pulls the published, public articles of a help center through the vendor's API into\n" +
			"the articles directory (knowledge.articles, or --dir), one Markdown file per article\n" +
			"(<vendor>-<id>.md). The credentials come from a trigger's reply settings (--trigger NAME)\n" +
			"or from flags; the secret from --token or " + kbTokenEnv + ". A state file in the directory\n" +
			"(.import-<vendor>.json) keeps the last sync, so the next run fetches only what changed;\n" +
			"--full fetches everything again and removes the files of deleted articles.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vendor := strings.ToLower(args[0])
			if !slices.Contains(kbVendors, vendor) {
				return &usageError{fmt.Errorf("kb import: unknown help center %q (want %s)", args[0], strings.Join(kbVendors, ", "))}
			}
			cfg, err := c.config()
			if err != nil {
				return err
			}
			dir := o.dir
			if dir == "" {
				dir = cfg.Knowledge.Articles
			}
			if dir == "" {
				return &usageError{errors.New("kb import: no articles directory: set knowledge.articles or pass --dir")}
			}
			o.envToken = os.Getenv(kbTokenEnv)
			client := deliver.NewHTTPClient(deliver.ClientOptions{
				AllowPrivateNetworks: cfg.Outbound.AllowPrivateNetworks, Timeout: kbimport.DefaultTimeout,
			})
			src, err := kbSource(vendor, cfg, o, client)
			if err != nil {
				return err
			}
			deliver.UserAgent = "supportbot/" + version
			im := &kbimport.Importer{Dir: dir, Full: o.full, Logger: newLogger(cfg.Log, c.stderr)}
			res, err := im.Run(cmd.Context(), src)
			if err != nil {
				return err
			}
			mode := "changes since the last import"
			if res.Full {
				mode = "everything"
			}
			fmt.Fprintf(c.stdout, "%s: %d written, %d unchanged, %d removed, %d skipped (drafts, internal or empty) in %s (%s)\n",
				vendor, res.Written, res.Unchanged, res.Removed, res.Skipped, dir, mode)
			return nil
		},
	}
	f := imp.Flags()
	f.StringVar(&o.dir, "dir", "", "articles directory (default knowledge.articles)")
	f.StringVar(&o.trigger, "trigger", "", "take the base URL and credentials from this trigger's reply settings")
	f.StringVar(&o.baseURL, "base-url", "", "the help desk's API URL, e.g. https://acme.zendesk.com (overrides the trigger's)")
	f.StringVar(&o.email, "email", "", "zendesk: the agent's e-mail address")
	f.StringVar(&o.token, "token", "", "the API token, access token or API key (default $"+kbTokenEnv+")")
	f.StringVar(&o.account, "account-id", "", "chatwoot: the account id")
	f.StringVar(&o.portal, "portal", "", "chatwoot: the help-center portal's slug (required)")
	f.BoolVar(&o.full, "full", false, "ignore the last sync: fetch every article and remove the files of deleted ones")
	kb.AddCommand(imp)
	return kb
}

// kbSource builds the vendor's importer from the trigger's reply settings
// (--trigger) with flags overriding them. Errors name the setting to fix.
func kbSource(vendor string, cfg Config, o kbImportOptions, client *http.Client) (kbimport.Source, error) {
	var rc triggers.ReplyConfig
	from := "--"
	if o.trigger != "" {
		var tc *triggers.Config
		for i := range cfg.Triggers {
			if cfg.Triggers[i].Name == o.trigger {
				tc = &cfg.Triggers[i]
			}
		}
		if tc == nil {
			return nil, &usageError{fmt.Errorf("--trigger: no trigger named %q in the config", o.trigger)}
		}
		if tc.Reply.Kind != vendor {
			return nil, &usageError{fmt.Errorf("--trigger: trigger %q replies through %q, not %s", o.trigger, tc.Reply.Kind, vendor)}
		}
		rc = tc.Reply
		from = "triggers." + tc.Name + ".reply."
	}
	base := firstSet(o.baseURL, rc.BaseURL)
	// token picks the secret: --token, else the trigger's, else
	// $SUPPORTBOT_KB_TOKEN; fromTrigger tells which was used.
	fromTrigger := false
	token := func(trigger string) string {
		switch {
		case o.token != "":
			return o.token
		case trigger != "":
			fromTrigger = true
			return trigger
		}
		return o.envToken
	}
	// check names a credential as the operator set it: a flag or a
	// trigger's reply key.
	check := func(flag, key string) string {
		switch {
		case flag == "token" && fromTrigger, flag == "email" && o.email == "" && from != "--":
			return from + key
		case flag == "token":
			return "--token (or $" + kbTokenEnv + ")"
		}
		return "--" + flag
	}
	var (
		src kbimport.Source
		err error
	)
	switch vendor {
	case "zendesk":
		src, err = kbimport.NewZendesk(kbimport.ZendeskConfig{BaseURL: base, Email: firstSet(o.email, rc.Email), APIToken: token(rc.APIToken),
			Check: check("email", "email") + " and " + check("token", "api_token") + " (an agent's or admin's API token)"}, client)
	case "intercom":
		src, err = kbimport.NewIntercom(kbimport.IntercomConfig{BaseURL: base, AccessToken: token(rc.AccessToken),
			Check: check("token", "access_token") + " (and its read_articles scope)"}, client)
	case "helpscout":
		key := token("")
		if key == "" {
			return nil, &usageError{fmt.Errorf("kb import helpscout: the Docs API key is required (--token or %s): it is a user's key, not the Mailbox app's", kbTokenEnv)}
		}
		// The trigger's base URL is the Mailbox API's, not the Docs API's.
		src, err = kbimport.NewHelpScout(kbimport.HelpScoutConfig{BaseURL: o.baseURL, APIKey: key,
			Check: "--token (the Docs API key)"}, client)
	case "freshdesk":
		src, err = kbimport.NewFreshdesk(kbimport.FreshdeskConfig{BaseURL: base, APIKey: token(rc.APIKey),
			Check: check("token", "api_key")}, client)
	case "chatwoot":
		src, err = kbimport.NewChatwoot(kbimport.ChatwootConfig{BaseURL: base, AccountID: firstSet(o.account, rc.AccountID),
			Portal: o.portal, Token: token(rc.APIAccessToken),
			Check: check("token", "api_access_token")}, client)
	}
	if err != nil {
		return nil, &usageError{fmt.Errorf("kb import %s: %s", vendor, settingError(err, from))}
	}
	return src, nil
}

// flagOf maps the keys the importers name in errors to the flags.
var flagOf = map[string]string{
	"base_url": "--base-url", "email": "--email", "api_token": "--token", "access_token": "--token",
	"api_key": "--token", "api_access_token": "--token", "account_id": "--account-id", "portal": "--portal",
}

// settingError renames the key an importer's error starts with ("email:
// required") to the setting the operator uses: the flag, or the trigger's
// reply key.
func settingError(err error, from string) string {
	msg := err.Error()
	key, rest, ok := strings.Cut(msg, ":")
	if !ok || flagOf[key] == "" {
		return msg
	}
	if from == "--" || key == "portal" {
		return flagOf[key] + ":" + rest
	}
	return from + key + ":" + rest
}

func firstSet(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
