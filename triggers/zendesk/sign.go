package zendesk

import (
	cryptohmac "crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Signature returns the X-Zendesk-Webhook-Signature-Timestamp and
// X-Zendesk-Webhook-Signature headers Zendesk would send for body at now,
// for tests and hand-made requests: base64(HMAC-SHA256(secret,
// timestamp + body)).
func Signature(secret string, body []byte, now time.Time) (ts, sig string) {
	ts = now.UTC().Format(time.RFC3339)
	m := cryptohmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write(body)
	return ts, base64.StdEncoding.EncodeToString(m.Sum(nil))
}
