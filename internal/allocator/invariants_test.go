package allocator

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"

	"github.com/heraldlb/herald/internal/iprange"
)

// checkInvariants verifies the allocator's internal consistency by brute force. Spaces of more
// than bruteForceLimit addresses are only checked in their bookkeeping, not address by address.
func (al *Allocator) checkInvariants() error {
	const bruteForceLimit = 1 << 12
	live := 0
	for asg := range al.slab.live() {
		live++
		key := asg.key
		if al.slab.at(asg.id) != asg {
			return fmt.Errorf("%s: assignment is not at its id %d in the slab", key, asg.id)
		}
		if got, ok := al.keys.get(key, &al.slab); !ok || got != asg {
			return fmt.Errorf("%s: key index does not lead to its assignment", key)
		}
		if al.pools[asg.pool.name] != asg.pool {
			return fmt.Errorf("%s: assignment points to a pool %q that is not current", key, asg.pool.name)
		}
		if !asg.addrs[0].IsValid() {
			return fmt.Errorf("%s: assignment without address", key)
		}
		if asg.share != nil && asg.share.key == "" {
			return fmt.Errorf("%s: sharing terms with an empty key", key)
		}
		for _, a := range asg.addresses() {
			s := asg.pool.spaces[familyOf(a).slot()]
			if s == nil || !s.contains(a) {
				return fmt.Errorf("%s: holds %s outside its pool %q", key, a, asg.pool.name)
			}
			if !s.usable(a) {
				return fmt.Errorf("%s: holds %s, which pool %q avoids", key, a, asg.pool.name)
			}
			if !slices.Contains(al.holdersOf(a), asg) {
				return fmt.Errorf("%s: holds %s but is not among its holders", key, a)
			}
		}
	}
	if live != al.keys.len() {
		return fmt.Errorf("%d assignments, %d keys indexed", live, al.keys.len())
	}
	for _, id := range al.slab.free {
		if al.slab.at(id).key != "" {
			return fmt.Errorf("free slab record %d is in use by %s", id, al.slab.at(id).key)
		}
	}
	sharedSeen := map[string]int{}
	for a, id := range al.owner.all() {
		first := al.slab.at(id)
		holders := al.holdersOf(a)
		if hs, ok := al.sharers[a]; ok && (len(hs) < 2 || !slices.Contains(hs, first)) {
			return fmt.Errorf("%s: sharers %d, owner among them: %v", a, len(hs), slices.Contains(hs, first))
		}
		for i, h := range holders {
			if got, ok := al.keys.get(h.key, &al.slab); !ok || got != h {
				return fmt.Errorf("%s: held by %s, which is not assigned", a, h.key)
			}
			if !slices.Contains(h.addresses(), a) {
				return fmt.Errorf("%s: held by %s, which does not hold it", a, h.key)
			}
			for _, other := range holders[i+1:] {
				if why := sharingConflict(h.share, other.share); why != "" {
					return fmt.Errorf("%s: held by %s and %s, which may not share (%s)", a, h.key, other.key, why)
				}
			}
		}
		if k := first.share.sharingKey(); k != "" {
			if _, ok := al.shared[k][a]; !ok {
				return fmt.Errorf("%s: held under key %q but not indexed", a, k)
			}
			sharedSeen[k]++
		}
	}
	for a := range al.sharers {
		if !al.owner.has(a) {
			return fmt.Errorf("%s: sharers without owner", a)
		}
	}
	for k, set := range al.shared {
		if len(set) != sharedSeen[k] {
			return fmt.Errorf("sharing key %q indexes %d addresses, %d are held under it", k, len(set), sharedSeen[k])
		}
	}
	for _, name := range sortedNames(al.pools) {
		for _, s := range al.pools[name].spaces {
			if s == nil {
				continue
			}
			if err := al.checkSpace(s, s.size.Cmp(big.NewInt(bruteForceLimit)) <= 0); err != nil {
				return fmt.Errorf("pool %q %s: %w", name, s.family, err)
			}
		}
	}
	return nil
}

