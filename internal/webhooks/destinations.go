package webhooks

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Destinations is the policy of --webhook-destinations: which addresses the
// manager may connect to for a delivery. It is checked on every address the
// dialer connects to (net.Dialer.Control, after name resolution), so a name
// that resolves elsewhere later (DNS rebinding) cannot bypass it.
//
// The flag is a comma-separated list of entries:
//
//	any             every address
//	cluster         the private ranges 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7
//	<CIDR> or <IP>  that range or address, e.g. 10.96.0.0/12, 2001:db8::/32, 192.0.2.7
//	<host name>     that URL host, e.g. hooks.example.com
//	*.<suffix>      URL hosts below suffix, e.g. *.svc.cluster.local
//
// Loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10, where
// cloud metadata services listen), the other cloud metadata addresses
// (fd00:ec2::254, inside fc00::/7 that `cluster` allows, and 100.100.100.200),
// unspecified (0.0.0.0/8, ::), multicast and broadcast addresses, and the
// IPv6 ranges that embed an IPv4 address (NAT64 64:ff9b::/96 and
// 64:ff9b:1::/48, 6to4 2002::/16, IPv4-compatible ::/96) are refused
// whatever the entries say, unless an entry that is a CIDR or IP inside the
// narrowest such range lists the address explicitly: `any` or 0.0.0.0/0 do
// not open 169.254.169.254, and a host name that resolves to 127.0.0.1 is
// refused unless 127.0.0.1 is listed. An address of 64:ff9b::/96, 2002::/16
// or ::/96 that is listed is allowed only when its embedded IPv4 address is
// allowed too (so a listed NAT64 range does not reach 169.254.169.254).
type Destinations struct {
	text     string
	any      bool
	prefixes []netip.Prefix
	names    map[string]bool
	suffixes []string // each with its leading dot
}

// clusterRanges are the private ranges of the `cluster` entry.
var clusterRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// specialRanges are refused unless an entry within them lists the address.
var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("ff00::/8"),
	// Cloud metadata outside link-local: AWS over IPv6 (inside fc00::/7,
	// which `cluster` allows), Alibaba Cloud.
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("100.100.100.200/32"),
	// IPv6 ranges that reach an embedded IPv4 address (see embeddedIPv4).
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("::/96"),
}

// embeddedIPv4 is the IPv4 address that ip reaches through NAT64
// (64:ff9b::/96), 6to4 (2002::/16) or as an IPv4-compatible address (::/96
// but :: and ::1).
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() || ip.Is4In6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), ipv4Compatible.Contains(ip) && ip.Compare(ipv6Loopback) > 0:
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	ipv6Loopback   = netip.MustParseAddr("::1")
)

// maxEntries bounds the flag's list.
const maxEntries = 256

// ParseDestinations parses the value of --webhook-destinations.
func ParseDestinations(s string) (*Destinations, error) {
	d := &Destinations{text: s, names: map[string]bool{}}
	entries := strings.Split(s, ",")
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--webhook-destinations is empty: say any, cluster, or list CIDRs and host names")
	}
	if len(entries) > maxEntries {
		return nil, fmt.Errorf("--webhook-destinations lists %d entries, at most %d", len(entries), maxEntries)
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		low := strings.ToLower(strings.TrimSuffix(e, "."))
		switch {
		case e == "":
			return nil, errors.New("--webhook-destinations has an empty entry")
		case low == "any":
			d.any = true
		case low == "cluster":
			d.prefixes = append(d.prefixes, clusterRanges...)
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("--webhook-destinations entry %q: %w", e, err)
			}
			d.prefixes = append(d.prefixes, unmapPrefix(p.Masked()))
		case strings.HasPrefix(low, "*."):
			if !isHostName(low[2:]) {
				return nil, fmt.Errorf("--webhook-destinations entry %q: not *.<DNS name>", e)
			}
			d.suffixes = append(d.suffixes, low[1:])
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("--webhook-destinations entry %q: no zones", e)
				}
				a = a.Unmap()
				d.prefixes = append(d.prefixes, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			if !isHostName(low) {
				return nil, fmt.Errorf("--webhook-destinations entry %q: not any, cluster, a CIDR, an IP, a host name or *.<suffix>", e)
			}
			d.names[low] = true
		}
	}
	return d, nil
}

// String is the flag's value.
func (d *Destinations) String() string { return d.text }

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into its IPv4 prefix.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits and inner hyphens (underscores allowed), 1-63 characters
// each, 253 in all.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// RefusedError is the error of a connection the policy refused.
type RefusedError struct {
	Addr netip.Addr
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("address %s is outside --webhook-destinations", e.Addr)
}

// Allow checks the address ip that a delivery to URL host host (a name or an
// IP literal) is about to connect to.
func (d *Destinations) Allow(host string, ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	if !d.allow(host, ip) {
		return &RefusedError{Addr: ip}
	}
	if v4, ok := embeddedIPv4(ip); ok && !d.allow(host, v4) {
		return &RefusedError{Addr: ip}
	}
	return nil
}

// specialBits is the length of the narrowest special range that holds ip,
// or -1.
func specialBits(ip netip.Addr) int {
	bits := -1
	for _, r := range specialRanges {
		if r.Contains(ip) && r.Bits() > bits {
			bits = r.Bits()
		}
	}
	return bits
}

// allow checks ip (unmapped, without zone) alone.
func (d *Destinations) allow(host string, ip netip.Addr) bool {
	if bits := specialBits(ip); bits >= 0 {
		for _, p := range d.prefixes {
			// Explicit: the entry lies inside the narrowest special range.
			if p.Contains(ip) && p.Bits() >= bits {
				return true
			}
		}
		return false
	}
	if d.any {
		return true
	}
	for _, p := range d.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if _, err := netip.ParseAddr(host); err != nil && host != "" {
		if d.names[host] {
			return true
		}
		for _, s := range d.suffixes {
			if strings.HasSuffix(host, s) {
				return true
			}
		}
	}
	return false
}
