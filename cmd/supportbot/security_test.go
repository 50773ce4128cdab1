package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// TestWeakInboundSecretRefused: a one-byte key ("x") used to start without
// a word; an inbound secret, token or password shorter than 8 bytes is now
// a start-up error that names the key.
func TestWeakInboundSecretRefused(t *testing.T) {
	for _, tt := range []struct{ name, yaml, wantKey string }{
		{"hmac secret", "    kind: hmac\n    secret: \"x\"\n", "triggers[0] (w).secret: too short"},
		{"token", "    kind: token\n    token: \"abc\"\n", "triggers[0] (w).token: too short"},
		{"rotated secret", "    kind: hmac\n    secret: \"a-long-enough-secret\"\n    secrets: [\"y\"]\n", "triggers[0] (w).secrets[0]: too short"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			yaml := "triggers:\n  - name: w\n" + tt.yaml + "    reply: {kind: none}\n"
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path, true)
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("LoadConfig = %v, want an error naming %q", err, tt.wantKey)
			}
		})
	}
}

// TestRuntimeTriggerNamesOffMetrics: a run-time trigger's unguessable name
// is its URL, and /metrics needs no credential; its requests are counted
// under trigger="runtime".
func TestRuntimeTriggerNamesOffMetrics(t *testing.T) {
	cfg := testConfig(t, newReceiver(t).URL)
	cfg.Server.AdminToken = "admin-s3cret"
	m := mustOpenMain(t, cfg)
	s, created := adminDo(t, "POST", m.Server.URL()+"/admin/api/triggers", cfg.Server.AdminToken, `{"reply":{"kind":"none"}}`)
	if s != http.StatusCreated {
		t.Fatalf("create = %d %v", s, created)
	}
	name := created["name"].(string)
	resp, err := http.Post(m.Server.URL()+"/hooks/"+name, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(m.Server.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), name) {
		t.Fatalf("/metrics shows the run-time trigger's name %s", name)
	}
	if get := scrapeMetrics(t, m.Server.URL()); get("supportbot_webhooks_total", map[string]string{"trigger": "runtime"}) < 1 {
		t.Fatal(`no request counted under trigger="runtime"`)
	}
}
