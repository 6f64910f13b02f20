// Package allocator assigns LoadBalancer addresses from pools to Services, and counts what each
// pool has left.
//
// It owns the choice of address: which pool, which address within it, when an address may be
// shared, and in which order released addresses go back into use. It knows nothing of
// Kubernetes: the caller (internal/k8s, from internal/config) turns a Service into a Request,
// having already decided from namespace and service selectors which pools it may use, and writes
// the resulting Assignment to the Service's status. On start the caller replays existing
// assignments with Restore before assigning anything new, and calls SetPools when pools change.
//
// # Rules
//
//   - Pools: a Service only ever gets addresses of pools listed in Request.EligiblePools. Without
//     requested addresses or a named pool, only pools with AutoAssign are used, by Priority then
//     Name; the first that can serve the whole request wins.
//   - Families: SingleStack takes the first family; RequireDualStack takes both from one pool or
//     fails; PreferDualStack takes both from the first pool that has both, else the first family.
//   - Sharing: two Services hold one address only if both have the same non-empty sharing key,
//     none of their (protocol, port) pairs is the same, and, if either has
//     externalTrafficPolicy Local, both select the same pods.
//   - No immediate reuse: a pool hands out addresses it never handed out before while it has any;
//     then the one released longest ago. This is exact for the last 4096 releases of each pool
//     and family; addresses released before those go first, lowest first. A Service released and
//     assigned again gets its old address back if it is still free and fits; the last 4096
//     released Services are remembered, the oldest forgotten first.
//
// # Complexity
//
// Let A be the number of held addresses, R the number of ranges of all pools, P the number of
// eligible pools of a request and K the number of addresses held under its sharing key. Nothing
// depends on the number of addresses in a pool.
//
//   - Assign, Restore, Release: O(P log P + log R + K log K), amortized, when the address comes
//     from the cursor (never-used addresses) or the release queue; plus O(log n) when it comes
//     from the aged runs, n <= A + R + 4096. The cursor walks each pool's ranges once: an address
//     taken explicitly ahead of it is stepped over once, so one call may step over many, but no
//     address is stepped over twice. Confirming that a held assignment still fits, the common
//     reconcile, is O(P + log R) plus the number of Services sharing its addresses.
//   - Stats: O(1), exact on *big.Int for any pool, ::/0 included.
//   - SetPools: O(A + R log R) plus O(q + n log n) for the q queued releases and n aged runs it
//     carries into pools whose ranges changed.
//   - Memory: O(A + R) plus at most 4096 queued releases per pool and family and 4096 remembered
//     Services, never proportional to the size of a pool: an IPv6 /64 costs what an IPv4 /24 costs.
//     The aged runs stay within the bound because each run is separated from the next by a held
//     address, a queued one or a range boundary. Storage for Services and held addresses grows to
//     the largest number held at once and is reused, not returned.
//
// Measured (BenchmarkAllocate in allocator_bench_test.go, which holds these bounds): one Assign and
// Release costs a microsecond or two whatever the pool (/24, /16, /8, IPv6 /64) and fill (0, 50,
// 99%); the slowest rows are those with millions of Services, where map lookups miss the cache.
// An IPv4 /8 filled to 99%, 16.6 million Services, takes about 150 bytes a Service with its key
// (2.4 GiB of heap) and fills in under half a minute; see store.go for the layout that allows it.
//
// An Allocator is safe for concurrent use.
package allocator
