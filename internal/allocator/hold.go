package allocator

import (
	"net/netip"
	"slices"
)

// commit records that key holds addrs (by family slot) from pl. free says, by slot, which
// addresses the caller knows nobody holds.
func (al *Allocator) commit(key string, p *plan, pl *pool, addrs [2]netip.Addr, free [2]bool) *assignment {
	asg := al.slab.alloc()
	asg.key, asg.pool, asg.share = key, pl, p.share
	n := 0
	for _, f := range p.families {
		if a := addrs[f.slot()]; a.IsValid() {
			asg.addrs[n] = a
			n++
			al.hold(asg, a, pl.spaces[f.slot()], free[f.slot()])
		}
	}
	al.keys.set(key, asg.id)
	al.recent.forget(key)
	return asg
}

// holdersOf returns every Service holding a.
func (al *Allocator) holdersOf(a netip.Addr) []*assignment {
	if hs, ok := al.sharers[a]; ok {
		return hs
	}
	if id, ok := al.owner.get(a); ok {
		return []*assignment{al.slab.at(id)}
	}
	return nil
}

// hold adds asg as a holder of a, in s. If free is set, the caller knows nobody holds a, which
// saves a lookup in the largest map.
func (al *Allocator) hold(asg *assignment, a netip.Addr, s *space, free bool) {
	if !free {
		if id, ok := al.owner.get(a); ok {
			holders := al.sharers[a]
			if holders == nil {
				holders = []*assignment{al.slab.at(id)}
			}
			al.sharers[a] = append(holders, asg)
			return
		}
	}
	al.owner.set(a, asg.id)
	s.take(a)
	if asg.share != nil {
		al.indexShared(asg.share.key, a)
	}
}

// unhold drops asg as a holder of a. If nobody holds a any more it reports true and, if s is
// set, queues a for reuse in s.
func (al *Allocator) unhold(asg *assignment, a netip.Addr, s *space) bool {
	if holders, ok := al.sharers[a]; ok {
		if i := slices.Index(holders, asg); i >= 0 {
			holders = slices.Delete(holders, i, i+1)
		}
		al.owner.set(a, holders[0].id)
		if len(holders) == 1 {
			delete(al.sharers, a)
		} else {
			al.sharers[a] = holders
		}
		return false
	}
	al.owner.delete(a)
	if asg.share != nil {
		al.unindexShared(asg.share.key, a)
	}
	if s != nil {
		s.give(a)
		al.enqueue(s, a)
	}
	return true
}

func (al *Allocator) enqueue(s *space, a netip.Addr) {
	if !s.usable(a) {
		return
	}
	al.releaseSeq++
	if dropped, ok := s.queue.push(a, al.releaseSeq, al.queueLimit); ok {
		s.age(dropped)
	}
}

func (al *Allocator) release(cur *assignment) {
	al.keys.delete(cur.key, &al.slab)
	for _, a := range cur.addresses() {
		al.unhold(cur, a, cur.pool.spaces[familyOf(a).slot()])
	}
	al.recent.remember(cur.key, cur.bySlot())
	al.slab.release(cur)
}

func (al *Allocator) indexShared(key string, a netip.Addr) {
	if key == "" {
		return
	}
	set := al.shared[key]
	if set == nil {
		set = map[netip.Addr]struct{}{}
		al.shared[key] = set
	}
	set[a] = struct{}{}
}

func (al *Allocator) unindexShared(key string, a netip.Addr) {
	if set := al.shared[key]; set != nil {
		delete(set, a)
		if len(set) == 0 {
			delete(al.shared, key)
		}
	}
}

func poolNames(pools []*pool) string {
	names := make([]string, len(pools))
	for i, pl := range pools {
		names[i] = pl.name
	}
	return quoteAll(names)
}
