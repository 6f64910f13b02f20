package iprange

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Errors returned by Parse, always wrapped with the input and a hint; test with errors.Is.
var (
	// ErrSyntax: the text is not an address, a CIDR or a range "first-last".
	ErrSyntax = errors.New("not an IP address, CIDR or address range")
	// ErrZone: an address carries an IPv6 zone ("fe80::1%eth0"), which means nothing off-link.
	ErrZone = errors.New("IPv6 zone in address range")
	// ErrHostBits: a CIDR has bits set after its prefix length ("192.0.2.1/24").
	ErrHostBits = errors.New("CIDR has host bits set")
	// ErrFamilyMismatch: a range "first-last" mixes IPv4 and IPv6.
	ErrFamilyMismatch = errors.New("address range mixes IPv4 and IPv6")
	// ErrReversed: a range "first-last" starts after it ends.
	ErrReversed = errors.New("address range starts after it ends")
)

// parseError carries a message written for the person who typed the input, while errors.Is still
// sees the sentinel.
type parseError struct {
	kind error
	msg  string
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &parseError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Parse reads one block of a pool's addresses:
//
//   - a CIDR, "192.0.2.0/24" or "2001:db8::/64", whose host bits must be zero;
//   - a range "first-last" of one family, both ends included; spaces around "-" are allowed;
//   - a single address, "192.0.2.7", the same as its /32 or /128.
//
// Surrounding spaces are ignored. Zones and IPv4-mapped IPv6 addresses ("::ffff:192.0.2.1") are
// rejected: the first is meaningless for a routed address and the second would let one address
// be written two ways. Errors wrap ErrSyntax, ErrZone, ErrHostBits, ErrFamilyMismatch or
// ErrReversed, and quote the input.
func Parse(s string) (Range, error) {
	text := strings.TrimSpace(s)
	if _, zone, ok := strings.Cut(text, "%"); ok {
		if end := strings.IndexAny(zone, "-/ "); end >= 0 {
			zone = zone[:end]
		}
		return Range{}, errorf(ErrZone, "%q has an IPv6 zone (%%%s); pool addresses must be routable without one", s, zone)
	}
	if first, last, ok := strings.Cut(text, "-"); ok {
		return parseDash(s, strings.TrimSpace(first), strings.TrimSpace(last))
	}
	if addr, bits, ok := strings.Cut(text, "/"); ok {
		return parseCIDR(s, addr, bits)
	}
	a, err := parseAddr(s, text)
	if err != nil {
		return Range{}, err
	}
	return Range{a, a}, nil
}

// MustParse is Parse for constants in tests and examples; it panics on error.
func MustParse(s string) Range {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

func parseAddr(input, text string) (netip.Addr, error) {
	a, err := netip.ParseAddr(text)
	if err != nil {
		if text == input {
			return netip.Addr{}, errorf(ErrSyntax, "%q is not an IP address, a CIDR or a range first-last", input)
		}
		return netip.Addr{}, errorf(ErrSyntax, "%q: %q is not an IP address", input, text)
	}
	if a.Is4In6() {
		return netip.Addr{}, errorf(ErrSyntax, "%q: %s is an IPv4-mapped IPv6 address; write it as %s", input, text, a.Unmap())
	}
	return a, nil
}

func parseDash(input, first, last string) (Range, error) {
	a, err := parseAddr(input, first)
	if err != nil {
		return Range{}, err
	}
	b, err := parseAddr(input, last)
	if err != nil {
		return Range{}, err
	}
	if a.Is4() != b.Is4() {
		return Range{}, errorf(ErrFamilyMismatch, "%q mixes IPv4 and IPv6; a range must stay in one family", input)
	}
	if a.Compare(b) > 0 {
		return Range{}, errorf(ErrReversed, "%q starts after it ends; did you mean \"%s-%s\"?", input, b, a)
	}
	return Range{a, b}, nil
}

func parseCIDR(input, addrText, bitsText string) (Range, error) {
	a, err := parseAddr(input, addrText)
	if err != nil {
		return Range{}, err
	}
	// Our own digit check rather than netip.ParsePrefix, so that the message can say what is wrong
	// in the user's terms.
	bits, err := strconv.ParseUint(bitsText, 10, 8)
	if err != nil || bitsText == "" || bitsText[0] == '+' || (len(bitsText) > 1 && bitsText[0] == '0') || int(bits) > a.BitLen() {
		return Range{}, errorf(ErrSyntax, "%q: prefix length %q must be a number from 0 to %d", input, bitsText, a.BitLen())
	}
	p := netip.PrefixFrom(a, int(bits))
	if masked := p.Masked(); masked != p {
		return Range{}, errorf(ErrHostBits, "%q has host bits set; did you mean %q?", input, masked.String())
	}
	return prefixRange(p), nil
}

// prefixRange returns the range of a masked prefix.
func prefixRange(p netip.Prefix) Range {
	first := p.Addr()
	b := first.As16()
	hostBits := first.BitLen() - p.Bits()
	// Set the host bits, byte by byte from the end; for IPv4 they all sit in the last 4 bytes.
	for i := 15; hostBits > 0; i-- {
		if hostBits >= 8 {
			b[i] = 0xff
		} else {
			b[i] |= byte(1)<<hostBits - 1
		}
		hostBits -= 8
	}
	last := netip.AddrFrom16(b)
	if first.Is4() {
		last = last.Unmap()
	}
	return Range{first, last}
}
