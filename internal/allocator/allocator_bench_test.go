package allocator

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/iprange"
)

// churnKeys are the keys the benchmarks assign and release. There are more of them than
// defaultKeyMemory, so a key is forgotten by the time it comes round again and every Assign
// takes the ordinary path, not the "your old address back" one.
var churnKeys = func() []string {
	keys := make([]string, 2*defaultKeyMemory)
	for i := range keys {
		keys[i] = "bench/churn-" + strconv.Itoa(i)
	}
	return keys
}()

type benchPool struct {
	name   string
	r      iprange.Range
	family Family
}

var benchPools = []benchPool{
	{"/24", iprange.MustParse("10.0.0.0/24"), IPv4},
	{"/16", iprange.MustParse("10.0.0.0/16"), IPv4},
	{"/8", iprange.MustParse("10.0.0.0/8"), IPv4},
	{"v6-/64", iprange.MustParse("2001:db8::/64"), IPv6},
}

// fill assigns n new Services, one address each, and returns the heap in use afterwards.
func fill(b *testing.B, al *Allocator, family Family, n int) uint64 {
	b.Helper()
	start := time.Now()
	req := Request{Families: []Family{family}, EligiblePools: []string{"bench"}}
	for i := range n {
		req.Key = "bench/fill-" + strconv.Itoa(i)
		if _, err := al.Assign(req); err != nil {
			b.Fatalf("filling, Service %d: %v", i, err)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("filled %d Services in %v; heap %d MiB", n, time.Since(start).Round(time.Millisecond), ms.HeapAlloc>>20)
	return ms.HeapAlloc
}

// churn assigns a new Service and releases it once per iteration, so the fill level stays put.
func churn(b *testing.B, al *Allocator, family Family) {
	b.Helper()
	req := Request{Families: []Family{family}, EligiblePools: []string{"bench"}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.Key = churnKeys[i%len(churnKeys)]
		i++
		if _, err := al.Assign(req); err != nil {
			b.Fatal(err)
		}
		al.Release(req.Key)
	}
}

// BenchmarkAllocate measures one Assign plus one Release of a new Service in a pool already
// filled to the given percentage. The complexity contract in the package doc says the cost must
// not depend on the pool's size or fill; compare the rows.
//
// For the IPv4 pools, fill=N means N% of the pool's addresses are held by as many Services, handed
// out by Assign. At fill=99 the cursor soon runs out and the allocations come from released
// addresses, as they would in a nearly full pool.
//
// For v6-/64, N% of 2^64 addresses cannot be held. There, fill=N means: as many Services are held
// as in the /16 at fill=N (so the maps are as large), and the cursor is then moved to N% of the
// /64, the state it would reach after handing out that share of the pool; the addresses behind it
// count as released long ago and forgotten. Reaching that state by allocation would take 2^63
// Assigns; the cost of an allocation does not depend on where the cursor is.
//
// The heap-MiB metric is the live heap after filling, which the memory contract says depends on
// the number of Services held, never on the pool size.
func BenchmarkAllocate(b *testing.B) {
	for _, bp := range benchPools {
		for _, pct := range []int{0, 50, 99} {
			b.Run(fmt.Sprintf("pool=%s/fill=%d", bp.name, pct), func(b *testing.B) {
				al := newAllocator(b, Pool{Name: "bench", Ranges: []iprange.Range{bp.r}, AutoAssign: true})
				var heap uint64
				if bp.family == IPv4 {
					n := new(big.Int).Div(new(big.Int).Mul(bp.r.Size(), big.NewInt(int64(pct))), big.NewInt(100))
					heap = fill(b, al, bp.family, int(n.Int64()))
				} else {
					heap = fill(b, al, bp.family, 65536*pct/100)
					moveCursor(al.pools["bench"].spaces[1], pct)
				}
				churn(b, al, bp.family)
				b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			})
		}
	}
}

// moveCursor moves the IPv6 cursor of s to pct% of its single range.
func moveCursor(s *space, pct int) {
	r := s.ranges[0]
	offset := new(big.Int).Div(new(big.Int).Mul(r.Size(), big.NewInt(int64(pct))), big.NewInt(100))
	first := r.First.As16()
	sum := new(big.Int).Add(new(big.Int).SetBytes(first[:]), offset)
	var b [16]byte
	sum.FillBytes(b[:])
	if to := netip.AddrFrom16(b); to.Compare(s.fresh[0].First) > 0 {
		s.fresh[0].First = to
	}
}

// BenchmarkAllocateFromReleased measures allocation once the cursor is exhausted and only
// released addresses are left: from the release queue (a /24 with 128 released, all remembered
// in order) and from the aged runs (a /16 with half its addresses released in random order, most
// of them beyond the queue's bound).
func BenchmarkAllocateFromReleased(b *testing.B) {
	cases := []struct {
		name     string
		r        iprange.Range
		released int
	}{
		{"pool=/24/from=queue", iprange.MustParse("10.0.0.0/24"), 128},
		{"pool=/16/from=aged", iprange.MustParse("10.0.0.0/16"), 32768},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			al := newAllocator(b, Pool{Name: "bench", Ranges: []iprange.Range{tc.r}, AutoAssign: true})
			size := int(tc.r.Size().Int64())
			fill(b, al, IPv4, size)
			rng := rand.New(rand.NewPCG(1, 2))
			for _, i := range rng.Perm(size)[:tc.released] {
				al.Release("bench/fill-" + strconv.Itoa(i))
			}
			s := al.pools["bench"].spaces[0]
			b.Logf("released %d: %d queued, %d aged runs", tc.released, len(s.queue.live), s.aged.count)
			churn(b, al, IPv4)
		})
	}
}

// BenchmarkAssignIdempotent measures the common reconcile: the Service already holds a fitting
// address.
func BenchmarkAssignIdempotent(b *testing.B) {
	al := newAllocator(b, Pool{Name: "bench", Ranges: []iprange.Range{iprange.MustParse("10.0.0.0/16")}, AutoAssign: true})
	fill(b, al, IPv4, 1000)
	req := Request{Key: "bench/fill-500", Families: []Family{IPv4}, EligiblePools: []string{"bench"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := al.Assign(req); err != nil {
			b.Fatal(err)
		}
	}
}
