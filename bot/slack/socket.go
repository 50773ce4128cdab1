package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Reconnect backoff of Socket Mode when slack-go's client gives up.
const (
	socketBackoffBase = time.Second
	socketBackoffMax  = 5 * time.Minute
)

// fatalSocketErrors stop Socket Mode: retrying cannot fix the token.
var fatalSocketErrors = map[string]bool{
	"invalid_auth":           true,
	"account_inactive":       true,
	"not_authed":             true,
	"token_revoked":          true,
	"token_expired":          true,
	"not_allowed_token_type": true,
}

// Run connects to Slack in Socket Mode and feeds every envelope to the same
// intake as the HTTP endpoints until ctx ends. An envelope is acknowledged
// once it is stored (or known to need no work); one that could not be stored
// is not acknowledged, so Slack delivers it again. Run reconnects with a
// capped, jittered backoff and returns an error only when Slack refuses the
// tokens. Open runs it in the background; use either.
func (e *Escalator) Run(ctx context.Context) error {
	if e.cfg.AppToken == "" {
		return errors.New("socket mode: slack.app_token is not set")
	}
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel: the client's goroutines end with ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	smc := socketmode.New(e.api)
	stopped := make(chan error, 1)
	wg.Go(func() { stopped <- e.runSocketClient(ctx, smc) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-stopped:
			return err
		case evt := <-smc.Events:
			e.dispatchSocket(ctx, smc, evt)
		}
	}
}

// runSocketClient keeps the Socket Mode connection up until ctx ends or
// the tokens are refused.
func (e *Escalator) runSocketClient(ctx context.Context, smc *socketmode.Client) error {
	for attempt := 1; ; attempt++ {
		err := smc.RunContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fatalSocketError(err) {
			return fmt.Errorf("socket mode: %w", err)
		}
		d := min(socketBackoffBase<<min(attempt, 20), socketBackoffMax)
		d = d/2 + rand.N(d/2+1)
		e.logger.Warn("socket mode disconnected; reconnecting", "err", err, "in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func fatalSocketError(err error) bool {
	if err == nil {
		return false
	}
	if fatalSocketErrors[err.Error()] || fatalSocketErrors[apiError(err)] {
		return true
	}
	sc, ok := errors.AsType[slackapi.StatusCodeError](err)
	return ok && (sc.Code == http.StatusNotFound || sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden)
}

// dispatchSocket hands one Socket Mode event to the intake and acks it.
func (e *Escalator) dispatchSocket(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
		if evt.Request != nil {
			e.ingestEnvelope(ctx, smc, *evt.Request)
		}
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse the envelope's payload (an unknown inner
		// event, a block it cannot decode). Take the raw envelope: the
		// intake decodes only what it needs.
		bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
		if !ok {
			return
		}
		var req socketmode.Request
		if err := json.Unmarshal(bad.Message, &req); err != nil || req.EnvelopeID == "" {
			e.logger.Warn("socket mode: unreadable message", "err", bad.Cause)
			return
		}
		e.ingestEnvelope(ctx, smc, req)
	case socketmode.EventTypeConnected:
		e.logger.Info("socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError:
		e.logger.Warn("socket mode connection error", "event", string(evt.Type))
	case socketmode.EventTypeInvalidAuth:
		e.logger.Error("socket mode: slack refused the app token")
	}
}

// ingestEnvelope stores one envelope's payload and acknowledges it.
func (e *Escalator) ingestEnvelope(ctx context.Context, smc *socketmode.Client, req socketmode.Request) {
	if req.EnvelopeID == "" {
		return // hello and disconnect carry no envelope to ack
	}
	var err error
	switch req.Type {
	case socketmode.RequestTypeEventsAPI:
		_, err = e.ingestEvent(ctx, req.Payload)
	case socketmode.RequestTypeInteractive:
		var ic slackapi.InteractionCallback
		if uerr := json.Unmarshal(req.Payload, &ic); uerr != nil {
			err = fmt.Errorf("decode interaction: %w: %w", errBadRequest, uerr)
		} else {
			err = e.ingestAction(ctx, &ic, req.Payload)
		}
	}
	if err != nil && !errors.Is(err, errBadRequest) {
		// Not stored: leave it unacknowledged for Slack to redeliver.
		e.logger.Error("socket mode intake", "envelope_type", req.Type, "err", err)
		return
	}
	if err != nil {
		e.logger.Warn("socket mode: malformed envelope acknowledged", "envelope_type", req.Type, "err", err)
	}
	if err := smc.AckCtx(ctx, req.EnvelopeID, nil); err != nil && ctx.Err() == nil {
		e.logger.Warn("socket mode ack", "err", err)
	}
}
