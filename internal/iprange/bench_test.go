package iprange

import (
	"fmt"
	"net/netip"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"192.0.2.0/24", "192.0.2.10-192.0.2.20", "2001:db8::/64", "2001:db8::1"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSize(b *testing.B) {
	for _, in := range []string{"192.0.2.0/24", "::/0"} {
		r := MustParse(in)
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Size()
			}
		})
	}
}

// BenchmarkCountBuggy shows that the cost does not depend on the size of the range.
func BenchmarkCountBuggy(b *testing.B) {
	for _, in := range []string{"192.0.2.0/30", "10.0.0.0/8", "0.0.0.0/0"} {
		r := MustParse(in)
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = CountBuggy(r)
			}
		})
	}
}

func BenchmarkFindOverlap(b *testing.B) {
	for _, n := range []int{16, 1024} {
		ranges := make([]Range, n)
		for i := range ranges {
			// Disjoint /24s in reverse order, so that the sort does real work.
			j := n - 1 - i
			first := netip.AddrFrom4([4]byte{10, byte(j >> 8), byte(j), 0})
			ranges[i] = prefixRange(netip.PrefixFrom(first, 24))
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := FindOverlap(ranges); ok {
					b.Fatal("unexpected overlap")
				}
			}
		})
	}
}
