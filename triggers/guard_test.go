package triggers_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/triggers"
)

func newRequest(h map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/chat", nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

// MustGuard builds the guard of cfg.
func MustGuard(tb testing.TB, cfg triggers.Config) *triggers.Guard {
	tb.Helper()
	g, err := triggers.NewGuard(cfg)
	if err != nil {
		tb.Fatalf("NewGuard: %v", err)
	}
	return g
}

func TestNewGuard(t *testing.T) {
	tests := []struct {
		name    string
		cfg     triggers.Config
		wantErr string
		wantMax int64
	}{
		{name: "defaults", wantMax: triggers.DefaultMaxBodyBytes},
		{name: "chat-sized by default", cfg: triggers.Config{Kind: "standard"}, wantMax: 64 << 10},
		{name: "a vendor kind takes whole tickets", cfg: triggers.Config{Kind: "zendesk"}, wantMax: 1 << 20},
		{name: "configured", cfg: triggers.Config{Kind: "zendesk", MaxBodyBytes: 4 << 20}, wantMax: 4 << 20},
		{name: "body limit", cfg: triggers.Config{MaxBodyBytes: 4096}, wantMax: 4096},
		{name: "negative body limit", cfg: triggers.Config{MaxBodyBytes: -1}, wantErr: "max_body_bytes: must be positive"},
		{name: "bad address", cfg: triggers.Config{AllowIPs: []string{"10.0.0.0/8", "10.0.0.300"}}, wantErr: `allow_ips[1]: "10.0.0.300" is not a CIDR or an address`},
		{name: "bad prefix length", cfg: triggers.Config{AllowIPs: []string{"10.0.0.0/33"}}, wantErr: "allow_ips[0]:"},
		{name: "host name", cfg: triggers.Config{AllowIPs: []string{"example.com"}}, wantErr: "allow_ips[0]:"},
		{name: "addresses and prefixes", cfg: triggers.Config{AllowIPs: []string{"192.0.2.1", "2001:db8::/32", "::ffff:10.0.0.0/104"}}, wantMax: triggers.DefaultMaxBodyBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := triggers.NewGuard(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("NewGuard()=%v, want an error starting with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewGuard()=%v", err)
			}
			if got, want := g.MaxBodyBytes, tt.wantMax; got != want {
				t.Fatalf("MaxBodyBytes=%d, want %d", got, want)
			}
		})
	}
}

func TestGuardCheckAddr(t *testing.T) {
	tests := []struct {
		name   string
		allow  []string
		remote string
		ok     bool
	}{
		{name: "no allowlist", remote: "203.0.113.9:5000", ok: true},
		{name: "no allowlist, unparsable peer", remote: "pipe", ok: true},
		{name: "IPv4 in CIDR", allow: []string{"10.0.0.0/8"}, remote: "10.1.2.3:5000", ok: true},
		{name: "IPv4 outside CIDR", allow: []string{"10.0.0.0/8"}, remote: "11.1.2.3:5000"},
		{name: "IPv4 CIDR with host bits", allow: []string{"10.1.2.3/8"}, remote: "10.9.9.9:1", ok: true},
		{name: "single IPv4 address", allow: []string{"192.0.2.1"}, remote: "192.0.2.1:443", ok: true},
		{name: "single IPv4 address, other peer", allow: []string{"192.0.2.1"}, remote: "192.0.2.2:443"},
		{name: "second entry matches", allow: []string{"10.0.0.0/8", "192.0.2.0/24"}, remote: "192.0.2.77:1", ok: true},
		{name: "IPv6 in CIDR", allow: []string{"2001:db8::/32"}, remote: "[2001:db8::1]:443", ok: true},
		{name: "IPv6 outside CIDR", allow: []string{"2001:db8::/32"}, remote: "[2001:db9::1]:443"},
		{name: "single IPv6 address", allow: []string{"2001:db8::1"}, remote: "[2001:db8::1]:443", ok: true},
		{name: "IPv6 loopback", allow: []string{"::1"}, remote: "[::1]:443", ok: true},
		{name: "IPv4-mapped peer, IPv4 CIDR", allow: []string{"10.0.0.0/8"}, remote: "[::ffff:10.1.2.3]:443", ok: true},
		{name: "IPv4-mapped peer outside IPv4 CIDR", allow: []string{"10.0.0.0/8"}, remote: "[::ffff:11.1.2.3]:443"},
		{name: "IPv4-mapped CIDR, IPv4 peer", allow: []string{"::ffff:10.0.0.0/104"}, remote: "10.1.2.3:443", ok: true},
		{name: "IPv4-mapped CIDR, mapped peer", allow: []string{"::ffff:10.0.0.0/104"}, remote: "[::ffff:10.1.2.3]:443", ok: true},
		{name: "IPv4-mapped address, IPv4 peer", allow: []string{"::ffff:192.0.2.1"}, remote: "192.0.2.1:443", ok: true},
		{name: "IPv6 CIDR does not admit IPv4", allow: []string{"::/0"}, remote: "192.0.2.1:443"},
		{name: "IPv4 CIDR does not admit IPv6", allow: []string{"0.0.0.0/0"}, remote: "[2001:db8::1]:443"},
		{name: "zoned peer", allow: []string{"fe80::/10"}, remote: "[fe80::1%eth0]:443", ok: true},
		{name: "peer without port", allow: []string{"10.0.0.0/8"}, remote: "10.1.2.3", ok: true},
		{name: "unparsable peer", allow: []string{"0.0.0.0/0"}, remote: "pipe"},
		{name: "empty peer", allow: []string{"0.0.0.0/0"}, remote: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := MustGuard(t, triggers.Config{AllowIPs: tt.allow})
			r := newRequest(nil)
			r.RemoteAddr = tt.remote
			err := g.CheckAddr(r)
			if got, want := err == nil, tt.ok; got != want {
				t.Fatalf("CheckAddr(%q)=%v, want allowed %v", tt.remote, err, want)
			}
			if err != nil && !errors.Is(err, bot.ErrUnauthorized) {
				t.Fatalf("CheckAddr()=%v, want it to wrap bot.ErrUnauthorized", err)
			}
		})
	}
}

func TestGuardCheckContentType(t *testing.T) {
	tests := []struct {
		name  string
		types []string // nil: the default
		ct    string
		ok    bool
	}{
		{name: "missing", ok: true},
		{name: "json", ct: "application/json", ok: true},
		{name: "json with charset", ct: "application/json; charset=utf-8", ok: true},
		{name: "json in upper case", ct: "Application/JSON", ok: true},
		{name: "text", ct: "text/plain"},
		{name: "form", ct: "application/x-www-form-urlencoded"},
		{name: "vendor json", ct: "application/vnd.api+json"},
		{name: "malformed", ct: "application/json;;;="},
		{name: "no subtype", ct: "application"},
		{name: "configured form", types: []string{"application/x-www-form-urlencoded"}, ct: "application/x-www-form-urlencoded", ok: true},
		{name: "configured form, json sent", types: []string{"application/x-www-form-urlencoded"}, ct: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := MustGuard(t, triggers.Config{})
			if tt.types != nil {
				g.ContentTypes = tt.types
			}
			err := g.CheckContentType(newRequest(map[string]string{"Content-Type": tt.ct}))
			if got, want := err == nil, tt.ok; got != want {
				t.Fatalf("CheckContentType(%q)=%v, want accepted %v", tt.ct, err, want)
			}
			var ve *bot.ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Field != "content-type") {
				t.Fatalf("CheckContentType()=%v, want a content-type validation error", err)
			}
		})
	}
}
