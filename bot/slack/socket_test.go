package slack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
)

// waitAck reads slacktest's feed of what the client sent until the ack of
// envelopeID arrives. The feed is unbuffered: it must be drained or the
// server's websocket loop blocks.
func waitAck(t *testing.T, b *testBundle, envelopeID string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-b.fake.SeenFeed:
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal([]byte(m), &ack) == nil && ack.EnvelopeID == envelopeID {
				return
			}
		case <-timeout:
			t.Fatalf("no ack for envelope %s", envelopeID)
		}
	}
}

// envelope wraps a payload as Socket Mode delivers it.
func socketEnvelope(t *testing.T, id, typ string, payload []byte) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"envelope_id": id, "type": typ, "payload": json.RawMessage(payload),
		"accepts_response_payload": false, "retry_attempt": 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Socket Mode runs the same intake as HTTP: slacktest's websocket delivers
// an events_api envelope and an interactive one; each is acked once stored
// and its job relays the reply and claims.
func TestSocketModeSameFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *slack.Config) { c.AppToken = "xapp-test"; c.SigningSecret = "" })
	key, th := b.mustEscalate(t, "c-30", escalation("c-30"))
	if err := b.esc.Open(); err != nil {
		t.Fatal(err)
	}

	b.fake.SendToWebsocket(socketEnvelope(t, "env-1", "events_api",
		threadReply("Ev500", th, "1700000090.000001", "UALICE", "Hello from Socket Mode", nil)))
	waitAck(t, b, "env-1")
	// Slack redelivers an envelope it thinks was not acked: stored once.
	b.fake.SendToWebsocket(socketEnvelope(t, "env-1", "events_api",
		threadReply("Ev500", th, "1700000090.000001", "UALICE", "Hello from Socket Mode", nil)))
	waitAck(t, b, "env-1")
	// An inner event slack-go cannot parse still gets stored by the raw
	// intake (or, as here, acked as nothing to do) rather than redelivered
	// forever.
	b.fake.SendToWebsocket(socketEnvelope(t, "env-2", "events_api",
		[]byte(`{"type":"event_callback","event_id":"Ev501","event":{"type":"no_such_event_type"}}`)))
	waitAck(t, b, "env-2")
	b.fake.SendToWebsocket(socketEnvelope(t, "env-3", "interactive", click(slack.ActionResolve, key, "UBOB", th)))
	waitAck(t, b, "env-3")

	if errs := b.runJobs(t); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := b.agentReplies(t, key)
	if len(got) != 1 || got[0].Text != "Hello from Socket Mode" || got[0].AgentName != "Alice" {
		t.Fatalf("agent replies = %+v", got)
	}
	if tr := b.lastTransition(t, key); tr.To != bot.StateResolved || tr.Actor != "Bob" {
		t.Fatalf("last transition = %+v", tr)
	}
	if err := b.esc.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRunNeedsAppToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.esc.Run(context.Background()); err == nil {
		t.Fatal("Run without an app token succeeded")
	}
	if err := b.esc.Open(); err != nil { // HTTP mode: nothing to start
		t.Fatal(err)
	}
}
