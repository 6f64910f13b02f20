package allocator

import (
	"math/big"
	"net/netip"
	"slices"
	"sort"
	"sync"

	"github.com/heraldlb/herald/internal/iprange"
)

const (
	// defaultQueueLimit bounds each space's release queue. Within the last 4096 releases of a
	// pool's family, addresses go back into use in release order; anything released earlier goes
	// back before them, lowest address first. A /20 or smaller pool never exceeds it.
	defaultQueueLimit = 4096
	// defaultKeyMemory bounds how many released Services remember their addresses, oldest
	// forgotten first: about 320 KiB at most.
	defaultKeyMemory = 4096
)

// Allocator assigns addresses from pools to Services. It is safe for concurrent use; every method
// runs under one mutex, which is never held across anything but memory operations.
type Allocator struct {
	mu    sync.Mutex
	pools map[string]*pool
	index []indexedRange // every range of every pool, sorted, to find an address's pool

	keys keyIndex // Service key -> slab id
	slab assignments
	// owner maps each held address to one of its holders; sharers lists all holders of the few
	// addresses that have more than one, so that the common case costs one map entry.
	owner   addrMap
	sharers map[netip.Addr][]*assignment
	// shared maps a sharing key to the addresses held under it, to find an address to share.
	shared map[string]map[netip.Addr]struct{}

	recent     keyMemory
	releaseSeq uint64
	queueLimit int
}

type pool struct {
	name       string
	autoAssign bool
	priority   int
	spaces     [2]*space // by family slot; nil when the pool has no range of that family
}

type indexedRange struct {
	r     iprange.Range
	pool  *pool
	space *space
}

// assignment is what one Service holds. It is kept small, because there is one per Service.
type assignment struct {
	id    int32 // in the slab
	key   string
	pool  *pool
	addrs [2]netip.Addr // in the order of the request's families; addrs[1] invalid if single
	share *sharing      // nil unless the Service has a sharing key
}

type sharing struct {
	key   string
	ports []Port
	local string
}

func (s *sharing) sharingKey() string {
	if s == nil {
		return ""
	}
	return s.key
}

func (a *assignment) addresses() []netip.Addr {
	if a.addrs[1].IsValid() {
		return a.addrs[:]
	}
	return a.addrs[:1]
}

func (a *assignment) public() Assignment {
	return Assignment{Pool: a.pool.name, Addresses: slices.Clone(a.addresses())}
}

func (a *assignment) bySlot() [2]netip.Addr {
	var out [2]netip.Addr
	for _, addr := range a.addresses() {
		out[familyOf(addr).slot()] = addr
	}
	return out
}

// New returns an allocator serving pools. It fails with ErrInvalidPool if a pool has no name or
// an invalid range, if two pools share a name, or if any two ranges overlap.
func New(pools []Pool) (*Allocator, error) {
	al := &Allocator{
		pools:      map[string]*pool{},
		keys:       newKeyIndex(),
		sharers:    map[netip.Addr][]*assignment{},
		shared:     map[string]map[netip.Addr]struct{}{},
		recent:     newKeyMemory(defaultKeyMemory),
		queueLimit: defaultQueueLimit,
	}
	if _, err := al.SetPools(pools); err != nil {
		return nil, err
	}
	return al, nil
}