func (al *Allocator) checkSpace(s *space, bruteForce bool) error {
	if s.inUse < 0 {
		return fmt.Errorf("inUse %d", s.inUse)
	}
	if s.available().Sign() < 0 {
		return fmt.Errorf("available %v", s.available())
	}
	for _, e := range s.queue.liveEntries() {
		if al.owner.has(e.addr) || !s.contains(e.addr) || !s.usable(e.addr) {
			return fmt.Errorf("queued %s is held, outside or unusable", e.addr)
		}
		if s.aged.contains(e.addr) {
			return fmt.Errorf("queued %s is also aged", e.addr)
		}
	}
	if len(s.queue.entries)-s.queue.head > al.queueLimit {
		return fmt.Errorf("queue holds %d entries, limit %d", len(s.queue.entries)-s.queue.head, al.queueLimit)
	}
	runs := 0
	var prevLast netip.Addr
	var err error
	s.aged.all(func(first, last netip.Addr) {
		runs++
		switch {
		case err != nil:
		case first.Compare(last) > 0:
			err = fmt.Errorf("aged run %s-%s is reversed", first, last)
		case prevLast.IsValid() && first.Compare(prevLast) <= 0:
			err = fmt.Errorf("aged run %s-%s overlaps or is out of order after %s", first, last, prevLast)
		case prevLast.IsValid() && func() bool { _, next := s.neighbours(prevLast); return next == first }():
			// Unmerged neighbours would let the number of runs grow past the bound in the doc.
			err = fmt.Errorf("aged run %s-%s follows the run ending %s without a gap", first, last, prevLast)
		case !s.usable(first) || !s.usable(last):
			err = fmt.Errorf("aged run %s-%s has an unusable end", first, last)
		case search(s.ranges, first) < 0 || search(s.ranges, first) != search(s.ranges, last):
			err = fmt.Errorf("aged run %s-%s is not inside one range", first, last)
		}
		prevLast = last
		if err == nil && bruteForce {
			for a := range (iprange.Range{First: first, Last: last}).All() {
				if !s.usable(a) {
					continue
				}
				if al.owner.has(a) {
					err = fmt.Errorf("aged %s is held", a)
				} else if search(s.fresh, a) >= 0 {
					// Overlap with freshBuggy is allowed: a run carried from a pool that avoided
					// .0 and .255 spans them, and both places hand them out safely.
					err = fmt.Errorf("aged %s is also fresh", a)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	if runs != s.aged.count {
		return fmt.Errorf("aged has %d runs, counts %d", runs, s.aged.count)
	}
	ahead := 0
	for a := range al.owner.all() {
		if s.contains(a) && s.inFresh(a) {
			ahead++
		}
	}
	if ahead != s.aheadHeld {
		return fmt.Errorf("aheadHeld %d, but %d held addresses are ahead of the cursor", s.aheadHeld, ahead)
	}
	if !bruteForce {
		return nil
	}
	held := 0
	for _, r := range s.ranges {
		for a := range r.All() {
			if !s.usable(a) {
				continue
			}
			if al.owner.has(a) {
				held++
				continue
			}
			if !s.inFresh(a) && !s.queue.has(a) && !s.aged.contains(a) {
				return fmt.Errorf("free %s is in none of fresh, queue and aged: no one could ever get it", a)
			}
		}
	}
	if held != s.inUse {
		return fmt.Errorf("inUse %d, brute force counts %d held", s.inUse, held)
	}
	return nil
}

// bruteStats recounts a pool's stats address by address.
func bruteStats(pl Pool, holds func(netip.Addr) bool) PoolStats {
	st := PoolStats{AvailableV4: new(big.Int), AvailableV6: new(big.Int)}
	for _, r := range pl.Ranges {
		for a := range r.All() {
			if pl.AvoidBuggyIPs && iprange.IsBuggy(a) {
				continue
			}
			switch {
			case holds(a) && a.Is4():
				st.AssignedV4++
			case holds(a):
				st.AssignedV6++
			case a.Is4():
				st.AvailableV4.Add(st.AvailableV4, big.NewInt(1))
			default:
				st.AvailableV6.Add(st.AvailableV6, big.NewInt(1))
			}
		}
	}
	return st
}
