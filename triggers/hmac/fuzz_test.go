package hmac_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
	hmactrigger "github.com/supportbot/supportbot/triggers/hmac"
)

// fuzzCase is one vendor scheme with one validly signed request.
type fuzzCase struct {
	cfg  triggers.HMACConfig
	sec  string
	now  int64
	ts   string // "" when no timestamp is signed
	body string
	sig  string // the valid signature header value
}

var fuzzCases = []fuzzCase{
	{ // D8 GitHub: hex with prefix.
		cfg: triggers.HMACConfig{Header: "X-Hub-Signature-256", Prefix: "sha256="}, sec: "It's a Secret to Everybody",
		body: body, sig: "sha256=0fc8a271381c9f9d7345fc108cb7d9184ec191fb47c3b9845aa32d9e367b92a0",
	},
	{ // D4 Help Scout: base64 SHA-1.
		cfg: triggers.HMACConfig{Header: "X-HelpScout-Signature", Algorithm: "sha1", Encoding: "base64"}, sec: "my-secret-key",
		body: body, sig: "Br1YLfmFvsznJZXb8BslmD66Tmc=",
	},
	{ // D7 Chatwoot: signed timestamp.
		cfg: triggers.HMACConfig{Header: "X-Chatwoot-Signature", Prefix: "sha256=", TimestampHeader: "X-Chatwoot-Timestamp"}, sec: cwSecret,
		now: 1700000000, ts: cwTS, body: body, sig: cwSig,
	},
}

// FuzzHMACVerify checks that Verify never panics and accepts a request only
// when the body and timestamp are the signed ones and the signature is the
// valid one (up to the case of the prefix and of hex digits, or the padding
// of base64).
func FuzzHMACVerify(f *testing.F) {
	for i, c := range fuzzCases {
		f.Add(uint8(i), []byte(c.body), c.ts, c.sig)
		f.Add(uint8(i), []byte(c.body+"x"), c.ts, c.sig)
		f.Add(uint8(i), []byte(c.body), c.ts, strings.ToUpper(c.sig))
		f.Add(uint8(i), []byte(c.body), c.ts, c.sig[:len(c.sig)/2])
		f.Add(uint8(i), []byte(c.body), c.ts+"0", c.sig)
	}
	f.Add(uint8(2), []byte(body), "2023-11-14T22:13:20Z", cwSig)
	f.Add(uint8(0), []byte{}, "", "")
	triggersByCase := make([]*testTrigger, len(fuzzCases))
	for i, c := range fuzzCases {
		triggersByCase[i] = &testTrigger{c: c, tr: MustNew(f, triggers.Config{Secret: c.sec, HMAC: c.cfg}, time.Unix(c.now, 0))}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte, ts, sig string) {
		tt := triggersByCase[int(which)%len(triggersByCase)]
		c := tt.c
		r := newRequest(nil, b)
		r.Header[http.CanonicalHeaderKey(c.cfg.Header)] = []string{sig}
		if c.cfg.TimestampHeader != "" {
			r.Header[http.CanonicalHeaderKey(c.cfg.TimestampHeader)] = []string{ts}
		}
		err := tt.tr.Verify(r, b)
		if err != nil {
			if !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
			return
		}
		if !bytes.Equal(b, []byte(c.body)) || (c.cfg.TimestampHeader != "" && ts != c.ts) || !sameSignature(c, sig) {
			t.Fatalf("Verify() accepted body=%q ts=%q sig=%q", b, ts, sig)
		}
	})
}

type testTrigger struct {
	c  fuzzCase
	tr *hmactrigger.Trigger
}

func sameSignature(c fuzzCase, sig string) bool {
	if c.cfg.Encoding == "base64" {
		return sig == c.sig || sig == strings.TrimRight(c.sig, "=")
	}
	return strings.EqualFold(sig, c.sig)
}
