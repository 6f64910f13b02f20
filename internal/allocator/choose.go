package allocator

import (
	"cmp"
	"net/netip"
	"slices"
)

// candidates returns the pools an auto-assignment for req may use, in the order to try them.
func (al *Allocator) candidates(req *Request) ([]*pool, error) {
	if req.Pool != "" {
		pl := al.pools[req.Pool]
		switch {
		case pl == nil:
			return nil, errorf(ErrUnknownPool, "pool %q does not exist", req.Pool)
		case !slices.Contains(req.EligiblePools, req.Pool):
			return nil, errorf(ErrNoEligiblePool, "pool %q was asked for, but %s may not use it", req.Pool, req.Key)
		}
		return []*pool{pl}, nil
	}
	var pools []*pool
	var known []string
	for _, name := range req.EligiblePools {
		pl := al.pools[name]
		if pl == nil || slices.Contains(pools, pl) {
			continue
		}
		known = append(known, name)
		if pl.autoAssign {
			pools = append(pools, pl)
		}
	}
	if len(pools) == 0 {
		if len(known) == 0 {
			return nil, errorf(ErrNoEligiblePool, "no pool is eligible for %s", req.Key)
		}
		slices.Sort(known)
		return nil, errorf(ErrNoEligiblePool, "no pool eligible for %s has autoAssign enabled (eligible: %s); ask for one by name", req.Key, quoteAll(known))
	}
	slices.SortFunc(pools, func(a, b *pool) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), cmp.Compare(a.name, b.name))
	})
	return pools, nil
}

func (al *Allocator) allocate(req *Request, p *plan) (*assignment, error) {
	if p.hasExplicit() {
		return al.allocateExplicit(req, p)
	}
	pools, err := al.candidates(req)
	if err != nil {
		return nil, err
	}
	prev := al.recent.lookup(req.Key)
	for _, a := range prev {
		if prevPool, _ := al.locate(a); prevPool != nil {
			if i := slices.Index(pools, prevPool); i > 0 {
				copy(pools[1:i+1], pools[:i])
				pools[0] = prevPool
			}
			break
		}
	}
	var short shortage
	if len(p.families) == 2 && p.policy != SingleStack {
		hasBoth := false
		for _, pl := range pools {
			if pl.spaces[0] == nil || pl.spaces[1] == nil {
				continue
			}
			hasBoth = true
			if addrs, free, ok := al.pickAll(req, p, pl, prev, p.families, &short); ok {
				return al.commit(req.Key, p, pl, addrs, free), nil
			}
		}
		if p.policy == RequireDualStack {
			if !hasBoth {
				return nil, errorf(ErrFamilyUnavailable, "no pool eligible for %s has both IPv4 and IPv6 addresses (tried %s)", req.Key, poolNames(pools))
			}
			return nil, short.err()
		}
	}
	hasFamily := false
	for _, pl := range pools {
		if pl.spaces[p.families[0].slot()] == nil {
			continue
		}
		hasFamily = true
		if addrs, free, ok := al.pickAll(req, p, pl, prev, p.families[:1], &short); ok {
			return al.commit(req.Key, p, pl, addrs, free), nil
		}
	}
	if !hasFamily {
		return nil, errorf(ErrFamilyUnavailable, "no pool eligible for %s has %s addresses (tried %s)", req.Key, p.families[0], poolNames(pools))
	}
	return nil, short.err()
}

// pickAll picks one address of each of families from pl, or reports why not in short. free
// says, by slot, which picked addresses nobody holds.
func (al *Allocator) pickAll(req *Request, p *plan, pl *pool, prev [2]netip.Addr, families []Family, short *shortage) (addrs [2]netip.Addr, free [2]bool, ok bool) {
	for _, f := range families {
		a, shared, ok := al.pick(pl.spaces[f.slot()], req.Key, p.share, prev[f.slot()], short)
		if !ok {
			short.noFree(pl.name, f)
			return addrs, free, false
		}
		addrs[f.slot()], free[f.slot()] = a, !shared
	}
	return addrs, free, true
}

// pick chooses, without taking it, the address a Service should get from s, and says whether it
// is one already held, to be shared.
func (al *Allocator) pick(s *space, key string, share *sharing, prev netip.Addr, short *shortage) (a netip.Addr, shared, ok bool) {
	if share != nil {
		if a, ok := al.pickShared(s, key, share, short); ok {
			return a, true, true
		}
	}
	if prev.IsValid() && s.contains(prev) && s.usable(prev) && !al.owner.has(prev) {
		return prev, false, true
	}
	if a, ok := s.nextFresh(&al.owner); ok {
		return a, false, true
	}
	if a, ok := s.aged.min(); ok {
		return a, false, true
	}
	a, ok = s.queue.oldest()
	return a, false, ok
}

// pickShared returns the lowest address of s held under share's key that the Service may share.
// Its cost is proportional to the number of addresses held under that key.
func (al *Allocator) pickShared(s *space, key string, share *sharing, short *shortage) (netip.Addr, bool) {
	var candidates []netip.Addr
	for a := range al.shared[share.key] {
		if s.contains(a) {
			candidates = append(candidates, a)
		}
	}
	slices.SortFunc(candidates, netip.Addr.Compare)
	for _, a := range candidates {
		err := al.mayHold(key, share, a)
		if err == nil {
			return a, true
		}
		short.conflict(err.Error())
	}
	return netip.Addr{}, false
}

func (al *Allocator) allocateExplicit(req *Request, p *plan) (*assignment, error) {
	var pl *pool
	for _, a := range p.explicit {
		if !a.IsValid() {
			continue
		}
		owner, err := al.poolFor(req, a, pl)
		if err != nil {
			return nil, err
		}
		pl = owner
		if err := al.mayHold(req.Key, p.share, a); err != nil {
			return nil, err
		}
	}
	addrs := p.explicit
	prev := al.recent.lookup(req.Key)
	for i, f := range p.families {
		if addrs[f.slot()].IsValid() {
			continue
		}
		s := pl.spaces[f.slot()]
		if s == nil {
			if p.required(i) {
				return nil, errorf(ErrFamilyUnavailable, "pool %q of the requested address has no %s addresses, which %s needs", pl.name, f, req.Key)
			}
			continue
		}
		var short shortage
		a, _, ok := al.pick(s, req.Key, p.share, prev[f.slot()], &short)
		if !ok {
			if p.required(i) {
				short.noFree(pl.name, f)
				return nil, short.err()
			}
			continue
		}
		addrs[f.slot()] = a
	}
	// The other family's address may be shared too, so no address is known to be free.
	return al.commit(req.Key, p, pl, addrs, [2]bool{}), nil
}
