package deliver_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/supportbot/supportbot/bot"
	"github.com/supportbot/supportbot/bot/deliver"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		// Public IPv4.
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.215.14", false},
		{"100.63.255.255", false}, // just below CGNAT
		{"100.128.0.0", false},    // just above CGNAT
		{"172.15.255.255", false}, // just below 172.16/12
		{"172.32.0.0", false},     // just above 172.16/12
		{"192.0.1.1", false},
		{"198.17.255.255", false},
		{"198.20.0.0", false},
		{"223.255.255.255", false},
		// Blocked IPv4.
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.100.100.200", true}, // Alibaba Cloud metadata
		{"100.127.255.255", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.0.1", true},
		{"169.254.169.254", true}, // AWS, GCP, Azure metadata
		{"169.254.170.2", true},   // ECS task credentials
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.1", true},
		{"192.0.0.192", true}, // Oracle Cloud metadata
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		// Public IPv6.
		{"2001:4860:4860::8888", false},
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001:80b::200e", false},
		// Blocked IPv6.
		{"::", true},
		{"::1", true},
		{"::7f00:1", true}, // IPv4-compatible (deprecated)
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fd00:ec2::254", true}, // AWS IMDS over IPv6
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		{"100::1", true},
		{"2001:db8::1", true},
		{"3fff::1", true},
		{"2001::1", true},          // Teredo
		{"2001:2::1", true},        // benchmarking, in 2001::/23
		{"5f00::1", true},          // SRv6
		{"64:ff9b:1::1", true},     // local-use NAT64
		{"4000::1", true},          // outside 2000::/3
		{"1234:5678::1", true},     // outside 2000::/3
		{"::ffff:0.0.0.0", true},   // mapped unspecified
		{"::ffff:127.0.0.1", true}, // mapped loopback
		{"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:100.64.0.1", true},
		// Mapped, NAT64 and 6to4 forms are judged by their IPv4 address.
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false},       // NAT64 of 8.8.8.8
		{"64:ff9b::7f00:1", true},         // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true},      // NAT64 of 169.254.169.254
		{"64:ff9b::c0a8:101", true},       // NAT64 of 192.168.1.1
		{"2002:808:808::1", false},        // 6to4 of 8.8.8.8
		{"2002:7f00:1::1", true},          // 6to4 of 127.0.0.1
		{"2002:a00:1::", true},            // 6to4 of 10.0.0.1
		{"2002:a9fe:a9fe::1", true},       // 6to4 of 169.254.169.254
		{"2002:c0a8:101:0:0:0:0:1", true}, // 6to4 of 192.168.1.1
		{"2002:6440:1::1", true},          // 6to4 of 100.64.0.1
		{"64:ff9b::ffff:ffff", true},      // NAT64 of broadcast
		{"2002:e000:1::1", true},          // 6to4 of multicast
		{"2002:0:0::1", true},             // 6to4 of 0.0.0.0
		{"64:ff9b::cb00:7101", true},      // NAT64 of documentation 203.0.113.1
		{"2002:c612:1::1", true},          // 6to4 of 198.18.0.1
		{"2002:f000:1::1", true},          // 6to4 of 240.0.0.1
		{"2002:c000:2ff::1", true},        // 6to4 of 192.0.2.255
		{"2002:c000:1::1", true},          // 6to4 of 192.0.0.1
		{"2002:5db8:d70e::1", false},      // 6to4 of 93.184.215.14
		{"64:ff9b::5db8:d70e", false},     // NAT64 of 93.184.215.14
		{"::ffff:93.184.215.14", false},   // mapped public
		{"::ffff:255.255.255.255", true},  // mapped broadcast
		{"::ffff:224.0.0.1", true},        // mapped multicast
		{"::ffff:198.51.100.1", true},     // mapped documentation
		{"::ffff:192.0.0.170", true},      // mapped 192.0.0.0/24
		{"::ffff:240.1.2.3", true},        // mapped reserved
		{"::ffff:100.100.100.200", true},  // mapped metadata
		{"::ffff:172.20.0.1", true},       // mapped private
		{"::ffff:192.168.0.1", true},      // mapped private
		{"::ffff:198.18.5.5", true},       // mapped benchmarking
		{"::ffff:0.1.2.3", true},          // mapped this-network
		{"::ffff:203.0.113.200", true},    // mapped documentation
		{"::ffff:192.88.99.2", true},      // mapped 6to4 relay
		{"::ffff:192.0.2.2", true},        // mapped documentation
		{"::ffff:100.127.0.1", true},      // mapped CGNAT
		{"::ffff:169.254.1.1", true},      // mapped link-local
		{"::ffff:127.1.2.3", true},        // mapped loopback
		{"::ffff:10.0.0.0", true},         // mapped private
		{"::ffff:1.1.1.1", false},         // mapped public
		{"64:ff9b::101:101", false},       // NAT64 of 1.1.1.1
		{"2002:101:101::", false},         // 6to4 of 1.1.1.1
		{"2002:101:101:ffff:ffff:ffff:ffff:ffff", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			err := deliver.CheckAddr(ip)
			if got := err != nil; got != tt.blocked {
				t.Fatalf("CheckAddr(%s)=%v, want blocked=%v", tt.addr, err, tt.blocked)
			}
			if err != nil && !errors.Is(err, deliver.ErrBlockedAddress) {
				t.Fatalf("CheckAddr(%s)=%v, want it to wrap ErrBlockedAddress", tt.addr, err)
			}
		})
	}
	if err := deliver.CheckAddr(netip.Addr{}); !errors.Is(err, deliver.ErrBlockedAddress) {
		t.Fatalf("CheckAddr(zero)=%v, want blocked", err)
	}
}

