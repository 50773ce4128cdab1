package kinds_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/kinds"
)

func TestDefault(t *testing.T) {
	if diff := cmp.Diff([]string{"chatwoot", "freshdesk", "generic", "helpscout", "hmac", "intercom", "standard", "token", "web", "zendesk"}, kinds.Default().Names()); diff != "" {
		t.Fatalf("Default().Names() mismatch (-want +got):\n%s", diff)
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string // "" = builds
	}{
		{name: "standard", cfg: triggers.Config{Name: "chat", Kind: "standard", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{name: "hmac", cfg: triggers.Config{Name: "github", Kind: "hmac", Secret: "hmac-secret", HMAC: triggers.HMACConfig{Header: "X-Hub-Signature-256", Prefix: "sha256="}}},
		{name: "token", cfg: triggers.Config{Name: "desk", Kind: "token", Token: "t"}},
		{name: "standard without secret", cfg: triggers.Config{Name: "chat", Kind: "standard"}, wantErr: "secret: required"},
		{name: "standard with prefix only", cfg: triggers.Config{Name: "chat", Kind: "standard", Secret: "whsec_"}, wantErr: "secret: required"},
		{name: "standard with a raw secret", cfg: triggers.Config{Name: "chat", Kind: "standard", Secret: "whsec_p@ssw0rd!"}, wantErr: "secret: not valid base64 after the whsec_ prefix"},
		{name: "hmac with md5", cfg: triggers.Config{Name: "x", Kind: "hmac", Secret: "hmac-secret", HMAC: triggers.HMACConfig{Algorithm: "md5"}}, wantErr: `hmac.algorithm: "md5" is not one of sha1, sha256, sha512`},
		{name: "token without token", cfg: triggers.Config{Name: "desk", Kind: "token"}, wantErr: "token: required"},
		// A config that verifies nothing must say so: no kind starts
		// without a credential unless allow_ips restricts its callers.
		{name: "chatwoot without secret", cfg: triggers.Config{Name: "cw", Kind: "chatwoot"}, wantErr: "secret: required; without one anyone can post as Chatwoot, so unsigned webhooks need allow_ips (Chatwoot's addresses)"},
		{name: "chatwoot unsigned from allow_ips", cfg: triggers.Config{Name: "cw", Kind: "chatwoot", AllowIPs: []string{"10.0.0.0/8"}}},
		{name: "unknown kind", cfg: triggers.Config{Name: "z", Kind: "fax"}, wantErr: `kind: "fax" is not one of [chatwoot freshdesk generic helpscout hmac intercom standard token web zendesk]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := kinds.Default().Build(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Build()=%v, want %q", err, tt.wantErr)
				}
				if s := strings.TrimPrefix(tt.cfg.Secret, "whsec_"); s != "" && strings.Contains(err.Error(), s) {
					t.Fatalf("Build()=%q echoes the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build()=%v", err)
			}
			if got, want := e.Kind(), tt.cfg.Kind; got != want {
				t.Fatalf("Kind()=%q, want %q", got, want)
			}
			if got, want := e.Name(), tt.cfg.Name; got != want {
				t.Fatalf("Name()=%q, want %q", got, want)
			}
		})
	}
}

// TestNoKindStartsOpen builds every kind with no credential at all and no
// allow_ips: each must refuse, so that a trigger that verifies nothing is
// never the result of a key left out.
func TestNoKindStartsOpen(t *testing.T) {
	for _, kind := range kinds.Default().Names() {
		t.Run(kind, func(t *testing.T) {
			cfg := triggers.Config{Name: "t", Kind: kind, Reply: triggers.ReplyConfig{Kind: "none"}}
			if kind == "generic" {
				cfg.Auth = "none"
				cfg.Map = []triggers.FieldMapping{{Field: "conversation.id", Path: "$.c"}, {Field: "message.text", Path: "$.m"}}
			}
			if _, err := kinds.Default().Build(cfg); err == nil {
				t.Fatalf("kind %s built with no credential and no allow_ips", kind)
			}
		})
	}
}
