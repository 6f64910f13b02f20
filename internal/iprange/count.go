package iprange

import (
	"net/netip"
	"slices"
)

// IsBuggy reports whether addr is an IPv4 address ending in .0 or .255. Some clients and
// middleboxes treat those as network or broadcast addresses even inside larger prefixes, so pools
// with avoidBuggyIPs never hand them out. No IPv6 address is buggy.
func IsBuggy(addr netip.Addr) bool {
	if !addr.Is4() {
		return false
	}
	last := addr.As4()[3]
	return last == 0 || last == 255
}

// CountBuggy returns how many addresses of r IsBuggy reports, by arithmetic rather than iteration,
// so it costs the same for a /8 as for a /30. It returns 0 for IPv6 and invalid ranges.
func CountBuggy(r Range) uint64 {
	if !r.Is4() {
		return 0
	}
	first, last := uint64(v4Number(r.First)), uint64(v4Number(r.Last))
	return countEndingIn(first, last, 0) + countEndingIn(first, last, 255)
}

func v4Number(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// countEndingIn counts the x in [first, last] with x%256 == lastByte.
func countEndingIn(first, last, lastByte uint64) uint64 {
	// upTo(n) counts the x in [0, n] with x%256 == lastByte.
	upTo := func(n uint64) uint64 {
		if n < lastByte {
			return 0
		}
		return (n-lastByte)/256 + 1
	}
	if first == 0 {
		return upTo(last)
	}
	return upTo(last) - upTo(first-1)
}

// FindOverlap reports two ranges of ranges that share an address, as indexes a < b, or ok=false
// if all are disjoint. Invalid ranges overlap nothing. It sorts a copy of the indexes, so it costs
// O(n log n) and leaves ranges untouched; which pair it reports when several overlap is
// deterministic but otherwise unspecified.
func FindOverlap(ranges []Range) (a, b int, ok bool) {
	order := make([]int, 0, len(ranges))
	for i, r := range ranges {
		if r.IsValid() {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(i, j int) int { return ranges[i].Compare(ranges[j]) })
	// After sorting by First, some range overlaps an earlier one exactly when it starts at or
	// before the furthest Last seen so far. IPv4 sorts wholly before IPv6, so families never mix.
	furthest := -1
	for _, i := range order {
		if furthest >= 0 && ranges[i].Overlaps(ranges[furthest]) {
			return min(i, furthest), max(i, furthest), true
		}
		if furthest < 0 || ranges[i].Last.Compare(ranges[furthest].Last) > 0 {
			furthest = i
		}
	}
	return 0, 0, false
}
