package slack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

// Defaults of Config and of the Escalator.
const (
	DefaultNotePrefix  = "//"
	DefaultRelayPrefix = ">>"
	DefaultCallTimeout = 15 * time.Second
	// DefaultNameTTL is how long an agent's display name is cached.
	DefaultNameTTL = time.Hour
	// MaxBody caps the body of an inbound Slack request.
	MaxBody = 1 << 20
)

// Relay modes: which agent messages in a thread reach the customer.
const (
	RelayAll      = "all"      // every message but internal notes
	RelayExplicit = "explicit" // only messages that start with RelayPrefix
)

// Job kinds of the Slack intake; register Handlers for them with the runner.
const (
	JobEvent  = bot.JobSlackEvent  // an Events API event (an agent's thread reply)
	JobAction = bot.JobSlackAction // a block_actions interaction (a button click)
	// JobRelayNotice posts "Relayed to the customer" with the Save as FAQ
	// button under a relayed agent reply (bot.RelayNoticePayload); queued
	// once per reply.
	JobRelayNotice = bot.JobSlackRelayNotice
)

// Action ids of the hand-off message's buttons; each button's value is the
// conversation key.
const (
	ActionClaim     = "claim"
	ActionResolve   = "resolve"
	ActionHandBack  = "hand_back"
	ActionSendDraft = "send_draft"
	// ActionSaveFAQ is the Save as FAQ button under a relayed agent reply;
	// its value is the reply's id.
	ActionSaveFAQ = "save_faq"
	// ActionSendFAQ is the hand-off's "Send FAQ answer" menu: its options
	// are the entries the hand-off considered, each valued with the entry's
	// id; the hand-off's thread names the conversation.
	ActionSendFAQ = "send_faq"
)

// Config is the Slack side of supportbot (config keys slack.*).
type Config struct {
	BotToken      string // xoxb-…; chat:write, users:read, channels:history (groups:history)
	SigningSecret string // verifies the HTTP endpoints
	AppToken      string // xapp-…; set: Socket Mode
	Channel       string // where hand-offs are posted (an id, or a name the bot may post to)
	APIURL        string // empty: Slack's own; tests point it at a fake
	// NotePrefix marks an agent's thread message as an internal note that is
	// never relayed (default "//").
	NotePrefix string
	// Relay is RelayAll (default) or RelayExplicit.
	Relay string
	// RelayPrefix marks the messages relayed in RelayExplicit mode; it is
	// stripped before relaying (default ">>").
	RelayPrefix string
	// ClosingText, when set, is sent to the customer as the agent's reply
	// when a conversation is resolved.
	ClosingText string
	// PublicURL is supportbot's external base URL, for links in Slack.
	PublicURL string
}

func (c Config) withDefaults() Config {
	c.NotePrefix = cmp.Or(c.NotePrefix, DefaultNotePrefix)
	c.RelayPrefix = cmp.Or(c.RelayPrefix, DefaultRelayPrefix)
	c.Relay = cmp.Or(strings.ToLower(strings.TrimSpace(c.Relay)), RelayAll)
	return c
}

// Validate reports the first invalid setting, naming its config key.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case c.BotToken == "":
		return bot.Invalid("slack.bot_token", "required")
	case c.Channel == "":
		return bot.Invalid("slack.channel", "required when slack.bot_token is set")
	case c.SigningSecret == "" && c.AppToken == "":
		return bot.Invalid("slack.signing_secret", "required when slack.app_token is not set")
	case d.Relay != RelayAll && d.Relay != RelayExplicit:
		return bot.Invalid("slack.relay", "must be %q or %q", RelayAll, RelayExplicit)
	case d.NotePrefix == d.RelayPrefix:
		return bot.Invalid("slack.relay_prefix", "must differ from slack.note_prefix")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bot.Invalid("slack.api_url", "must be an http(s) URL")
		}
	}
	return nil
}

