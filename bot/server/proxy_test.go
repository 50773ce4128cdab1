package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/supportbot/supportbot/bot/server"
	"github.com/supportbot/supportbot/triggers"
	"github.com/supportbot/supportbot/triggers/standard"
)

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	proxies, err := server.ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	s := &server.Server{
		Triggers: triggers.NewSet(), Intake: &intake{}, TrustedProxies: proxies,
		Mounts: map[string]http.Handler{"GET /whoami": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.RemoteAddr)
		})},
	}
	h := s.Handler()
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{name: "no proxy configured for this peer", peer: "203.0.113.9", xff: []string{"198.51.100.1"}, want: "203.0.113.9:1234"},
		{name: "through a proxy", peer: "10.1.2.3", xff: []string{"198.51.100.1"}, want: "198.51.100.1:0"},
		{name: "rightmost untrusted hop", peer: "10.1.2.3", xff: []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, want: "198.51.100.1:0"},
		{name: "spoofed left entries ignored", peer: "192.0.2.7", xff: []string{"1.1.1.1", "198.51.100.2"}, want: "198.51.100.2:0"},
		{name: "only proxies", peer: "10.1.2.3", xff: []string{"10.0.0.1, 10.0.0.2"}, want: "10.0.0.1:0"},
		{name: "malformed hop", peer: "10.1.2.3", xff: []string{"198.51.100.1, junk"}, want: "10.1.2.3:1234"},
		{name: "no header", peer: "10.1.2.3", want: "10.1.2.3:1234"},
		{name: "ipv6 client", peer: "10.1.2.3", xff: []string{"2001:db8::1"}, want: "[2001:db8::1]:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/whoami", nil)
			r.RemoteAddr = tt.peer + ":1234"
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Body.String(); got != tt.want {
				t.Fatalf("client = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := server.ParseTrustedProxies([]string{"10.0.0.0/8", "proxy.local"}); err == nil || err.Error() != `trusted_proxies[1]: "proxy.local" is not a CIDR or an address` {
		t.Fatalf("bad entry: %v", err)
	}
}

// TestTrustedProxyRateLimits: behind a proxy every client shared the
// proxy's per_ip bucket; with trusted_proxies each client has its own.
func TestTrustedProxyRateLimits(t *testing.T) {
	t.Parallel()
	proxies, _ := server.ParseTrustedProxies([]string{"10.0.0.1"})
	set := triggers.NewSet()
	e, err := triggers.Kinds{standard.Kind: standard.New}.Build(triggers.Config{
		Name: "a", Kind: standard.Kind, Secret: testSecret, PerIP: triggers.RateConfig{Rate: 0.001, Burst: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	set.Put(e)
	h := (&server.Server{Triggers: set, Intake: &intake{}, TrustedProxies: proxies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	send := func(client string, i int) int {
		body := []byte(`{"type":"message.created","conversation":{"id":"c-1"},"message":{"id":"m-1","text":"hi"}}`)
		id := fmt.Sprintf("msg_%s_%d", client, i)
		now := time.Now()
		sig, _ := standard.Sign(testSecret, id, now, body)
		r := httptest.NewRequest(http.MethodPost, "/hooks/a", bytes.NewReader(body))
		r.RemoteAddr = "10.0.0.1:5555"
		r.Header.Set("X-Forwarded-For", client)
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if got := send("198.51.100.1", 1); got != http.StatusAccepted {
		t.Fatalf("first client = %d, want 202", got)
	}
	if got := send("198.51.100.1", 2); got != http.StatusTooManyRequests {
		t.Fatalf("first client again = %d, want 429", got)
	}
	if got := send("198.51.100.2", 1); got != http.StatusAccepted {
		t.Fatalf("second client behind the same proxy = %d, want 202 (own bucket)", got)
	}
}