// countingServer is a loopback receiver that counts the requests it got.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// The default client of NewWebhook refuses the loopback receiver at dial
// time, and Deliver reports it as permanent.
func TestDeliverBlocksLoopback(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t)
	hook, err := deliver.NewWebhook(deliver.WebhookConfig{URL: srv.URL + "/hook", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hook.HTTPClient.CloseIdleConnections)
	err = hook.Deliver(context.Background(), botReply())
	if !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("Deliver()=%v, want a permanent ErrBlockedAddress", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1 is loopback") {
		t.Fatalf("error %q does not name the address and range", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("receiver got %d requests, want none", n)
	}
}

func TestDeliverAllowsLoopbackWhenConfigured(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t)
	hook, err := deliver.NewWebhook(deliver.WebhookConfig{URL: srv.URL + "/hook", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	hook.HTTPClient = deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
	t.Cleanup(hook.HTTPClient.CloseIdleConnections)
	if err := hook.Deliver(context.Background(), botReply()); err != nil {
		t.Fatalf("Deliver()=%v, want nil", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
}

// A hostname is checked on the address it resolves to, at dial time.
func TestClientBlocksHostnameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://localhost:" + port + "/hook"
	if err := deliver.CheckURL(url); err != nil {
		t.Fatalf("CheckURL(%s)=%v: the form is fine, only the dial must refuse it", url, err)
	}

	client := deliver.NewHTTPClient(deliver.ClientOptions{})
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded, want ErrBlockedAddress", url)
	}
	if !errors.Is(err, deliver.ErrBlockedAddress) {
		t.Fatalf("GET %s: %v, want ErrBlockedAddress", url, err)
	}

	hook, err := deliver.NewWebhook(deliver.WebhookConfig{URL: url, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	hook.HTTPClient = client
	if err := hook.Deliver(context.Background(), botReply()); !errors.Is(err, deliver.ErrBlockedAddress) || !bot.IsPermanent(err) {
		t.Fatalf("Deliver()=%v, want a permanent ErrBlockedAddress", err)
	}

	allowed := deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
	t.Cleanup(allowed.CloseIdleConnections)
	resp, err = allowed.Get(url)
	if err != nil {
		t.Fatalf("GET %s with private networks allowed: %v", url, err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("receiver got %d requests, want 1 (the allowed one)", n)
	}
}

// Link-local (cloud metadata) and unspecified addresses stay refused even
// with private networks allowed. The dialer's check runs before connect, so
// no packet leaves the machine.
func TestClientAlwaysBlocksMetadata(t *testing.T) {
	t.Parallel()
	client := deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true})
	t.Cleanup(client.CloseIdleConnections)
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://0.0.0.0:1/",
	} {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s succeeded, want ErrBlockedAddress", url)
		}
		if !errors.Is(err, deliver.ErrBlockedAddress) {
			t.Fatalf("GET %s: %v, want ErrBlockedAddress", url, err)
		}
	}
}

func TestNewHTTPClient(t *testing.T) {
	t.Parallel()
	client := deliver.NewHTTPClient(deliver.ClientOptions{})
	tr := deliver.HTTPTransport(client)
	if tr.Proxy != nil {
		t.Error("Proxy is set; proxy settings from the environment would bypass the address check")
	}
	if !tr.ForceAttemptHTTP2 {
		t.Error("ForceAttemptHTTP2 is off")
	}
	if got, want := tr.ResponseHeaderTimeout, deliver.DefaultTimeout; got != want {
		t.Errorf("ResponseHeaderTimeout=%v, want %v", got, want)
	}
	if got, want := tr.TLSHandshakeTimeout, deliver.TLSHandshakeTimeout; got != want {
		t.Errorf("TLSHandshakeTimeout=%v, want %v", got, want)
	}
	if got, want := tr.MaxIdleConnsPerHost, deliver.MaxIdleConnsPerHost; got != want {
		t.Errorf("MaxIdleConnsPerHost=%v, want %v", got, want)
	}
	if client.CheckRedirect == nil || !errors.Is(client.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
		t.Error("CheckRedirect does not stop redirects")
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/supportbot-replies", true},
		{"http://example.com:8080/hook?x=1", true},
		{"http://127.0.0.1:8080/hook", true}, // the dial decides
		{"http://[::1]:80/", true},
		{"", false},
		{"example.com/hook", false},
		{"ftp://example.com/hook", false},
		{"file:///etc/passwd", false},
		{"gopher://example.com/", false},
		{"https://", false},
		{"http://:80/", false},
		{"https://user:pass@example.com/", false},
		{"https://user@example.com/", false},
		{"https://example.com:99999/", false},
		{"https://example.com:0/", false},
		{"://missing-scheme", false},
		{"http://exa mple.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := deliver.CheckURL(tt.url)
			if got := err == nil; got != tt.ok {
				t.Fatalf("CheckURL(%q)=%v, want ok=%v", tt.url, err, tt.ok)
			}
			if err != nil && tt.url != "" && strings.Contains(err.Error(), tt.url) {
				t.Fatalf("CheckURL(%q) error %q repeats the URL", tt.url, err)
			}
		})
	}
}