// Assign gives the Service req.Key its addresses.
//
// If the Service already holds addresses that still fit the request (eligible pool, the named
// pool if any, the requested addresses, the families its policy allows, and sharing rules with
// the other holders), Assign returns them unchanged. A PreferDualStack Service that holds only its
// first family keeps it: Assign never moves a working address to add a family.
//
// Otherwise the old addresses are released and new ones chosen, in one step under the lock. If
// that fails, the Service is left with nothing and the error says why; its old addresses are
// remembered, so a later Assign gets them back if they are still free and fit. A malformed request
// (ErrInvalidRequest) is rejected before anything is released, and changes nothing.
//
// Choosing: requested addresses are taken as given. Otherwise the candidate pools are req.Pool
// alone or the eligible pools with AutoAssign, by Priority then Name, with the pool of the
// Service's remembered addresses first; the first pool that can serve the request wins. Within a
// pool, a family's address is, in order of preference: an address already held under the same
// sharing key that the Service may share; its remembered address; a never-used address; the
// address released longest ago.
func (al *Allocator) Assign(req Request) (Assignment, error) {
	p, err := parseRequest(&req)
	if err != nil {
		return Assignment{}, err
	}
	al.mu.Lock()
	defer al.mu.Unlock()
	if p.explicit[0].IsValid() && p.explicit[1].IsValid() {
		// Checked before anything is released, like the rest of the request's form.
		if pl0, _ := al.locate(p.explicit[0]); pl0 != nil {
			if pl1, _ := al.locate(p.explicit[1]); pl1 != nil && pl1 != pl0 {
				return Assignment{}, errorf(ErrInvalidRequest, "%s: requested addresses %s and %s are in two pools, %q and %q; a Service's addresses must come from one pool",
					req.Key, p.explicit[0], p.explicit[1], pl0.name, pl1.name)
			}
		}
	}
	if cur, ok := al.keys.get(req.Key, &al.slab); ok {
		if _, _, err := al.checkHolding(&req, &p, cur.addresses()); err == nil {
			al.keep(cur, &p)
			return cur.public(), nil
		}
		al.release(cur)
	}
	asg, err := al.allocate(&req, &p)
	if err != nil {
		return Assignment{}, err
	}
	return asg.public(), nil
}

// Restore records that Service key holds addrs, as found in its status when the controller
// starts. It never searches and never moves an address: it fails, changing nothing, if addrs do
// not fit req (outside the eligible pools, families the policy does not allow, a requested
// address missing, an avoided .0/.255 address) or if a Service that may not share them holds
// them. If key already holds other addresses, they are released on success.
func (al *Allocator) Restore(key string, req Request, addrs []netip.Addr) (Assignment, error) {
	if req.Key != "" && req.Key != key {
		return Assignment{}, errorf(ErrInvalidRequest, "restore %s with a request for %s", key, req.Key)
	}
	req.Key = key
	p, err := parseRequest(&req)
	if err != nil {
		return Assignment{}, err
	}
	al.mu.Lock()
	defer al.mu.Unlock()
	pl, bySlot, err := al.checkHolding(&req, &p, addrs)
	if err != nil {
		return Assignment{}, err
	}
	if cur, ok := al.keys.get(key, &al.slab); ok {
		if cur.bySlot() == bySlot {
			al.keep(cur, &p)
			return cur.public(), nil
		}
		al.release(cur)
	}
	return al.commit(key, &p, pl, bySlot, [2]bool{}).public(), nil
}

// Release frees whatever key holds. Its addresses are remembered for key (see Assign) and go to
// the back of their pool's release queue. Releasing a key that holds nothing does nothing.
func (al *Allocator) Release(key string) {
	al.mu.Lock()
	defer al.mu.Unlock()
	if cur, ok := al.keys.get(key, &al.slab); ok {
		al.release(cur)
	}
}

// Lookup returns what key holds.
func (al *Allocator) Lookup(key string) (Assignment, bool) {
	al.mu.Lock()
	defer al.mu.Unlock()
	cur, ok := al.keys.get(key, &al.slab)
	if !ok {
		return Assignment{}, false
	}
	return cur.public(), true
}

// Stats counts the addresses of pool name. It fails with ErrUnknownPool.
func (al *Allocator) Stats(name string) (PoolStats, error) {
	al.mu.Lock()
	defer al.mu.Unlock()
	pl := al.pools[name]
	if pl == nil {
		return PoolStats{}, errorf(ErrUnknownPool, "pool %q does not exist", name)
	}
	st := PoolStats{AvailableV4: new(big.Int), AvailableV6: new(big.Int)}
	if s := pl.spaces[0]; s != nil {
		st.AssignedV4, st.AvailableV4 = s.inUse, s.available()
	}
	if s := pl.spaces[1]; s != nil {
		st.AssignedV6, st.AvailableV6 = s.inUse, s.available()
	}
	return st, nil
}

// locate returns the pool and space that contain a, or nils.
func (al *Allocator) locate(a netip.Addr) (*pool, *space) {
	i := sort.Search(len(al.index), func(i int) bool { return al.index[i].r.Last.Compare(a) >= 0 })
	if i < len(al.index) && al.index[i].r.Contains(a) {
		return al.index[i].pool, al.index[i].space
	}
	return nil, nil
}