// Store is what the Slack side needs from the store; *sqlite.Store
// implements it.
type Store interface {
	// IngestSlack stores a verified delivery and its job; a redelivered id
	// returns duplicate = true and stores nothing.
	IngestSlack(ctx context.Context, id, kind, queueKey string, payload []byte) (duplicate bool, err error)
	// ConversationByThread returns bot.ErrNotFound for a thread that is not
	// a conversation's current hand-off.
	ConversationByThread(ctx context.Context, channel, ts string) (*bot.Conversation, error)
	Conversation(ctx context.Context, key string) (*bot.Conversation, error)
	// LatestEscalation returns bot.ErrNotFound if there is none.
	LatestEscalation(ctx context.Context, key string) (bot.StoredEscalation, error)
	// ChangeState claims, resolves or hands back a conversation by the
	// rules of bot.StateChange: a claim returns a *bot.ClaimError (which
	// wraps bot.ErrConflict) when another agent holds the conversation, an
	// error wrapping bot.ErrConflict when it is not escalated; claiming
	// twice, or closing a closed conversation, is a no-op.
	ChangeState(ctx context.Context, sc bot.StateChange) (*bot.Conversation, error)
	// QueueAgentReply relays once per dedupeKey; false: relayed before.
	QueueAgentReply(ctx context.Context, dedupeKey string, r bot.Reply) (bool, error)
	// Transitions lists a conversation's state changes, oldest first.
	Transitions(ctx context.Context, key string) ([]bot.Transition, error)
	// SuggestionSource prepares an FAQ suggestion (question and answer)
	// from a relayed agent reply; bot.ErrNotFound for an unknown reply, a
	// *bot.ValidationError for one that is not an agent's.
	SuggestionSource(ctx context.Context, replyID string) (bot.FAQSuggestion, error)
	// SuggestFAQ records a pending suggestion once per reply; a repeat
	// returns the first one's id and created = false.
	SuggestFAQ(ctx context.Context, s bot.FAQSuggestion) (id int64, created bool, err error)
	// Suggestion returns bot.ErrNotFound for an unknown id.
	Suggestion(ctx context.Context, id int64) (bot.FAQSuggestion, error)
}

// Escalator is bot.Escalator on Slack, plus the inbound side: HTTP handlers,
// Socket Mode, and the job handlers for agents' replies and clicks.
type Escalator struct {
	// Now returns the current time (name cache expiry); tests replace it.
	Now func() time.Time
	// CallTimeout bounds each Slack API call.
	CallTimeout time.Duration
	// NameTTL is how long display names are cached.
	NameTTL time.Duration
	// ConversationURLFunc, when set, returns a link to a conversation's page
	// (shown in the hand-off); by default PublicURL + "/admin/conversations/KEY"
	// when PublicURL is set.
	ConversationURLFunc func(key string) string
	// FAQ, when set, adds the "Send FAQ answer" menu to hand-offs: the
	// chosen entry's answer is sent as the agent's reply, and the
	// customer's question is learned as an example of the entry.
	FAQ bot.FAQLearner

	cfg    Config
	store  Store
	api    *slackapi.Client
	hc     *http.Client
	logger *slog.Logger

	names directory

	mu     sync.Mutex // guards the Socket Mode lifecycle below
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ bot.Escalator = (*Escalator)(nil)

// New returns an Escalator for cfg (call cfg.Validate first). hc is the HTTP
// client of every Slack API call (nil: one with a 30 s timeout); slack-go's
// own retries stay off, since the job queue retries. Call Open to start
// Socket Mode when cfg.AppToken is set.
func New(cfg Config, st Store, hc *http.Client, logger *slog.Logger) *Escalator {
	cfg = cfg.withDefaults()
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if logger == nil {
		logger = slog.Default()
	}
	e := &Escalator{
		Now:         time.Now,
		CallTimeout: DefaultCallTimeout,
		NameTTL:     DefaultNameTTL,
		cfg:         cfg,
		store:       st,
		hc:          hc,
		logger:      logger.With("component", "slack"),
	}
	e.api = slackapi.New(cfg.BotToken, e.clientOptions()...)
	e.names = directory{e: e, names: map[string]cachedName{}}
	return e
}

func (e *Escalator) clientOptions() []slackapi.Option {
	opts := []slackapi.Option{slackapi.OptionHTTPClient(e.hc)}
	if e.cfg.APIURL != "" {
		u := e.cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slackapi.OptionAPIURL(u))
	}
	if e.cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(e.cfg.AppToken))
	}
	return opts
}

// call bounds one Slack API call with CallTimeout.
func (e *Escalator) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cmp.Or(e.CallTimeout, DefaultCallTimeout))
}

