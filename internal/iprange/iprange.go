// Package iprange parses, counts, iterates and compares inclusive ranges of IP addresses, as
// written in the addresses of an IPAddressPool: CIDRs ("192.0.2.0/24", "2001:db8::/64"), dash
// ranges of one family ("192.0.2.10-192.0.2.20") and single addresses.
//
// It owns the textual form of a range and the arithmetic on it. It knows nothing of pools,
// allocation or Kubernetes; internal/config and internal/allocator build on it.
//
// Quantities that can exceed 2^64, such as the size of an IPv6 range, are *big.Int, so even the
// whole IPv6 space (::/0, 2^128 addresses) is counted exactly. Nothing here iterates to count:
// Size and CountBuggy are O(1) arithmetic and FindOverlap is O(n log n).
package iprange

import (
	"iter"
	"math/big"
	"net/netip"
)

// Range is the inclusive set of addresses from First to Last. A valid Range (see IsValid) has
// both ends of one family, no zone, and First <= Last. The zero Range is invalid.
type Range struct {
	First, Last netip.Addr
}

// IsValid reports whether r is a range that Parse could have returned: both ends valid, of the
// same family, without zone, not IPv4-mapped IPv6, and First <= Last.
func (r Range) IsValid() bool {
	return r.First.IsValid() && r.Last.IsValid() &&
		r.First.Zone() == "" && r.Last.Zone() == "" &&
		!r.First.Is4In6() && !r.Last.Is4In6() &&
		r.First.BitLen() == r.Last.BitLen() &&
		r.First.Compare(r.Last) <= 0
}

// Is4 reports whether r is a valid range of IPv4 addresses.
func (r Range) Is4() bool { return r.IsValid() && r.First.Is4() }

// Is6 reports whether r is a valid range of IPv6 addresses.
func (r Range) Is6() bool { return r.IsValid() && r.First.Is6() }

// Size returns the number of addresses in r, or 0 if r is invalid. It is exact for any range,
// including ::/0, whose 2^128 addresses do not fit in 128 bits.
func (r Range) Size() *big.Int {
	if !r.IsValid() {
		return new(big.Int)
	}
	n := u128Of(r.Last).sub(u128Of(r.First)).big()
	return n.Add(n, big.NewInt(1))
}

// Contains reports whether addr lies in r. Addresses of the other family, and addresses with a
// zone, are never contained.
func (r Range) Contains(addr netip.Addr) bool {
	return r.IsValid() && addr.IsValid() && addr.Zone() == "" &&
		addr.BitLen() == r.First.BitLen() &&
		r.First.Compare(addr) <= 0 && addr.Compare(r.Last) <= 0
}

// Overlaps reports whether r and other share at least one address. Ranges of different families
// never overlap.
func (r Range) Overlaps(other Range) bool {
	return r.IsValid() && other.IsValid() &&
		r.First.BitLen() == other.First.BitLen() &&
		r.First.Compare(other.Last) <= 0 && other.First.Compare(r.Last) <= 0
}

// Compare orders ranges by First, then by Last, with IPv4 before IPv6, the order netip.Addr uses.
// It returns -1, 0 or +1, for slices.SortFunc and friends.
func (r Range) Compare(other Range) int {
	if c := r.First.Compare(other.First); c != 0 {
		return c
	}
	return r.Last.Compare(other.Last)
}

// Prefix returns the prefix whose addresses are exactly those of r, and false if no single prefix
// covers r exactly (or r is invalid).
func (r Range) Prefix() (netip.Prefix, bool) {
	if !r.IsValid() {
		return netip.Prefix{}, false
	}
	first := u128Of(r.First)
	hostMask := first.xor(u128Of(r.Last))
	// A prefix's range differs from its first address only in a run of trailing host bits, all
	// zero in First and all one in Last: hostMask must be 2^k-1 and disjoint from First.
	if !hostMask.and(hostMask.add1()).isZero() || !first.and(hostMask).isZero() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(r.First, r.First.BitLen()-hostMask.bitLen()), true
}

// String returns r in the form Parse reads back: CIDR notation when r is exactly one prefix
// (a single address prints as /32 or /128), "first-last" otherwise, and "invalid Range" for an
// invalid r.
func (r Range) String() string {
	if !r.IsValid() {
		return "invalid Range"
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// All yields every address of r in ascending order; nothing for an invalid r. It stops cleanly at
// the top of the address space, where netip.Addr.Next would wrap to the invalid address.
func (r Range) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		if !r.IsValid() {
			return
		}
		for a := r.First; ; a = a.Next() {
			if !yield(a) || a == r.Last {
				return
			}
		}
	}
}
