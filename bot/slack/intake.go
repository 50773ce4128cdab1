package slack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	slackapi "github.com/slack-go/slack"

	"github.com/supportbot/supportbot/bot"
)

// envelope is the outer Events API payload. It is decoded with only the
// fields supportbot uses, not slackevents.ParseEvent: since slack-go v0.34 a
// block it cannot decode rejects the whole event, and an agent's reply must
// not be lost to an unusual block.
type envelope struct {
	Type      string        `json:"type"`
	Challenge string        `json:"challenge"`
	EventID   string        `json:"event_id"`
	Event     *messageEvent `json:"event"`
}

// messageEvent is the inner event of a thread reply.
type messageEvent struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	User     string `json:"user"`
	BotID    string `json:"bot_id"`
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
	Channel  string `json:"channel"`
}

// relayable reports whether ev may be an agent's reply in a thread: a human's
// new message (no bot_id; no edit, deletion or other subtype) in a thread.
// Whether the thread is a hand-off is decided later, by the job.
func (ev *messageEvent) relayable() bool {
	if ev == nil || ev.Type != "message" || ev.BotID != "" || ev.User == "" || ev.Channel == "" {
		return false
	}
	switch ev.Subtype {
	case "", "thread_broadcast", "file_share":
	default: // bot_message, message_changed, message_deleted, channel_join, …
		return false
	}
	return ev.ThreadTS != "" && ev.ThreadTS != ev.TS
}

// lane is the queue key of a Slack thread's jobs: one at a time, in order.
func lane(channel, ts string) string { return "slack:" + channel + ":" + ts }

// errBadRequest marks a delivery that is verified but malformed.
var errBadRequest = errors.New("bad request")

// ingestEvent stores a verified Events API delivery for the worker and
// returns the url_verification challenge, if it is one. Deliveries that
// cannot be an agent's reply are acknowledged without storing anything.
func (e *Escalator) ingestEvent(ctx context.Context, raw []byte) (challenge string, err error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return "", fmt.Errorf("decode event: %w: %w", errBadRequest, err)
	}
	switch env.Type {
	case "url_verification":
		return env.Challenge, nil
	case "app_rate_limited":
		e.logger.Warn("slack is rate limiting events to this app")
		return "", nil
	case "event_callback":
	default:
		return "", nil
	}
	if !env.Event.relayable() {
		return "", nil
	}
	if env.EventID == "" {
		return "", fmt.Errorf("event: %w: no event_id", errBadRequest)
	}
	dup, err := e.store.IngestSlack(ctx, env.EventID, JobEvent, lane(env.Event.Channel, env.Event.ThreadTS), raw)
	if err != nil {
		return "", err
	}
	e.logger.Debug("slack event stored", "event_id", env.EventID, "duplicate", dup)
	return "", nil
}

// ingestAction stores a verified interaction for the worker. Only
// block_actions on supportbot's buttons (the hand-off's, Save as FAQ) are
// stored.
func (e *Escalator) ingestAction(ctx context.Context, ic *slackapi.InteractionCallback, raw []byte) error {
	if ic.Type != slackapi.InteractionTypeBlockActions || !hasKnownAction(ic) {
		return nil
	}
	channel, ts := actionThread(ic)
	if channel == "" || ts == "" {
		return fmt.Errorf("interaction: %w: no channel or message", errBadRequest)
	}
	// A button on a thread reply (Save as FAQ) runs in its thread's lane.
	ts = cmp.Or(ic.Container.ThreadTs, ic.Message.ThreadTimestamp, ts)
	id := "action:" + ic.TriggerID
	if ic.TriggerID == "" {
		sum := sha256.Sum256(raw)
		id = "action:" + hex.EncodeToString(sum[:16])
	}
	dup, err := e.store.IngestSlack(ctx, id, JobAction, lane(channel, ts), raw)
	if err != nil {
		return err
	}
	e.logger.Debug("slack interaction stored", "event_id", id, "duplicate", dup)
	return nil
}

// hasKnownAction reports whether ic clicked one of supportbot's buttons.
func hasKnownAction(ic *slackapi.InteractionCallback) bool {
	for _, a := range ic.ActionCallback.BlockActions {
		if isHandoffAction(a.ActionID) || a.ActionID == ActionSaveFAQ || a.ActionID == ActionSendFAQ {
			return true
		}
	}
	return false
}

func isHandoffAction(id string) bool {
	switch id {
	case ActionClaim, ActionResolve, ActionHandBack, ActionSendDraft:
		return true
	}
	return false
}

// actionThread returns the channel and ts of the message whose button was
// clicked: the hand-off's root.
func actionThread(ic *slackapi.InteractionCallback) (channel, ts string) {
	return cmp.Or(ic.Container.ChannelID, ic.Channel.ID), cmp.Or(ic.Container.MessageTs, ic.Message.Timestamp)
}

// Handler returns a handler serving both Slack endpoints:
// POST /slack/events and POST /slack/interactions.
func (e *Escalator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/events", e.EventsHandler())
	mux.Handle("POST /slack/interactions", e.InteractionsHandler())
	return mux
}

// EventsHandler serves the Events API request URL (POST /slack/events): it
// verifies the signature (401 if bad, missing or older than 5 minutes),
// answers url_verification with the challenge, stores the event with its
// job and answers 200 at once. A redelivered event_id is stored once.
func (e *Escalator) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := e.readVerified(w, r)
		if !ok {
			return
		}
		challenge, err := e.ingestEvent(r.Context(), body)
		if err != nil {
			e.fail(w, err)
			return
		}
		if challenge != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, challenge)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// InteractionsHandler serves the interactivity request URL
// (POST /slack/interactions, form-encoded payload=…): verified like events,
// the click is stored with its job and answered with an empty 200.
func (e *Escalator) InteractionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := e.readVerified(w, r)
		if !ok {
			return
		}
		// ParseForm consumed nothing yet: give it the verified bytes.
		r.Body = io.NopCloser(bytes.NewReader(body))
		ic, err := slackapi.InteractionCallbackParse(r)
		if err != nil {
			e.fail(w, fmt.Errorf("parse interaction: %w: %w", errBadRequest, err))
			return
		}
		if err := e.ingestAction(r.Context(), &ic, []byte(r.PostForm.Get("payload"))); err != nil {
			e.fail(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// readVerified reads the capped body and checks Slack's v0 signature and the
// 5-minute timestamp window with slack.NewSecretsVerifier. On failure it has
// answered (405, 413, 400 or 401) and returns false.
func (e *Escalator) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read body", http.StatusBadRequest)
		}
		return nil, false
	}
	// An empty secret is refused by NewSecretsVerifier (invalid
	// configuration), so an unconfigured endpoint accepts nothing.
	sv, err := slackapi.NewSecretsVerifier(r.Header, e.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		e.logger.Info("slack request rejected", "path", r.URL.Path, "err", err)
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "invalid slack signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// fail answers a verified request whose intake failed: 400 for a malformed
// delivery (Slack should not retry it), 503 when the store is full or
// closed, 500 otherwise, so that Slack redelivers what was not stored.
func (e *Escalator) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errBadRequest):
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "malformed slack request", http.StatusBadRequest)
	case errors.Is(err, bot.ErrStoreFull), errors.Is(err, bot.ErrClosed):
		e.logger.Error("slack intake", "err", err)
		w.Header().Set("Retry-After", "60")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	default:
		e.logger.Error("slack intake", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
