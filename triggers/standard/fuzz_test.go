package standard_test

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

// FuzzStandardVerify checks that Verify never panics and accepts a request
// only when the body, id and timestamp are exactly the signed ones and the
// signature header holds the valid v1 entry.
func FuzzStandardVerify(f *testing.F) {
	ts := strconv.Itoa(tsUnix)
	f.Add([]byte(validBody), msgID, ts, validSig)
	f.Add([]byte(validBody), msgID, ts, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+validSig)
	f.Add([]byte(validBody), msgID, ts, "v1,")
	f.Add([]byte(validBody), msgID, ts, validSig[:8])
	f.Add([]byte(validBody+" "), msgID, ts, validSig)
	f.Add([]byte(validBody), msgID, "0"+ts, validSig)
	f.Add([]byte(validBody), msgID+".", ts, validSig)
	f.Add([]byte{}, "", "", "")
	f.Add([]byte(validBody), msgID, "99999999999999999999", validSig)
	tr := MustNew(f, triggers.Config{Secret: secret}, time.Unix(tsUnix, 0))
	f.Fuzz(func(t *testing.T, body []byte, id, tsText, sig string) {
		r := newRequest(nil, body)
		r.Header["Webhook-Id"] = []string{id}
		r.Header["Webhook-Timestamp"] = []string{tsText}
		r.Header["Webhook-Signature"] = []string{sig}
		err := tr.Verify(r, body)
		if err != nil {
			if !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("Verify()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
			return
		}
		if !bytes.Equal(body, []byte(validBody)) || id != msgID || tsText != ts || !slices.Contains(strings.Fields(sig), validSig) {
			t.Fatalf("Verify() accepted body=%q id=%q ts=%q sig=%q", body, id, tsText, sig)
		}
	})
}
