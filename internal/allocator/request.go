package allocator

import (
	"net/netip"
	"slices"
)

// plan is a validated request.
type plan struct {
	families []Family
	policy   FamilyPolicy
	explicit [2]netip.Addr // by family slot
	share    *sharing
}

func (p *plan) hasExplicit() bool { return p.explicit[0].IsValid() || p.explicit[1].IsValid() }

// required reports whether the i-th family of the request must be served.
func (p *plan) required(i int) bool { return i == 0 || p.policy == RequireDualStack }

func parseRequest(req *Request) (plan, error) {
	p := plan{families: req.Families, policy: req.FamilyPolicy}
	if req.Key == "" {
		return p, errorf(ErrInvalidRequest, "request has no key")
	}
	switch n := len(req.Families); {
	case n == 0 || n > 2:
		return p, errorf(ErrInvalidRequest, "%s: asks for %d IP families; want 1 or 2", req.Key, n)
	case n == 2 && req.Families[0] == req.Families[1]:
		return p, errorf(ErrInvalidRequest, "%s: asks for %s twice", req.Key, req.Families[0])
	}
	for _, f := range req.Families {
		if f != IPv4 && f != IPv6 {
			return p, errorf(ErrInvalidRequest, "%s: unknown IP family %s", req.Key, f)
		}
	}
	switch {
	case req.FamilyPolicy > RequireDualStack:
		return p, errorf(ErrInvalidRequest, "%s: unknown family policy %s", req.Key, req.FamilyPolicy)
	case req.FamilyPolicy == SingleStack && len(req.Families) == 2:
		return p, errorf(ErrInvalidRequest, "%s: SingleStack with two IP families", req.Key)
	case req.FamilyPolicy == RequireDualStack && len(req.Families) == 1:
		return p, errorf(ErrInvalidRequest, "%s: RequireDualStack needs two IP families, got %s", req.Key, req.Families[0])
	}
	for _, a := range req.Addresses {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			return p, errorf(ErrInvalidRequest, "%s: requested address %q is not a plain IPv4 or IPv6 address", req.Key, a.String())
		}
		f := familyOf(a)
		if !slices.Contains(req.Families, f) {
			return p, errorf(ErrInvalidRequest, "%s: requested address %s is %s, but the Service's IP families are %v", req.Key, a, f, req.Families)
		}
		if prev := p.explicit[f.slot()]; prev.IsValid() {
			return p, errorf(ErrInvalidRequest, "%s: requests two %s addresses, %s and %s; at most one per family", req.Key, f, prev, a)
		}
		p.explicit[f.slot()] = a
	}
	if req.SharingKey != "" {
		p.share = &sharing{key: req.SharingKey, ports: slices.Clone(req.Ports), local: req.LocalTrafficSelector}
	}
	return p, nil
}

// checkHolding reports whether req's Service may hold addrs: all in one eligible pool (the
// requested one, if named), usable, of the families its policy allows, including every requested
// address, and shareable with their other holders. It returns the pool and addrs by family slot.
func (al *Allocator) checkHolding(req *Request, p *plan, addrs []netip.Addr) (*pool, [2]netip.Addr, error) {
	var bySlot [2]netip.Addr
	var pl *pool
	if len(addrs) == 0 || len(addrs) > 2 {
		return nil, bySlot, errorf(ErrInvalidRequest, "%s: %d addresses; want 1 or 2", req.Key, len(addrs))
	}
	for _, a := range addrs {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			return nil, bySlot, errorf(ErrInvalidRequest, "%s: %q is not a plain IPv4 or IPv6 address", req.Key, a.String())
		}
		slot := familyOf(a).slot()
		if bySlot[slot].IsValid() {
			return nil, bySlot, errorf(ErrRequestMismatch, "%s: two %s addresses, %s and %s", req.Key, familyOf(a), bySlot[slot], a)
		}
		bySlot[slot] = a
		owner, err := al.poolFor(req, a, pl)
		if err != nil {
			return nil, bySlot, err
		}
		pl = owner
		if err := al.mayHold(req.Key, p.share, a); err != nil {
			return nil, bySlot, err
		}
	}
	for i, f := range p.families {
		if p.required(i) && !bySlot[f.slot()].IsValid() {
			return nil, bySlot, errorf(ErrRequestMismatch, "%s: holds no %s address, which %s with families %v needs", req.Key, f, p.policy, p.families)
		}
	}
	for _, a := range addrs {
		if !slices.Contains(p.families, familyOf(a)) {
			return nil, bySlot, errorf(ErrRequestMismatch, "%s: holds %s, but its IP families are %v", req.Key, a, p.families)
		}
	}
	for _, want := range p.explicit {
		if want.IsValid() && bySlot[familyOf(want).slot()] != want {
			return nil, bySlot, errorf(ErrRequestMismatch, "%s: holds %v, not the requested %s", req.Key, addrs, want)
		}
	}
	return pl, bySlot, nil
}

// poolFor returns the pool of a, checking that req may take a from it and, if samePool is set,
// that it is that pool.
func (al *Allocator) poolFor(req *Request, a netip.Addr, samePool *pool) (*pool, error) {
	pl, s := al.locate(a)
	switch {
	case pl == nil:
		return nil, errorf(ErrAddressNotInPool, "address %s is not in any pool", a)
	case req.Pool != "" && pl.name != req.Pool:
		return nil, errorf(ErrAddressNotInPool, "address %s is in pool %q, not in the requested pool %q", a, pl.name, req.Pool)
	case !slices.Contains(req.EligiblePools, pl.name):
		return nil, errorf(ErrAddressNotInPool, "address %s is in pool %q, which %s may not use", a, pl.name, req.Key)
	case samePool != nil && samePool != pl:
		return nil, errorf(ErrInvalidRequest, "%s: addresses from two pools, %q and %q; a Service's addresses must come from one pool", req.Key, samePool.name, pl.name)
	case !s.usable(a):
		return nil, errorf(ErrBuggyAddress, "address %s ends in .0 or .255, which pool %q avoids (avoidBuggyIPs)", a, pl.name)
	}
	return pl, nil
}

// mayHold returns an ErrAddressInUse error if a Service key with share may not hold a alongside
// its current holders (other than key itself).
func (al *Allocator) mayHold(key string, share *sharing, a netip.Addr) error {
	for _, h := range al.holdersOf(a) {
		if h.key == key {
			continue
		}
		if why := sharingConflict(h.share, share); why != "" {
			return errorf(ErrAddressInUse, "address %s is in use by %s, which does not share it (%s)", a, h.key, why)
		}
	}
	return nil
}

// keep updates a fitting assignment to the request: family order and sharing terms.
func (al *Allocator) keep(cur *assignment, p *plan) {
	if cur.addrs[1].IsValid() && familyOf(cur.addrs[0]) != p.families[0] {
		cur.addrs[0], cur.addrs[1] = cur.addrs[1], cur.addrs[0]
	}
	if oldKey, newKey := cur.share.sharingKey(), p.share.sharingKey(); oldKey != newKey {
		// checkHolding allowed the new key, so cur is the only holder of its addresses.
		for _, a := range cur.addresses() {
			al.unindexShared(oldKey, a)
			al.indexShared(newKey, a)
		}
	}
	cur.share = p.share
}
