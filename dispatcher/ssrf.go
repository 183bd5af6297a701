package dispatcher

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrRefusedAddress is returned (wrapped) when a delivery would connect to
// an address the SSRF guard refuses.
var ErrRefusedAddress = errors.New("destination address not allowed")

// ErrInvalidURL is returned (wrapped) for delivery URLs that are not
// http(s), have no host, or carry credentials.
var ErrInvalidURL = errors.New("a valid URL was not provided")

// blockedPrefixes are the non-global ranges refused by default, besides
// what netip's predicates catch (loopback, private, link-local,
// multicast, unspecified).
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // CGNAT shared space
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"240.0.0.0/4",     // reserved, and 255.255.255.255
	"::/128",          // unspecified
	"64:ff9b::/96",    // NAT64 (embeds IPv4)
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard
	"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, ...)
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4 (embeds IPv4)
	"3fff::/20",       // documentation
	"5f00::/16",       // SRv6 SIDs
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // deprecated site-local
	"ff00::/8",        // multicast
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// AddressAllowed reports whether a delivery may connect to ip: it is
// allowed when an allow range contains it (as given or unmapped), and
// otherwise when it is a global unicast address outside every reserved
// range. IPv4-mapped IPv6 addresses are judged as the IPv4 address.
func AddressAllowed(ip netip.Addr, allow []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("")
	un := ip.Unmap()
	for _, p := range allow {
		if p.Contains(ip) || p.Contains(un) {
			return true
		}
	}
	if un.IsLoopback() || un.IsPrivate() || un.IsLinkLocalUnicast() || un.IsLinkLocalMulticast() ||
		un.IsInterfaceLocalMulticast() || un.IsMulticast() || un.IsUnspecified() || !un.IsGlobalUnicast() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(un) {
			return false
		}
	}
	return true
}

// dialControl is the net.Dialer Control hook: it runs on the resolved
// address right before connect, so the vetted IP is the one connected to.
func dialControl(allow []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrRefusedAddress, address)
		}
		if !AddressAllowed(ap.Addr(), allow) {
			return fmt.Errorf("%w: %s", ErrRefusedAddress, ap.Addr())
		}
		return nil
	}
}

// checkURL validates a delivery URL: http or https, a host, no
// credentials.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, ErrInvalidURL
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, ErrInvalidURL
	}
	if u.User != nil || u.Hostname() == "" || strings.ContainsAny(u.Host, " \t") {
		return nil, ErrInvalidURL
	}
	return u, nil
}

// newDialer returns the guarded dialer of deliveries.
func newDialer(allow []netip.Prefix) *net.Dialer {
	return &net.Dialer{Control: dialControl(allow)}
}
