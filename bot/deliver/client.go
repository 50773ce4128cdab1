package deliver

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// ErrBlockedAddress means an outbound connection was refused because the
// address it would reach is not a public internet address (see
// ClientOptions.AllowPrivateNetworks). Deliver reports it as bot.Permanent.
var ErrBlockedAddress = errors.New("blocked address")

// Transport defaults of NewHTTPClient.
const (
	// DialTimeout bounds connecting one TCP connection.
	DialTimeout = 5 * time.Second
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout = 5 * time.Second
	// MaxIdleConnsPerHost is how many idle connections are kept per receiver.
	MaxIdleConnsPerHost = 16
)

// ClientOptions configures NewHTTPClient.
type ClientOptions struct {
	// AllowPrivateNetworks permits connections to loopback, private and
	// other non-public addresses (for development, tests, and receivers on
	// an internal network). Link-local (cloud metadata), unspecified,
	// multicast and broadcast addresses stay refused.
	AllowPrivateNetworks bool
	// Timeout bounds the wait for response headers after the request was
	// written (default DefaultTimeout). Set it to at least the largest
	// WebhookConfig.Timeout that shares the client: each delivery also has
	// its own deadline.
	Timeout time.Duration
	// UserAgent is the User-Agent of every request (default
	// DefaultUserAgent); cmd/supportbot sets "supportbot/<version>".
	UserAgent string
}

// DefaultUserAgent is the User-Agent of a client whose options set none.
const DefaultUserAgent = "supportbot"

// NewHTTPClient returns an HTTP client for outbound callbacks: it refuses to
// connect to blocked addresses (checked on the dialed IP, after DNS), never
// follows redirects, ignores proxy settings from the environment, and bounds
// dialing, the TLS handshake and the wait for response headers.
func NewHTTPClient(opts ClientOptions) *http.Client {
	dialer := &net.Dialer{
		Timeout:   DialTimeout,
		KeepAlive: 30 * time.Second,
		ControlContext: func(_ context.Context, network, address string, _ syscall.RawConn) error {
			return checkDial(network, address, opts.AllowPrivateNetworks)
		},
	}
	transport := &http.Transport{
		// No proxy: through a proxy the dialer would check only the
		// proxy's address, and the proxy would reach any target.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ResponseHeaderTimeout: cmp.Or(opts.Timeout, DefaultTimeout),
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport:     &userAgent{next: transport, value: cmp.Or(opts.UserAgent, DefaultUserAgent)},
		CheckRedirect: noRedirect,
	}
}

// userAgent names the service in every request it sends through next.
type userAgent struct {
	next  *http.Transport
	value string
}

func (t *userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("User-Agent", t.value)
	return t.next.RoundTrip(r)
}

// CloseIdleConnections closes next's idle connections
// (http.Client.CloseIdleConnections).
func (t *userAgent) CloseIdleConnections() { t.next.CloseIdleConnections() }

// noRedirect makes the client return a 3xx response as is: the target of a
// redirect is not the configured URL.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// checkDial is the dialer's guard; address is the resolved "ip:port".
func checkDial(network, address string, allowPrivate bool) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrBlockedAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: the dialer always passes a literal ip:port.
		return fmt.Errorf("%w: unparsable address %q", ErrBlockedAddress, address)
	}
	return checkAddr(ap.Addr(), allowPrivate)
}

// CheckAddr reports whether ip is a public address that an outbound callback
// may connect to. It returns nil or an error wrapping ErrBlockedAddress that
// names the range ip is in. It applies the rules of NewHTTPClient with
// AllowPrivateNetworks unset.
func CheckAddr(ip netip.Addr) error { return checkAddr(ip, false) }

func checkAddr(ip netip.Addr, allowPrivate bool) error {
	reason, always := classify(ip)
	if reason == "" || (allowPrivate && !always) {
		return nil
	}
	return fmt.Errorf("%w: %s is %s", ErrBlockedAddress, ip, reason)
}

