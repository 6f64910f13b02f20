package allocator

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/heraldlb/herald/internal/iprange"
)

// SetPools replaces the pools, as when IPAddressPools change. If pools are invalid (see New) it
// fails with ErrInvalidPool and changes nothing.
//
// Every assignment that still fits its pool (the pool of that name still exists, contains its
// addresses, and does not avoid them as buggy) is kept exactly; changes of AutoAssign or Priority
// move nothing. The others are released, their addresses remembered as by Release, and their keys
// returned, sorted, for the caller to assign again. A family of a pool whose ranges and
// avoidBuggyIPs did not change keeps its cursor and queues as they were; a changed one keeps what
// it can: addresses handed out before stay out of the fresh addresses, and releases keep their
// order.
//
// Cost: O(assigned) to check assignments, plus O(ranges log ranges + queued + aged runs log aged
// runs) to rebuild changed families, plus O(assigned) again if any family changed, to recount.
func (al *Allocator) SetPools(pools []Pool) (moved []string, err error) {
	if err := validatePools(pools); err != nil {
		return nil, err
	}
	al.mu.Lock()
	defer al.mu.Unlock()

	newPools := make(map[string]*pool, len(pools))
	rebuilt := map[*space]bool{}
	kept := map[*space]bool{}
	var index []indexedRange
	for _, cfg := range pools {
		pl := &pool{name: cfg.Name, autoAssign: cfg.AutoAssign, priority: cfg.Priority}
		var byFamily [2][]iprange.Range
		for _, r := range cfg.Ranges {
			f := familyOf(r.First)
			byFamily[f.slot()] = append(byFamily[f.slot()], r)
		}
		for slot, ranges := range byFamily {
			if len(ranges) == 0 {
				continue
			}
			slices.SortFunc(ranges, iprange.Range.Compare)
			f := IPv4
			if slot == 1 {
				f = IPv6
			}
			s := newSpace(f, cfg.AvoidBuggyIPs, ranges)
			if old := al.pools[cfg.Name]; old != nil && old.spaces[slot] != nil &&
				old.spaces[slot].avoid == s.avoid && slices.Equal(old.spaces[slot].ranges, ranges) {
				s = old.spaces[slot]
				kept[s] = true
			} else {
				rebuilt[s] = true
			}
			pl.spaces[slot] = s
			for _, r := range ranges {
				index = append(index, indexedRange{r: r, pool: pl, space: s})
			}
		}
		newPools[cfg.Name] = pl
	}
	slices.SortFunc(index, func(a, b indexedRange) int { return a.r.Compare(b.r) })

	var retired []*space
	for _, name := range sortedNames(al.pools) {
		for _, s := range al.pools[name].spaces {
			if s != nil && !kept[s] {
				retired = append(retired, s)
			}
		}
	}
	al.pools, al.index = newPools, index

	var stale []*assignment
	for asg := range al.slab.live() {
		pl := newPools[asg.pool.name]
		if pl == nil || !fitsPool(pl, asg) {
			stale = append(stale, asg)
			continue
		}
		asg.pool = pl
	}
	slices.SortFunc(stale, func(a, b *assignment) int { return strings.Compare(a.key, b.key) })

	if len(rebuilt) > 0 {
		al.carryOver(retired, rebuilt)
	}

	// Release what no longer fits. Addresses that land in a rebuilt family are queued only after
	// the recount below, which would otherwise count them twice.
	var freed []netip.Addr
	for _, asg := range stale {
		al.keys.delete(asg.key, &al.slab)
		for _, a := range asg.addresses() {
			if _, s := al.locate(a); s != nil && rebuilt[s] {
				if al.unhold(asg, a, nil) {
					freed = append(freed, a)
				}
			} else {
				al.unhold(asg, a, s)
			}
		}
		al.recent.remember(asg.key, asg.bySlot())
		moved = append(moved, asg.key)
		al.slab.release(asg)
	}
	if len(rebuilt) > 0 {
		for a, id := range al.owner.all() {
			if s := al.slab.at(id).pool.spaces[familyOf(a).slot()]; rebuilt[s] {
				s.inUse++
				if s.inFresh(a) {
					s.aheadHeld++
				}
			}
		}
	}
	for _, a := range freed {
		_, s := al.locate(a)
		al.enqueue(s, a)
	}
	return moved, nil
}

