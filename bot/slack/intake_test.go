package slack_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/slack"
)

// The published Slack vectors check the test's signer; the endpoint tests
// below then sign with it, so the verifier is checked against Slack's own
// algorithm (slack.NewSecretsVerifier compares against the wall clock, so a
// 2018 vector can only show up there as "too old").
func TestSlackSignatureVectors(t *testing.T) {
	t.Parallel()
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"V3", "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
		{"D10", `{"ticket_id":123,"subject":"Help","body":"My order is late"}`,
			"v0=87ef0221249eb13a4e7f875f0830bf5252a5872c4983d6979b65331fefbf7501"},
	} {
		if got := sign(secret, 1531420618, []byte(tc.body)); got != tc.want {
			t.Errorf("%s: sign = %s, want %s", tc.name, got, tc.want)
		}
	}

	// The V3 request itself, sent now: its signature is right but its
	// timestamp is years old, so the endpoint refuses it.
	b := setup(t, func(c *slack.Config) { c.SigningSecret = secret })
	body := []byte("payload=" + url.QueryEscape(`{"type":"block_actions"}`))
	req, _ := http.NewRequest(http.MethodPost, b.web.URL+"/slack/interactions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", "1531420618")
	req.Header.Set("X-Slack-Signature", sign(secret, 1531420618, body))
	resp, err := b.web.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed 2018 request = %d, want 401", resp.StatusCode)
	}
}

func TestEndpointsRejectBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now().Unix()
	ev := []byte(`{"type":"url_verification","challenge":"abc123"}`)
	form := []byte(url.Values{"payload": {`{"type":"block_actions"}`}}.Encode())
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		secret string
		ts     int64
		want   int
	}{
		{"events: good", "/slack/events", ev, testSecret, now, 200},
		{"events: wrong secret", "/slack/events", ev, "other-secret", now, 401},
		{"events: 6 minutes old", "/slack/events", ev, testSecret, now - 360, 401},
		{"events: 6 minutes ahead", "/slack/events", ev, testSecret, now + 360, 401},
		{"events: 4 minutes old", "/slack/events", ev, testSecret, now - 240, 200},
		{"interactions: good", "/slack/interactions", form, testSecret, now, 200},
		{"interactions: wrong secret", "/slack/interactions", form, "other-secret", now, 401},
		{"interactions: old", "/slack/interactions", form, testSecret, now - 600, 401},
		{"events: too large", "/slack/events", bytes.Repeat([]byte("a"), slack.MaxBody+1), testSecret, now, 413},
		{"events: not JSON", "/slack/events", []byte("{nope"), testSecret, now, 400},
		{"interactions: no payload", "/slack/interactions", []byte("x=1"), testSecret, now, 400},
	} {
		ct := "application/json"
		if strings.HasPrefix(tc.path, "/slack/interactions") {
			ct = "application/x-www-form-urlencoded"
		}
		if got, out := b.post(t, tc.path, ct, tc.body, tc.secret, tc.ts); got != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, got, out, tc.want)
		}
	}

	// A tampered body with the original signature.
	req, _ := http.NewRequest(http.MethodPost, b.web.URL+"/slack/events", strings.NewReader(`{"type":"url_verification","challenge":"evil"}`))
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
	req.Header.Set("X-Slack-Signature", sign(testSecret, now, ev))
	if resp, err := b.web.Client().Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("tampered body: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// No signature headers at all.
	resp, err := b.web.Client().Post(b.web.URL+"/slack/events", "application/json", bytes.NewReader(ev))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unsigned = %d, want 401", resp.StatusCode)
	}
	// A payload in the query string of a validly signed empty-form request
	// is not read (slack-go v0.35 security fix).
	req, _ = http.NewRequest(http.MethodPost, b.web.URL+"/slack/interactions?payload="+url.QueryEscape(string(click("claim", "chat/x", "UALICE", bot.Thread{Channel: "C", TS: "1"}))), strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
	req.Header.Set("X-Slack-Signature", sign(testSecret, now, nil))
	if resp, err := b.web.Client().Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("query-string payload: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// GET is not routed.
	resp, err = b.web.Client().Get(b.web.URL + "/slack/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET = %d, want 405", resp.StatusCode)
	}
	// Nothing was stored by any of this.
	if st, _ := b.store.QueueStats(context.Background()); st.Queued != 0 {
		t.Fatalf("%d jobs queued by rejected requests", st.Queued)
	}
}

func TestURLVerificationReturnsChallenge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code, out := b.post(t, "/slack/events", "application/json",
		[]byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`),
		testSecret, time.Now().Unix())
	if code != 200 || out != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("url_verification = %d %q", code, out)
	}
}

func TestUnconfiguredSecretAcceptsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *slack.Config) { c.SigningSecret = ""; c.AppToken = "xapp-test" })
	// Signed with the empty key: a forger's easiest guess.
	if code, _ := b.post(t, "/slack/events", "application/json", []byte(`{"type":"url_verification","challenge":"x"}`), "", time.Now().Unix()); code != 401 {
		t.Fatalf("empty secret: status %d, want 401", code)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := slack.Config{BotToken: "xoxb", SigningSecret: "s", Channel: "C1"}
	for _, tc := range []struct {
		name string
		mod  func(*slack.Config)
		key  string
	}{
		{"ok", func(*slack.Config) {}, ""},
		{"socket mode needs no secret", func(c *slack.Config) { c.SigningSecret = ""; c.AppToken = "xapp" }, ""},
		{"no channel", func(c *slack.Config) { c.Channel = "" }, "slack.channel"},
		{"no secret", func(c *slack.Config) { c.SigningSecret = "" }, "slack.signing_secret"},
		{"bad relay", func(c *slack.Config) { c.Relay = "some" }, "slack.relay"},
		{"explicit relay", func(c *slack.Config) { c.Relay = "explicit" }, ""},
		{"same prefixes", func(c *slack.Config) { c.RelayPrefix = "//" }, "slack.relay_prefix"},
		{"bad api url", func(c *slack.Config) { c.APIURL = "ftp://x" }, "slack.api_url"},
	} {
		c := ok
		tc.mod(&c)
		err := c.Validate()
		if tc.key == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.key)
		}
	}
}