// prefixRule is one refused range. Always marks ranges refused even with
// AllowPrivateNetworks: no callback receiver legitimately lives there.
type prefixRule struct {
	prefix netip.Prefix
	reason string
	always bool
}

func rule(cidr, reason string, always bool) prefixRule {
	return prefixRule{prefix: netip.MustParsePrefix(cidr), reason: reason, always: always}
}

// v4Rules are checked in order, so specific entries come before the ranges
// that contain them.
var v4Rules = []prefixRule{
	rule("255.255.255.255/32", "broadcast", true),
	rule("169.254.169.254/32", "cloud metadata", true),
	rule("100.100.100.200/32", "cloud metadata", true), // Alibaba Cloud
	rule("0.0.0.0/32", "unspecified", true),
	rule("0.0.0.0/8", "this network (0.0.0.0/8)", false),
	rule("10.0.0.0/8", "private", false),
	rule("100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)", false),
	rule("127.0.0.0/8", "loopback", false),
	rule("169.254.0.0/16", "link-local", true),
	rule("172.16.0.0/12", "private", false),
	rule("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)", false),
	rule("192.0.2.0/24", "documentation", false),
	rule("192.88.99.0/24", "6to4 relay anycast", false),
	rule("192.168.0.0/16", "private", false),
	rule("198.18.0.0/15", "benchmarking (198.18.0.0/15)", false),
	rule("198.51.100.0/24", "documentation", false),
	rule("203.0.113.0/24", "documentation", false),
	rule("224.0.0.0/4", "multicast", true),
	rule("240.0.0.0/4", "reserved (240.0.0.0/4)", false),
}

var v6Rules = []prefixRule{
	rule("::/128", "unspecified", true),
	rule("::1/128", "loopback", false),
	rule("::/96", "IPv4-compatible (deprecated)", false),
	rule("64:ff9b:1::/48", "local-use NAT64", false),
	rule("100::/64", "discard-only", false),
	rule("2001::/32", "Teredo", false),
	rule("2001:db8::/32", "documentation", false),
	rule("2001::/23", "IETF protocol assignments (2001::/23)", false),
	rule("3fff::/20", "documentation", false),
	rule("5f00::/16", "SRv6 SIDs", false),
	rule("fd00:ec2::254/128", "cloud metadata", true),
	rule("fd00:ec2::23/128", "cloud metadata", true),
	rule("fc00::/7", "private (unique local)", false),
	rule("fe80::/10", "link-local", true),
	rule("fec0::/10", "site-local (deprecated)", false),
	rule("ff00::/8", "multicast", true),
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

// classify returns why ip is refused ("" if it is public) and whether it is
// refused even when private networks are allowed.
func classify(ip netip.Addr) (reason string, always bool) {
	if !ip.IsValid() {
		return "invalid", true
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if r, a := classify(ip.Unmap()); r != "" {
			return "IPv4-mapped " + r, a
		}
		return "", false
	}
	if ip.Is4() {
		for _, r := range v4Rules {
			if r.prefix.Contains(ip) {
				return r.reason, r.always
			}
		}
		return "", false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if r, a := classify(v4); r != "" {
			return "NAT64 of " + r, a
		}
		return "", false
	case sixToFour.Contains(ip):
		v4 := netip.AddrFrom4([4]byte(b[2:6]))
		if r, a := classify(v4); r != "" {
			return "6to4 of " + r, a
		}
		return "", false
	}
	for _, r := range v6Rules {
		if r.prefix.Contains(ip) {
			return r.reason, r.always
		}
	}
	if !global6.Contains(ip) {
		// Only 2000::/3 is allocated for global unicast.
		return "reserved (outside 2000::/3)", false
	}
	return "", false
}

// CheckURL validates the form of a callback URL at configuration time: an
// absolute http or https URL with a host and no user info. It does not
// resolve the host; the connect-time check of NewHTTPClient is the real
// guard. Errors never repeat the URL, which may carry a token.
func CheckURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("has no host")
	}
	if u.User != nil {
		return errors.New("must not carry user info (credentials)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return errors.New("has an invalid port")
		}
	}
	return nil
}