// Escalate posts the hand-off packet to the configured channel and returns
// its thread. Errors follow the job classes (see the package doc).
func (e *Escalator) Escalate(ctx context.Context, esc bot.Escalation) (bot.Thread, error) {
	blocks, text := renderHandoff(esc, handoffView{
		State: bot.StateEscalated, Hint: handoffHint(e.cfg), ConversationURL: e.conversationURL(esc.ConversationKey),
		FAQMenu: e.FAQ != nil,
	})
	cctx, cancel := e.call(ctx)
	defer cancel()
	ch, ts, err := e.api.PostMessageContext(cctx, e.cfg.Channel,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
		slackapi.MsgOptionMetadata(handoffMetadata(esc)),
	)
	if err != nil {
		return bot.Thread{}, classify("post hand-off", err)
	}
	if ts == "" {
		return bot.Thread{}, errors.New("post hand-off: slack returned no ts")
	}
	e.logger.Info("hand-off posted", "conversation", esc.ConversationKey, "reason", esc.Reason, "channel", ch, "ts", ts)
	return bot.Thread{Channel: cmp.Or(ch, e.cfg.Channel), TS: ts}, nil
}

// handoffEventType is the metadata event type of a hand-off post; its
// payload names the escalation, so that a retried escalate job can find the
// post it made before its outcome was recorded.
const handoffEventType = "supportbot_handoff"

func handoffMetadata(esc bot.Escalation) slackapi.SlackMetadata {
	return slackapi.SlackMetadata{EventType: handoffEventType, EventPayload: map[string]any{
		"conversation": esc.ConversationKey,
		"created_ms":   strconv.FormatInt(esc.CreatedAt.UnixMilli(), 10),
	}}
}

