package deliver_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/deliver"
)

// verifyStandard is an independent Standard Webhooks verifier written from
// the specification (WEBHOOKS.md §1), not from the code under test: the key
// is the base64 after "whsec_", the signed content is id.timestamp.body, and
// the header is a space-separated list of "<version>,<base64>" of which any
// v1 entry may match.
func verifyStandard(secret, id, timestamp string, body []byte, header string) error {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return errors.New("secret has no whsec_ prefix")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return err
	}
	if id == "" || timestamp == "" || header == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	if _, err := strconv.ParseInt(timestamp, 10, 64); err != nil {
		return errors.New("timestamp is not an integer")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(header) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

func TestSignVectors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               int64
		body, want       string
	}{
		{
			name:   "V1 official",
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:     1614265330,
			body:   `{"test": 2432232314}`,
			want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			name:   "V2 official",
			secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
			id:     "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
			ts:     1649367553,
			body:   `{"email":"test@example.com","username":"test_user"}`,
			want:   "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
		},
		{
			name:   "D1 derived",
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:     1614265330,
			body:   `{"ticket_id":123,"subject":"Help","body":"My order is late"}`,
			want:   "v1,eUVkw63oN3tNQ4zCZdwn77qblbJTsbg76DwJD2O43ZE=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deliver.Sign(tt.secret, tt.id, time.Unix(tt.ts, 0), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Sign()=%q, want %q", got, tt.want)
			}
			// The test's own verifier agrees with the vector.
			if err := verifyStandard(tt.secret, tt.id, strconv.FormatInt(tt.ts, 10), []byte(tt.body), tt.want); err != nil {
				t.Fatalf("verifyStandard(vector): %v", err)
			}
		})
	}
}

func TestVerifierRejects(t *testing.T) {
	const secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	const id, ts = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553"
	body := []byte(`{"email":"test@example.com","username":"test_user"}`)
	for _, header := range []string{
		"v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=", // V2-neg
		"v1,",
		"v1,tZ1I4/hD",
		"v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
	} {
		if err := verifyStandard(secret, id, ts, body, header); err == nil {
			t.Errorf("verifyStandard(%q) = nil, want an error", header)
		}
	}
}

func TestSignSecret(t *testing.T) {
	body := []byte(`{}`)
	ts := time.Unix(1614265330, 0)
	// Unpadded base64 is accepted, as by the Python reference library.
	key := []byte("0123456789abcdefghijklmno") // 25 bytes: base64 ends in "=="
	padded, err := deliver.Sign("whsec_"+base64.StdEncoding.EncodeToString(key), "m", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	unpadded, err := deliver.Sign("whsec_"+base64.RawStdEncoding.EncodeToString(key), "m", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if padded != unpadded {
		t.Fatalf("unpadded secret signs %q, padded %q", unpadded, padded)
	}
	for _, bad := range []string{
		"",
		"whsec_",
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", // no prefix
		"whsec_!!!notbase64!!!",
		"whsec_c2hvcnQ=", // 5 bytes: too short
	} {
		if sig, err := deliver.Sign(bad, "m", ts, body); err == nil {
			t.Errorf("Sign(%q)=%q, want an error", bad, sig)
		} else if len(bad) > len("whsec_") && strings.Contains(err.Error(), strings.TrimPrefix(bad, "whsec_")) {
			t.Errorf("Sign(%q) error %q repeats the secret", bad, err)
		}
	}
}
