package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// stubStore accepts every delivery; the fuzzers only exercise the intake.
type stubStore struct{ Store }

func (stubStore) IngestSlack(context.Context, string, string, string, []byte) (bool, error) {
	return false, nil
}

func (stubStore) Conversation(context.Context, string) (*bot.Conversation, error) {
	return nil, bot.ErrNotFound
}

func (stubStore) ConversationByThread(context.Context, string, string) (*bot.Conversation, error) {
	return nil, bot.ErrNotFound
}

func fuzzSign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// The endpoints never accept a wrong signature, and never fail with a 5xx
// or panic on a validly signed body, whatever it holds.
func FuzzEndpoints(f *testing.F) {
	f.Add([]byte(`{"type":"url_verification","challenge":"c"}`), "v0=00")
	f.Add([]byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":"U1","channel":"C1","ts":"2.0","thread_ts":"1.0","text":"hi"}}`), "")
	f.Add([]byte(`payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22claim%22%7D%5D%7D`), "v0=zz")
	f.Add([]byte(`{"type":"event_callback","event":null}`), "v1=abc")
	const secret = "fuzz-secret"
	e := New(Config{BotToken: "xoxb", SigningSecret: secret, Channel: "C1"}, stubStore{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := e.Handler()
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		ts := time.Now().Unix()
		for _, path := range []string{"/slack/events", "/slack/interactions"} {
			do := func(sig string) int {
				r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if path == "/slack/events" {
					r.Header.Set("Content-Type", "application/json")
				}
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
				r.Header.Set("X-Slack-Signature", sig)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			good := fuzzSign(secret, ts, body)
			if code := do(sig); code != http.StatusUnauthorized && sig != good && len(body) <= MaxBody {
				t.Fatalf("%s accepted signature %q with %d", path, sig, code)
			}
			if code := do(good); code >= 500 {
				t.Fatalf("%s: signed body got %d", path, code)
			}
		}
	})
}

// The job handlers never panic on a stored payload; what they cannot
// decode is permanent.
func FuzzJobPayloads(f *testing.F) {
	f.Add([]byte(`{"type":"block_actions","actions":[{"action_id":"nope"}]}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","bot_id":"B1"}}`))
	f.Add([]byte(`not json`))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true,"user_id":"UBOT","bot_id":"BBOT"}`)
	}))
	f.Cleanup(api.Close)
	e := New(Config{BotToken: "xoxb", SigningSecret: "s", Channel: "C1", APIURL: api.URL}, stubStore{}, api.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for kind, h := range e.Handlers() {
			// Conversations are unknown to the stub: a payload is either
			// not decodable (permanent) or leads nowhere (nil).
			if _, err := h.Handle(context.Background(), &bot.Job{Kind: kind, Payload: payload}); err != nil && !bot.IsPermanent(err) {
				t.Fatalf("%s: %v", kind, err)
			}
		}
	})
}
