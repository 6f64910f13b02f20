package iprange

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cmpAddr lets go-cmp compare netip.Addr, whose fields are unexported, by value.
var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseAcceptsCIDRsRangesAndAddresses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Range
	}{
		{"IPv4 CIDR", "192.0.2.0/24", Range{addr("192.0.2.0"), addr("192.0.2.255")}},
		{"IPv4 CIDR /32 is one address", "192.0.2.7/32", Range{addr("192.0.2.7"), addr("192.0.2.7")}},
		{"IPv4 /0 is the whole space", "0.0.0.0/0", Range{addr("0.0.0.0"), addr("255.255.255.255")}},
		{"IPv4 CIDR with partial byte", "198.51.100.64/27", Range{addr("198.51.100.64"), addr("198.51.100.95")}},
		{"IPv6 CIDR", "2001:db8::/64", Range{addr("2001:db8::"), addr("2001:db8::ffff:ffff:ffff:ffff")}},
		{"IPv6 /0 is the whole space", "::/0", Range{addr("::"), addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}},
		{"IPv6 /128 is one address", "2001:db8::1/128", Range{addr("2001:db8::1"), addr("2001:db8::1")}},
		{"IPv4 dash range", "192.0.2.10-192.0.2.20", Range{addr("192.0.2.10"), addr("192.0.2.20")}},
		{"spaces around the dash", "192.0.2.10 - 192.0.2.20", Range{addr("192.0.2.10"), addr("192.0.2.20")}},
		{"surrounding spaces", "  192.0.2.10-192.0.2.20\t", Range{addr("192.0.2.10"), addr("192.0.2.20")}},
		{"range of one address", "192.0.2.10-192.0.2.10", Range{addr("192.0.2.10"), addr("192.0.2.10")}},
		{"IPv6 dash range", "2001:db8::10-2001:db8::1:0", Range{addr("2001:db8::10"), addr("2001:db8::1:0")}},
		{"single IPv4 address", "203.0.113.9", Range{addr("203.0.113.9"), addr("203.0.113.9")}},
		{"single IPv6 address", "2001:db8::9", Range{addr("2001:db8::9"), addr("2001:db8::9")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpAddr); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseRejectsWithSentinelAndActionableMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{"host bits set suggests the masked prefix", "192.0.2.1/24", ErrHostBits,
			`"192.0.2.1/24" has host bits set; did you mean "192.0.2.0/24"?`},
		{"IPv6 host bits set", "2001:db8::1/64", ErrHostBits,
			`"2001:db8::1/64" has host bits set; did you mean "2001:db8::/64"?`},
		{"mixed families", "192.0.2.1-2001:db8::1", ErrFamilyMismatch,
			`"192.0.2.1-2001:db8::1" mixes IPv4 and IPv6; a range must stay in one family`},
		{"reversed range suggests the right order", "192.0.2.20-192.0.2.10", ErrReversed,
			`"192.0.2.20-192.0.2.10" starts after it ends; did you mean "192.0.2.10-192.0.2.20"?`},
		{"zone", "fe80::1%eth0", ErrZone,
			`"fe80::1%eth0" has an IPv6 zone (%eth0); pool addresses must be routable without one`},
		{"zone in a range", "fe80::1%eth0-fe80::2", ErrZone,
			`"fe80::1%eth0-fe80::2" has an IPv6 zone (%eth0); pool addresses must be routable without one`},
		{"garbage", "pool-a", ErrSyntax, `"pool-a": "pool" is not an IP address`},
		{"empty", "", ErrSyntax, `"" is not an IP address, a CIDR or a range first-last`},
		{"not an address", "example.com", ErrSyntax, `"example.com" is not an IP address, a CIDR or a range first-last`},
		{"empty end of range", "192.0.2.1-", ErrSyntax, `"192.0.2.1-": "" is not an IP address`},
		{"prefix length too long", "192.0.2.0/33", ErrSyntax, `"192.0.2.0/33": prefix length "33" must be a number from 0 to 32`},
		{"prefix length empty", "192.0.2.0/", ErrSyntax, `"192.0.2.0/": prefix length "" must be a number from 0 to 32`},
		{"prefix length with leading zero", "192.0.2.0/024", ErrSyntax, `"192.0.2.0/024": prefix length "024" must be a number from 0 to 32`},
		{"prefix length with sign", "192.0.2.0/+24", ErrSyntax, `"192.0.2.0/+24": prefix length "+24" must be a number from 0 to 32`},
		{"CIDR as range end", "192.0.2.0-192.0.2.0/24", ErrSyntax, `"192.0.2.0-192.0.2.0/24": "192.0.2.0/24" is not an IP address`},
		{"leading zeros in IPv4", "192.0.2.01", ErrSyntax, `"192.0.2.01" is not an IP address, a CIDR or a range first-last`},
		{"IPv4-mapped IPv6", "::ffff:192.0.2.1", ErrSyntax, `"::ffff:192.0.2.1": ::ffff:192.0.2.1 is an IPv4-mapped IPv6 address; write it as 192.0.2.1`},
		{"IPv4-mapped IPv6 CIDR", "::ffff:192.0.2.0/120", ErrSyntax, `"::ffff:192.0.2.0/120": ::ffff:192.0.2.0 is an IPv4-mapped IPv6 address; write it as 192.0.2.0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.in, got)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse(%q) error %v is not %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantMsg, err.Error()); diff != "" {
				t.Errorf("Parse(%q) message (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestStringPrintsCIDRWhenExactlyOnePrefix(t *testing.T) {
	tests := []struct {
		name string
		r    Range
		want string
	}{
		{"aligned power of two", MustParse("192.0.2.0-192.0.2.255"), "192.0.2.0/24"},
		{"single address", MustParse("192.0.2.7"), "192.0.2.7/32"},
		{"unaligned power of two", MustParse("192.0.2.1-192.0.2.2"), "192.0.2.1-192.0.2.2"},
		{"aligned but not a power of two", MustParse("192.0.2.0-192.0.2.2"), "192.0.2.0-192.0.2.2"},
		{"whole IPv4 space", MustParse("0.0.0.0/0"), "0.0.0.0/0"},
		{"whole IPv6 space", MustParse("::/0"), "::/0"},
		{"IPv6 range", MustParse("2001:db8::10-2001:db8::1:0"), "2001:db8::10-2001:db8::1:0"},
		{"IPv6 /64", MustParse("2001:db8:1::-2001:db8:1::ffff:ffff:ffff:ffff"), "2001:db8:1::/64"},
		{"invalid", Range{}, "invalid Range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSizeIsExactForEveryRangeSize(t *testing.T) {
	pow2 := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	tests := []struct {
		name string
		r    Range
		want *big.Int
	}{
		{"one address", MustParse("192.0.2.1"), big.NewInt(1)},
		{"IPv4 /24", MustParse("192.0.2.0/24"), big.NewInt(256)},
		{"IPv4 range", MustParse("192.0.2.10-192.0.3.9"), big.NewInt(256)},
		{"whole IPv4 space", MustParse("0.0.0.0/0"), pow2(32)},
		{"IPv6 /64", MustParse("2001:db8::/64"), pow2(64)},
		{"IPv6 /48", MustParse("2001:db8::/48"), pow2(80)},
		{"whole IPv6 space exceeds 128 bits", MustParse("::/0"), pow2(128)},
		{"IPv6 range crossing the 64-bit boundary", MustParse("2001:db8::ffff:ffff:ffff:ffff-2001:db8:0:1::"), big.NewInt(2)},
		{"invalid range is empty", Range{}, big.NewInt(0)},
		{"reversed range is invalid", Range{addr("192.0.2.2"), addr("192.0.2.1")}, big.NewInt(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Size(); got.Cmp(tt.want) != 0 {
				t.Errorf("%v.Size() = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

func TestContainsChecksFamilyBoundsAndZone(t *testing.T) {
	r4 := MustParse("192.0.2.10-192.0.2.20")
	r6 := MustParse("2001:db8::/126")
	tests := []struct {
		name string
		r    Range
		a    netip.Addr
		want bool
	}{
		{"first address", r4, addr("192.0.2.10"), true},
		{"last address", r4, addr("192.0.2.20"), true},
		{"before first", r4, addr("192.0.2.9"), false},
		{"after last", r4, addr("192.0.2.21"), false},
		{"IPv4-mapped form is another family", r4, addr("::ffff:192.0.2.10"), false},
		{"IPv6 inside", r6, addr("2001:db8::3"), true},
		{"IPv6 outside", r6, addr("2001:db8::4"), false},
		{"zoned address", r6, addr("2001:db8::1%eth0"), false},
		{"IPv4 in IPv6 range", r6, addr("192.0.2.10"), false},
		{"invalid address", r4, netip.Addr{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Contains(tt.a); got != tt.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tt.r, tt.a, got, tt.want)
			}
		})
	}
}

func TestOverlapsNeedsASharedAddress(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", "192.0.2.0/24", "192.0.2.0/24", true},
		{"nested", "192.0.2.0/24", "192.0.2.128/25", true},
		{"touching at one address", "192.0.2.0-192.0.2.10", "192.0.2.10-192.0.2.20", true},
		{"adjacent but disjoint", "192.0.2.0-192.0.2.9", "192.0.2.10-192.0.2.20", false},
		{"far apart", "192.0.2.0/24", "198.51.100.0/24", false},
		{"different families never overlap", "0.0.0.0/0", "::/0", false},
		{"IPv6 overlap", "2001:db8::/64", "2001:db8::ffff:ffff:ffff:0-2001:db8:0:1::5", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			if got := a.Overlaps(b); got != tt.want {
				t.Errorf("%v.Overlaps(%v) = %v, want %v", a, b, got, tt.want)
			}
			if got := b.Overlaps(a); got != tt.want {
				t.Errorf("%v.Overlaps(%v) = %v, want %v (not symmetric)", b, a, got, tt.want)
			}
		})
	}
}

func TestAllStopsAtTheTopOfTheAddressSpace(t *testing.T) {
	tests := []struct {
		name string
		r    Range
		want []netip.Addr
	}{
		{"small IPv4 range", MustParse("192.0.2.254-192.0.3.1"),
			[]netip.Addr{addr("192.0.2.254"), addr("192.0.2.255"), addr("192.0.3.0"), addr("192.0.3.1")}},
		{"top of IPv4", MustParse("255.255.255.254/31"),
			[]netip.Addr{addr("255.255.255.254"), addr("255.255.255.255")}},
		{"top of IPv6", MustParse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"),
			[]netip.Addr{addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}},
		{"invalid yields nothing", Range{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Collect(tt.r.All())
			if diff := cmp.Diff(tt.want, got, cmpAddr); diff != "" {
				t.Errorf("All() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllCanStopEarly(t *testing.T) {
	n := 0
	for range MustParse("::/0").All() {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("iterated %d addresses, want 3", n)
	}
}

func TestCountBuggyCountsDotZeroAndDot255(t *testing.T) {
	tests := []struct {
		name string
		r    Range
		want uint64
	}{
		{"/24 has its network and broadcast", MustParse("192.0.2.0/24"), 2},
		{"/25 low half has .0 only", MustParse("192.0.2.0/25"), 1},
		{"inner range has none", MustParse("192.0.2.1-192.0.2.254"), 0},
		{"crossing a /24 boundary", MustParse("192.0.2.255-192.0.3.0"), 2},
		{"/16", MustParse("10.1.0.0/16"), 512},
		{"whole IPv4 space", MustParse("0.0.0.0/0"), 1 << 25},
		{"0.0.0.0 alone", MustParse("0.0.0.0"), 1},
		{"255.255.255.255 alone", MustParse("255.255.255.255"), 1},
		{"IPv6 has none", MustParse("2001:db8::/120"), 0},
		{"invalid has none", Range{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountBuggy(tt.r); got != tt.want {
				t.Errorf("CountBuggy(%v) = %d, want %d", tt.r, got, tt.want)
			}
		})
	}
}

// randomSmallRange returns a valid range of at most a few thousand addresses, near interesting
// boundaries (0, /24 edges, the top of each family) often enough to matter.
func randomSmallRange(rng *rand.Rand) Range {
	var first netip.Addr
	switch rng.IntN(4) {
	case 0:
		first = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	case 1:
		first = netip.AddrFrom4([4]byte{255, 255, byte(250 + rng.IntN(6)), byte(rng.IntN(256))})
	case 2:
		first = netip.AddrFrom4([4]byte{0, 0, byte(rng.IntN(3)), byte(rng.IntN(256))})
	default:
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 {
			for i := range 14 {
				b[i] = 0xff
			}
		}
		first = netip.AddrFrom16(b)
		if first.Is4In6() {
			first = netip.IPv6Unspecified()
		}
	}
	last := first
	for n := rng.IntN(2000); n > 0; n-- {
		next := last.Next()
		if !next.IsValid() {
			break
		}
		last = next
	}
	return Range{first, last}
}

func TestSizeAndCountBuggyMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		r := randomSmallRange(rng)
		var n, buggy uint64
		for a := range r.All() {
			n++
			if IsBuggy(a) {
				buggy++
			}
		}
		if got := r.Size(); !got.IsUint64() || got.Uint64() != n {
			t.Fatalf("%v.Size() = %v, brute force counts %d", r, got, n)
		}
		if got := CountBuggy(r); got != buggy {
			t.Fatalf("CountBuggy(%v) = %d, brute force counts %d", r, got, buggy)
		}
	}
}

func TestFindOverlapMatchesPairwiseCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		ranges := make([]Range, rng.IntN(8))
		for i := range ranges {
			// Few, close ranges in one small neighbourhood so that overlaps happen often.
			base := rng.IntN(64)
			width := rng.IntN(8)
			if rng.IntN(3) == 0 {
				ranges[i] = Range{addr("2001:db8::").Next(), addr("2001:db8::").Next()}
				for range base {
					ranges[i].First = ranges[i].First.Next()
				}
			} else {
				ranges[i].First = netip.AddrFrom4([4]byte{192, 0, 2, byte(base)})
			}
			ranges[i].Last = ranges[i].First
			for range width {
				ranges[i].Last = ranges[i].Last.Next()
			}
		}
		wantOverlap := false
		for i := range ranges {
			for j := i + 1; j < len(ranges); j++ {
				wantOverlap = wantOverlap || ranges[i].Overlaps(ranges[j])
			}
		}
		a, b, ok := FindOverlap(ranges)
		if ok != wantOverlap {
			t.Fatalf("FindOverlap(%v) ok = %v, want %v", ranges, ok, wantOverlap)
		}
		if ok && (a >= b || !ranges[a].Overlaps(ranges[b])) {
			t.Fatalf("FindOverlap(%v) = %d, %d: not an overlapping pair a < b", ranges, a, b)
		}
	}
}

func TestFindOverlapIgnoresInvalidRanges(t *testing.T) {
	_, _, ok := FindOverlap([]Range{{}, MustParse("192.0.2.0/24"), {}, MustParse("192.0.3.0/24")})
	if ok {
		t.Error("FindOverlap reported an overlap among disjoint ranges and invalid ones")
	}
	a, b, ok := FindOverlap([]Range{MustParse("192.0.2.0/24"), {}, MustParse("2001:db8::/64"), MustParse("192.0.2.128/25")})
	if !ok || a != 0 || b != 3 {
		t.Errorf("FindOverlap = %d, %d, %v; want 0, 3, true", a, b, ok)
	}
}

func TestPrefixOnlyForExactPrefixes(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" if no prefix
	}{
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"192.0.2.0-192.0.2.127", "192.0.2.0/25"},
		{"192.0.2.128-192.0.3.127", ""},
		{"::/0", "::/0"},
		{"::-::", "::/128"},
		{"::1-::2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, ok := MustParse(tt.in).Prefix()
			got := ""
			if ok {
				got = p.String()
			}
			if got != tt.want {
				t.Errorf("Prefix() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsValidRejectsMalformedRanges(t *testing.T) {
	tests := []struct {
		name string
		r    Range
	}{
		{"zero", Range{}},
		{"mixed families", Range{addr("192.0.2.1"), addr("2001:db8::1")}},
		{"reversed", Range{addr("192.0.2.2"), addr("192.0.2.1")}},
		{"zone", Range{addr("fe80::1%eth0"), addr("fe80::2")}},
		{"IPv4-mapped", Range{addr("::ffff:192.0.2.1"), addr("::ffff:192.0.2.2")}},
		{"half set", Range{First: addr("192.0.2.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.IsValid() || tt.r.Is4() || tt.r.Is6() {
				t.Errorf("%#v reported valid", tt.r)
			}
		})
	}
}
