package allocator

import (
	"math/big"
	"net/netip"
	"sort"

	"github.com/heraldlb/herald/internal/iprange"
)

// space is one family of one pool: the addresses the pool has in that family, and the state that
// decides which free address goes next. Every usable address of the space that no Service holds
// is in exactly one of three places, tried in this order:
//
//   - fresh: never handed out. A sorted list of ranges consumed from the front, so fresh[0].First
//     is the cursor. Addresses in it may already be held (taken explicitly ahead of the cursor) or
//     queued (taken explicitly and released again): the cursor steps over those once each.
//   - aged: released longer ago than the queue remembers, as maximal runs of consecutive usable
//     addresses in a treap; handed out lowest address first.
//   - queue: the last queueLimit releases, oldest first, so that a released address goes back
//     into use as late as possible.
//
// Nothing here is proportional to the number of addresses in the space: fresh has at most a few
// ranges per configured range, the queue is bounded, and each aged run is separated from the
// next by a held or queued address or a range boundary.
type space struct {
	family Family
	// avoid is set on the IPv4 space of a pool with AvoidBuggyIPs: .0 and .255 are not usable.
	avoid  bool
	ranges []iprange.Range // sorted, disjoint
	size   *big.Int
	buggy  uint64
	inUse  int // usable addresses held by at least one Service
	// aheadHeld counts the held addresses still in fresh or freshBuggy (taken explicitly ahead of
	// the cursor). While it is zero, the cursor need not look addresses up to step over them.
	aheadHeld int

	fresh []iprange.Range
	// freshBuggy holds ranges whose .0 and .255 addresses are fresh although the cursor has passed
	// them: the cursor skipped them while the pool avoided them, and the pool no longer does.
	// Only the buggy addresses in these ranges count; the cursor jumps from one to the next.
	freshBuggy []iprange.Range
	queue      releaseQueue
	aged       runSet
}

func newSpace(f Family, avoid bool, ranges []iprange.Range) *space {
	s := &space{family: f, avoid: avoid && f == IPv4, ranges: ranges, size: new(big.Int)}
	for _, r := range ranges {
		s.size.Add(s.size, r.Size())
		s.buggy += iprange.CountBuggy(r)
	}
	s.fresh = append([]iprange.Range(nil), ranges...)
	return s
}

// usable reports whether the space may hand out a at all.
func (s *space) usable(a netip.Addr) bool { return !s.avoid || !iprange.IsBuggy(a) }

// available is the exact number of usable addresses nobody holds.
func (s *space) available() *big.Int {
	n := new(big.Int).Set(s.size)
	if s.avoid {
		n.Sub(n, new(big.Int).SetUint64(s.buggy))
	}
	return n.Sub(n, big.NewInt(int64(s.inUse)))
}

// search returns the index of the range of rs (sorted, disjoint) that contains a, or -1.
func search(rs []iprange.Range, a netip.Addr) int {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Last.Compare(a) >= 0 })
	if i < len(rs) && rs[i].Contains(a) {
		return i
	}
	return -1
}

func (s *space) contains(a netip.Addr) bool { return search(s.ranges, a) >= 0 }

// inFresh reports whether a is still ahead of the cursor.
func (s *space) inFresh(a netip.Addr) bool {
	return search(s.fresh, a) >= 0 || (iprange.IsBuggy(a) && search(s.freshBuggy, a) >= 0)
}

// nextFresh returns the first fresh address that is usable, unheld and not queued, without
// taking it (take does). Each address is stepped over at most once, so the cost is amortized
// O(1).
func (s *space) nextFresh(held *addrMap) (netip.Addr, bool) {
	for len(s.fresh) > 0 {
		a := s.fresh[0].First
		if s.usable(a) && !s.queue.has(a) && !s.heldAtCursor(held, a) {
			return a, true
		}
		s.advanceFresh()
	}
	for len(s.freshBuggy) > 0 {
		a := s.freshBuggy[0].First
		if iprange.IsBuggy(a) && !s.queue.has(a) && !s.heldAtCursor(held, a) {
			return a, true
		}
		s.advanceFreshBuggy()
	}
	return netip.Addr{}, false
}

// heldAtCursor reports whether a, which the cursor is about to step over, is held.
func (s *space) heldAtCursor(held *addrMap, a netip.Addr) bool {
	if s.aheadHeld == 0 || !held.has(a) {
		return false
	}
	s.aheadHeld--
	return true
}

func (s *space) advanceFresh() {
	r := &s.fresh[0]
	if r.First == r.Last {
		s.fresh = s.fresh[1:]
	} else {
		r.First = r.First.Next()
	}
}

func (s *space) advanceFreshBuggy() {
	r := &s.freshBuggy[0]
	if next, ok := nextBuggy(r.First); ok && next.Compare(r.Last) <= 0 {
		r.First = next
	} else {
		s.freshBuggy = s.freshBuggy[1:]
	}
}

// take records that a, free until now, is held.
func (s *space) take(a netip.Addr) {
	s.inUse++
	s.queue.forget(a)
	s.unage(a)
	switch {
	case len(s.fresh) > 0 && s.fresh[0].First == a:
		s.advanceFresh()
	case len(s.fresh) == 0 && len(s.freshBuggy) > 0 && s.freshBuggy[0].First == a:
		s.advanceFreshBuggy()
	case s.inFresh(a):
		s.aheadHeld++
	}
}