// FindHandoff looks in the channel for the hand-off post of esc made by an
// earlier attempt (one whose outcome was not recorded: the store failed, or
// the process died, after Slack accepted the post), by the metadata
// Escalate attaches. ok is false when there is none.
func (e *Escalator) FindHandoff(ctx context.Context, esc bot.Escalation) (t bot.Thread, ok bool, err error) {
	want := handoffMetadata(esc).EventPayload
	params := &slackapi.GetConversationHistoryParameters{
		ChannelID: e.cfg.Channel, Limit: 200, IncludeAllMetadata: true, Inclusive: true,
		// The post cannot be older than the escalation; a minute of slack
		// for clocks.
		Oldest: fmt.Sprintf("%d.000000", esc.CreatedAt.Add(-time.Minute).Unix()),
	}
	for range 5 { // at most 1,000 messages: a hand-off is found in the first page
		cctx, cancel := e.call(ctx)
		resp, err := e.api.GetConversationHistoryContext(cctx, params)
		cancel()
		if err != nil {
			return bot.Thread{}, false, classify("find hand-off", err)
		}
		for _, m := range resp.Messages {
			md := m.Metadata
			if md.EventType == handoffEventType && fmt.Sprint(md.EventPayload["conversation"]) == want["conversation"] &&
				fmt.Sprint(md.EventPayload["created_ms"]) == want["created_ms"] {
				return bot.Thread{Channel: e.cfg.Channel, TS: m.Timestamp}, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return bot.Thread{}, false, nil
}

// Notice posts a plain message for agents in the configured channel (the
// escalation budget's summary of held hand-offs).
func (e *Escalator) Notice(ctx context.Context, text string) error {
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, err := e.api.PostMessageContext(cctx, e.cfg.Channel,
		slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return classify("post notice", err)
	}
	return nil
}

// Mirror posts a customer's follow-up into the hand-off thread. A
// conversation escalated while Slack was off has no thread: the message is
// then only in the transcript, and Mirror returns nil.
func (e *Escalator) Mirror(ctx context.Context, t bot.Thread, m bot.Turn) error {
	if t.TS == "" {
		e.logger.Warn("mirror skipped: conversation has no slack thread")
		return nil
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, err := e.api.PostMessageContext(cctx, cmp.Or(t.Channel, e.cfg.Channel),
		slackapi.MsgOptionText(renderMirror(m), false),
		slackapi.MsgOptionTS(t.TS),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return classify("mirror message", err)
	}
	return nil
}

// Reannounce reminds agents of a hand-off nobody has claimed: it posts
// "Still unclaimed after N min" in the hand-off's thread, broadcast to the
// channel (reply_broadcast) so that it is seen there, with mention when set
// (see MentionMarkup: a user group id, a user id, "here" or "channel"). N
// counts from the escalation's creation. Nothing is posted, and nil
// returned, when the escalation is no longer open (pass one freshly loaded)
// or has no thread (escalated while Slack was off). An invalid mention is
// bot.Permanent; Slack errors follow the job classes.
func (e *Escalator) Reannounce(ctx context.Context, esc bot.StoredEscalation, t bot.Thread, mention string) error {
	log := e.logger.With("conversation", esc.ConversationKey, "escalation_id", esc.ID)
	if esc.Status != "" && esc.Status != "open" {
		log.Debug("re-announce skipped: escalation not open", "status", esc.Status)
		return nil
	}
	if t.TS == "" {
		log.Warn("re-announce skipped: conversation has no slack thread")
		return nil
	}
	m, err := MentionMarkup(mention)
	if err != nil {
		return bot.Permanent(fmt.Errorf("re-announce: %w", err))
	}
	created := esc.CreatedAt
	if created.IsZero() {
		created = esc.Escalation.CreatedAt
	}
	var waited time.Duration
	if !created.IsZero() {
		waited = max(e.Now().Sub(created), time.Minute)
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	_, _, err = e.api.PostMessageContext(cctx, cmp.Or(t.Channel, e.cfg.Channel),
		slackapi.MsgOptionText(renderReannounce(esc.Escalation, waited, m), false),
		slackapi.MsgOptionTS(t.TS),
		slackapi.MsgOptionBroadcast(),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return classify("re-announce", err)
	}
	log.Info("hand-off re-announced", "waited_min", int(waited/time.Minute))
	return nil
}

// mentionID is a Slack user or user group id.
var mentionID = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)

// MentionMarkup returns the Slack markup that notifies mention: a user group
// id ("S0123ABC", rendered <!subteam^S0123ABC>), a user id ("U…" or "W…",
// rendered <@U…>), or "here" / "channel" (<!here>, <!channel>); a leading
// "@" or "!" is allowed. An empty mention is "" and no error. Use it to
// validate the configured mention at start-up.
func MentionMarkup(mention string) (string, error) {
	m := strings.TrimLeft(strings.TrimSpace(mention), "@!")
	switch strings.ToLower(m) {
	case "":
		return "", nil
	case "here", "channel":
		return "<!" + strings.ToLower(m) + ">", nil
	}
	m = strings.TrimPrefix(m, "subteam^")
	if mentionID.MatchString(m) {
		switch m[0] {
		case 'S':
			return "<!subteam^" + m + ">", nil
		case 'U', 'W':
			return "<@" + m + ">", nil
		}
	}
	return "", fmt.Errorf("mention %q: want a user group id (S…), a user id (U…), here or channel", mention)
}

func (e *Escalator) conversationURL(key string) string {
	if e.ConversationURLFunc != nil {
		return e.ConversationURLFunc(key)
	}
	if e.cfg.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(e.cfg.PublicURL, "/") + "/admin/conversations/" + url.PathEscape(key)
}

// Handlers returns the job handlers of the Slack intake by kind, for the
// runner: JobEvent, JobAction and JobRelayNotice.
func (e *Escalator) Handlers() map[string]bot.Handler {
	return map[string]bot.Handler{
		JobEvent:       bot.HandlerFunc(e.handleEventJob),
		JobAction:      bot.HandlerFunc(e.handleActionJob),
		JobRelayNotice: bot.HandlerFunc(e.handleRelayNoticeJob),
	}
}

// Open starts Socket Mode in the background when an app token is set; with
// none it does nothing (the HTTP endpoints are the transport). Close stops it.
func (e *Escalator) Open() error {
	if e.cfg.AppToken == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		return errors.New("slack: already open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.Run(ctx); err != nil && ctx.Err() == nil {
			e.logger.Error("socket mode stopped", "err", err)
		}
	}()
	return nil
}

// Close stops Socket Mode and waits for its goroutines.
func (e *Escalator) Close() error {
	e.mu.Lock()
	cancel := e.cancel
	e.cancel = nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	return nil
}