func TestTextSignsAgentReplies(t *testing.T) {
	for _, tc := range []struct {
		r    bot.Reply
		want string
	}{
		{bot.Reply{Author: bot.AuthorBot, Text: "Hi"}, "Hi"},
		{bot.Reply{Author: bot.AuthorAgent, AgentName: "Grace", Text: "Done."}, "Done.\n\n— Grace"},
		{bot.Reply{Author: bot.AuthorAgent, AgentName: "  ", Text: "Done."}, "Done."},
		{bot.Reply{Author: bot.AuthorBot, AgentName: "Grace", Text: "Hi"}, "Hi"},
	} {
		if got := deliver.Text(tc.r); got != tc.want {
			t.Errorf("Text(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// The client names the service in every request, as its options say, and
// leaves the caller's request as it was.
func TestNewHTTPClientUserAgent(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("User-Agent")
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ set, want string }{
		{"", deliver.DefaultUserAgent},
		{"supportbot/v1.2.3", "supportbot/v1.2.3"},
	} {
		client := deliver.NewHTTPClient(deliver.ClientOptions{AllowPrivateNetworks: true, UserAgent: tc.set})
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		if ua := <-got; ua != tc.want {
			t.Errorf("UserAgent %q: request carried %q, want %q", tc.set, ua, tc.want)
		}
		if ua := req.Header.Get("User-Agent"); ua != "" {
			t.Errorf("the caller's request was changed: User-Agent %q", ua)
		}
	}
}