// give records that nobody holds a any more; the caller queues it.
func (s *space) give(a netip.Addr) {
	s.inUse--
	if s.aheadHeld > 0 && s.inFresh(a) {
		s.aheadHeld--
	}
}

// nextBuggy returns the first IPv4 address after a that ends in .0 or .255.
func nextBuggy(a netip.Addr) (netip.Addr, bool) {
	b := a.As4()
	switch b[3] {
	case 255:
		next := a.Next()
		return next, next.IsValid()
	default:
		b[3] = 255
	}
	return netip.AddrFrom4(b), true
}

// neighbours returns the usable addresses just before and just after a within a's range, which
// is how aged runs bridge the .0 and .255 addresses an avoiding pool never hands out.
func (s *space) neighbours(a netip.Addr) (prev, next netip.Addr) {
	i := search(s.ranges, a)
	if i < 0 {
		return netip.Addr{}, netip.Addr{}
	}
	r := s.ranges[i]
	for p := a; p != r.First; {
		p = p.Prev()
		if s.usable(p) {
			prev = p
			break
		}
	}
	for n := a; n != r.Last; {
		n = n.Next()
		if s.usable(n) {
			next = n
			break
		}
	}
	return prev, next
}

// age moves a, just dropped from the queue, to the aged runs. An address still ahead of the
// cursor (taken explicitly, released, and then outlived in the queue) is left to the cursor
// instead, which will treat it as fresh: keeping aged and fresh disjoint keeps the cursor cheap.
func (s *space) age(a netip.Addr) {
	if !s.usable(a) || s.inFresh(a) || !s.contains(a) {
		return
	}
	prev, next := s.neighbours(a)
	s.aged.insert(a, a, prev, next)
}

// unage removes a from the aged runs, if it is there, because it is being held.
func (s *space) unage(a netip.Addr) {
	if s.aged.count == 0 {
		return
	}
	prev, next := s.neighbours(a)
	s.aged.remove(a, prev, next)
}

// addAged adds the run [first, last] of free, used addresses carried over from an earlier
// configuration, trimmed to usable ends.
func (s *space) addAged(r iprange.Range) {
	first, last := r.First, r.Last
	if !s.usable(first) {
		_, first = s.neighbours(first)
	}
	if !s.usable(last) {
		last, _ = s.neighbours(last)
	}
	if !first.IsValid() || !last.IsValid() || first.Compare(last) > 0 {
		return
	}
	prev, _ := s.neighbours(first)
	_, next := s.neighbours(last)
	s.aged.insert(first, last, prev, next)
}

// releaseQueue remembers the order of the most recent releases of a space. Entries are deleted
// lazily: taking a queued address only drops it from live, and the stale entry is skipped when
// it reaches the front or falls off the back.
type releaseQueue struct {
	entries []queued
	head    int
	live    map[netip.Addr]uint64 // address -> sequence number of its live entry
}

type queued struct {
	addr netip.Addr
	seq  uint64
}

func (q *releaseQueue) has(a netip.Addr) bool {
	if len(q.live) == 0 {
		return false
	}
	_, ok := q.live[a]
	return ok
}

func (q *releaseQueue) forget(a netip.Addr) {
	if len(q.live) > 0 {
		delete(q.live, a)
	}
}

// push appends a release. When more than limit entries (live or stale) are queued, the oldest
// falls off; if it was live, it is returned for the aged runs.
func (q *releaseQueue) push(a netip.Addr, seq uint64, limit int) (dropped netip.Addr, ok bool) {
	if q.live == nil {
		q.live = make(map[netip.Addr]uint64)
	}
	q.entries = append(q.entries, queued{a, seq})
	q.live[a] = seq
	if len(q.entries)-q.head <= limit {
		return netip.Addr{}, false
	}
	e := q.entries[q.head]
	q.pop()
	if seq, live := q.live[e.addr]; live && seq == e.seq {
		delete(q.live, e.addr)
		return e.addr, true
	}
	return netip.Addr{}, false
}

// oldest returns the address released longest ago that is still free, without taking it.
func (q *releaseQueue) oldest() (netip.Addr, bool) {
	for q.head < len(q.entries) {
		e := q.entries[q.head]
		if seq, ok := q.live[e.addr]; ok && seq == e.seq {
			return e.addr, true
		}
		q.pop()
	}
	return netip.Addr{}, false
}

func (q *releaseQueue) pop() {
	q.entries[q.head] = queued{}
	q.head++
	// Shift down once the dead prefix is half the slice, so pops stay amortized O(1) and the
	// slice never holds more than twice its live span.
	if q.head == len(q.entries) {
		q.entries, q.head = q.entries[:0], 0
	} else if q.head >= 64 && 2*q.head >= len(q.entries) {
		n := copy(q.entries, q.entries[q.head:])
		clear(q.entries[n:])
		q.entries, q.head = q.entries[:n], 0
	}
}

// liveEntries returns the live entries, oldest first.
func (q *releaseQueue) liveEntries() []queued {
	var out []queued
	for _, e := range q.entries[q.head:] {
		if seq, ok := q.live[e.addr]; ok && seq == e.seq {
			out = append(out, e)
		}
	}
	return out
}
