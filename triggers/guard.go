package triggers

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"

	"github.com/supportbot/supportbot/bot"
)

// Guard holds the checks every trigger shares: the caller's address against
// an allowlist, the body size limit and the content type.
type Guard struct {
	// MaxBodyBytes caps the request body; the intake answers 413 above it.
	MaxBodyBytes int64
	// Allow lists the peer prefixes accepted (empty: any peer). IPv4-mapped
	// IPv6 prefixes are stored as the IPv4 prefixes they cover.
	Allow []netip.Prefix
	// ContentTypes lists the accepted media types (default application/json).
	ContentTypes []string
}

// NewGuard builds the shared checks of cfg; errors name the key.
func NewGuard(cfg Config) (*Guard, error) {
	g := &Guard{MaxBodyBytes: cfg.BodyLimit(), ContentTypes: []string{"application/json"}}
	if g.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("max_body_bytes: must be positive")
	}
	for i, s := range cfg.AllowIPs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("allow_ips[%d]: %q is not a CIDR or an address", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.Allow = append(g.Allow, unmapPrefix(p).Masked())
	}
	return g, nil
}

// CheckAddr reports whether the request's peer address is allowed. The peer
// is r.RemoteAddr: the TCP remote address, or the client a trusted proxy
// named (the server's trusted_proxies); forwarded headers are not read here.
func (g *Guard) CheckAddr(r *http.Request) error {
	if len(g.Allow) == 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("peer address %q is not an IP address: %w", host, bot.ErrUnauthorized)
	}
	// Peers are compared as plain IPv4 when they arrive IPv4-mapped on a
	// dual-stack socket, and without a zone, which Prefix.Contains rejects.
	a = a.Unmap().WithZone("")
	for _, p := range g.Allow {
		if p.Contains(a) {
			return nil
		}
	}
	return fmt.Errorf("peer address %s not in allow_ips: %w", a, bot.ErrUnauthorized)
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into
// the IPv4 prefix it covers (10.0.0.0/8), as CheckAddr unmaps the peer.
// A shorter prefix also covers non-mapped IPv6 space and is kept as it is.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// CheckContentType returns a validation error unless the request's media
// type is one the trigger accepts. A missing Content-Type is accepted as
// JSON, as many senders omit it.
func (g *Guard) CheckContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return bot.Invalid("content-type", "%q is not a media type", ct)
	}
	for _, want := range g.ContentTypes {
		if mt == want {
			return nil
		}
	}
	return bot.Invalid("content-type", "%q is not accepted; send %v", mt, g.ContentTypes)
}
