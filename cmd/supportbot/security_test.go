package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/supportbot/supportbot/triggers/chatwoot"
)

// TestChatwootWithoutSecretIsNotOpen is the open Chatwoot trigger: with no
// secret and no allow_ips, an unsigned POST (or one with a junk signature)
// used to be answered into any conversation the sender named. Now the
// service generates the secret, keeps it in data/secrets.json, and refuses
// every request that is not signed with it.
func TestChatwootWithoutSecretIsNotOpen(t *testing.T) {
	api := newChatwootFake(t)
	m := openWithTrigger(t, `  - name: cw
    kind: chatwoot
    burst: "0s"
    reply: {kind: chatwoot, base_url: "`+api.URL+`", account_id: "1", api_access_token: "cw-token"}
`)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(m.Config.Storage.Path), "secrets.json"))
	if err != nil {
		t.Fatalf("secrets file: %v", err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		t.Fatal(err)
	}
	secret := secrets["triggers.cw.secret"]
	if len(secret) < 32 {
		t.Fatalf("generated secret %q, want a long random one", secret)
	}
	created := fixture(t, "chatwoot", "message_created.json")
	hook := m.Server.URL() + "/hooks/cw"
	unsigned := http.Header{"X-Chatwoot-Delivery": {"d-1"}}
	if s, _ := postHook(t, hook, created, unsigned); s != http.StatusUnauthorized {
		t.Fatalf("unsigned webhook = %d, want 401", s)
	}
	junk := http.Header{"X-Chatwoot-Delivery": {"d-2"}, "X-Chatwoot-Timestamp": {"1700000000"}, "X-Chatwoot-Signature": {"sha256=00"}}
	if s, _ := postHook(t, hook, created, junk); s != http.StatusUnauthorized {
		t.Fatalf("junk signature = %d, want 401", s)
	}
	ts, sig := chatwoot.Signature(secret, created, time.Now())
	signed := http.Header{"X-Chatwoot-Delivery": {"d-3"}, "X-Chatwoot-Timestamp": {ts}, "X-Chatwoot-Signature": {sig}}
	if s, _ := postHook(t, hook, created, signed); s != http.StatusAccepted {
		t.Fatalf("signed with the generated secret = %d, want 202", s)
	}
}

// TestChatwootUnsignedNeedsAllowIPs: unsigned Chatwoot webhooks are a choice
// the config states with allow_ips; they are then taken from those addresses
// only, and no secret is generated.
func TestChatwootUnsignedNeedsAllowIPs(t *testing.T) {
	api := newChatwootFake(t)
	m := openWithTrigger(t, `  - name: cw
    kind: chatwoot
    allow_ips: ["127.0.0.1/32", "::1/128"]
    burst: "0s"
    reply: {kind: chatwoot, base_url: "`+api.URL+`", account_id: "1", api_access_token: "cw-token"}
`)
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(m.Config.Storage.Path), "secrets.json"))
	var secrets map[string]string
	_ = json.Unmarshal(b, &secrets)
	if _, ok := secrets["triggers.cw.secret"]; ok {
		t.Fatal("a secret was generated for a trigger that takes unsigned webhooks from allow_ips")
	}
	created := fixture(t, "chatwoot", "message_created.json")
	if s, _ := postHook(t, m.Server.URL()+"/hooks/cw", created, http.Header{"X-Chatwoot-Delivery": {"d-1"}}); s != http.StatusAccepted {
		t.Fatalf("unsigned webhook from an allowed address = %d, want 202", s)
	}
}

// TestAuditRetentionDefault: audit rows (written by unauthenticated
// requests too) are no longer kept forever by default.
func TestAuditRetentionDefault(t *testing.T) {
	cfg, err := LoadConfig("", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Storage.AuditRetention, 30*24*time.Hour; got != want {
		t.Fatalf("storage.audit_retention = %s, want %s", got, want)
	}
}
