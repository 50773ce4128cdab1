package chatwoot

import (
	cryptohmac "crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

func hmacHex(secret, msg string) string {
	m := cryptohmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