func validatePools(pools []Pool) error {
	seen := make(map[string]bool, len(pools))
	var all []iprange.Range
	var owners []string
	for i, p := range pools {
		switch {
		case p.Name == "":
			return errorf(ErrInvalidPool, "pool %d has no name", i)
		case seen[p.Name]:
			return errorf(ErrInvalidPool, "two pools are named %q", p.Name)
		}
		seen[p.Name] = true
		for _, r := range p.Ranges {
			if !r.IsValid() {
				return errorf(ErrInvalidPool, "pool %q: range %s-%s is invalid; want both ends of one family, without zone, first <= last", p.Name, r.First, r.Last)
			}
			all = append(all, r)
			owners = append(owners, p.Name)
		}
	}
	if a, b, ok := iprange.FindOverlap(all); ok {
		if owners[a] == owners[b] {
			return errorf(ErrInvalidPool, "pool %q: ranges %s and %s overlap", owners[a], all[a], all[b])
		}
		return errorf(ErrInvalidPool, "pools %q and %q overlap: %s (in %q) and %s (in %q)", owners[a], owners[b], all[a], owners[a], all[b], owners[b])
	}
	return nil
}

func fitsPool(pl *pool, asg *assignment) bool {
	for _, a := range asg.addresses() {
		s := pl.spaces[familyOf(a).slot()]
		if s == nil || !s.contains(a) || !s.usable(a) {
			return false
		}
	}
	return true
}

// carryOver gives the rebuilt spaces what the retired ones knew: which addresses were handed out
// before (so they are not fresh), which were released long ago (aged) and in which order the
// recent ones were released (queue). Addresses may have moved between pools.
func (al *Allocator) carryOver(retired []*space, rebuilt map[*space]bool) {
	var used, buggyFresh [2][]iprange.Range
	var queue []queued
	for _, s := range retired {
		slot := s.family.slot()
		behind := subtract(s.ranges, s.fresh)
		used[slot] = append(used[slot], behind...)
		if s.avoid {
			// The cursor stepped over .0 and .255 without handing them out.
			buggyFresh[slot] = append(buggyFresh[slot], behind...)
		} else {
			buggyFresh[slot] = append(buggyFresh[slot], s.freshBuggy...)
		}
		queue = append(queue, s.queue.liveEntries()...)
	}
	for slot := range used {
		slices.SortFunc(used[slot], iprange.Range.Compare)
		slices.SortFunc(buggyFresh[slot], iprange.Range.Compare)
	}
	for s := range rebuilt {
		slot := s.family.slot()
		s.fresh = subtract(s.ranges, used[slot])
		if s.family == IPv4 && !s.avoid {
			s.freshBuggy = intersect(s.ranges, buggyFresh[slot])
		}
	}
	for _, old := range retired {
		old.aged.all(func(first, last netip.Addr) {
			i, _ := slices.BinarySearchFunc(al.index, first, func(e indexedRange, a netip.Addr) int { return e.r.Last.Compare(a) })
			for ; i < len(al.index) && al.index[i].r.First.Compare(last) <= 0; i++ {
				e := al.index[i]
				if !rebuilt[e.space] {
					continue
				}
				e.space.addAged(iprange.Range{
					First: maxAddr(first, e.r.First),
					Last:  minAddr(last, e.r.Last),
				})
			}
		})
	}
	slices.SortFunc(queue, func(a, b queued) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range queue {
		if _, s := al.locate(e.addr); s != nil && rebuilt[s] && s.usable(e.addr) && !al.owner.has(e.addr) {
			if dropped, ok := s.queue.push(e.addr, e.seq, al.queueLimit); ok {
				s.age(dropped)
			}
		}
	}
}

// subtract returns the parts of a outside b; both sorted, disjoint and of one family.
func subtract(a, b []iprange.Range) []iprange.Range {
	var out []iprange.Range
	j := 0
	for _, r := range a {
		for j < len(b) && b[j].Last.Less(r.First) {
			j++
		}
		covered := false
		for k := j; k < len(b) && b[k].First.Compare(r.Last) <= 0; k++ {
			if b[k].First.Compare(r.First) > 0 {
				out = append(out, iprange.Range{First: r.First, Last: b[k].First.Prev()})
			}
			if b[k].Last.Compare(r.Last) >= 0 {
				covered = true
				break
			}
			r.First = b[k].Last.Next()
		}
		if !covered {
			out = append(out, r)
		}
	}
	return out
}

// intersect returns the addresses in both a and b; both sorted, disjoint and of one family.
func intersect(a, b []iprange.Range) []iprange.Range {
	var out []iprange.Range
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := maxAddr(a[i].First, b[j].First), minAddr(a[i].Last, b[j].Last)
		if lo.Compare(hi) <= 0 {
			out = append(out, iprange.Range{First: lo, Last: hi})
		}
		if a[i].Last.Less(b[j].Last) {
			i++
		} else {
			j++
		}
	}
	return out
}

func maxAddr(a, b netip.Addr) netip.Addr {
	if a.Less(b) {
		return b
	}
	return a
}

func minAddr(a, b netip.Addr) netip.Addr {
	if a.Less(b) {
		return a
	}
	return b
}

func sortedNames(pools map[string]*pool) []string {
	names := make([]string, 0, len(pools))
	for name := range pools {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
