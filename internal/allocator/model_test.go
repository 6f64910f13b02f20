package allocator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/internal/iprange"
)

// This file drives the allocator with random operations, from math/rand or from fuzz bytes, and
// checks after every one that no address is held by two Services that may not share it, that every
// Service holds addresses of its eligible pools only, that Stats match a recount, that no free
// address is lost, and that the internal bookkeeping agrees with a brute-force view.

// chooser is a source of small choices.
type chooser interface {
	intn(n int) int // in [0, n)
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser reads choices from fuzz input; once it runs out, every choice is 0 and done is set.
type byteChooser struct {
	data []byte
	done bool
}

func (c *byteChooser) intn(n int) int {
	if len(c.data) == 0 {
		c.done = true
		return 0
	}
	b := c.data[0]
	c.data = c.data[1:]
	return int(b) % n
}

// rangeSlots are the address blocks the random configurations are made of. A configuration picks
// at most one variant per slot and gives it to one pool, so pools never overlap; variants of a
// slot let a range shrink, grow and move between pools. They straddle .255/.0 boundaries on
// purpose.
var rangeSlots = [][]iprange.Range{
	{iprange.MustParse("10.0.0.250-10.0.1.5"), iprange.MustParse("10.0.0.252-10.0.1.1"), iprange.MustParse("10.0.1.0-10.0.1.5")},
	{iprange.MustParse("10.0.2.0/29"), iprange.MustParse("10.0.2.0/30")},
	{iprange.MustParse("10.0.3.255-10.0.4.0")},
	{iprange.MustParse("2001:db8::/125"), iprange.MustParse("2001:db8::4/126")},
	{iprange.MustParse("2001:db8::10-2001:db8::12")},
}

var (
	modelPools = []string{"a", "b", "c"}
	modelKeys  = []string{"ns/k0", "ns/k1", "ns/k2", "ns/k3", "ns/k4", "ns/k5", "ns/k6", "ns/k7", "ns/k8", "ns/k9"}
	modelPorts = []Port{{"TCP", 80}, {"TCP", 443}, {"UDP", 53}}
)

// modelUniverse is every address the configurations can contain, plus one outside them all.
var modelUniverse = func() []netip.Addr {
	var all []netip.Addr
	for _, slot := range rangeSlots {
		all = slices.AppendSeq(all, slot[0].All())
	}
	return append(all, netip.MustParseAddr("192.0.2.1"))
}()

type driver struct {
	t       testing.TB
	c       chooser
	al      *Allocator
	pools   []Pool
	lastReq map[string]Request
	trace   []string
}

func newDriver(t testing.TB, c chooser) *driver {
	d := &driver{t: t, c: c, lastReq: map[string]Request{}}
	d.pools = d.randomPools()
	al, err := New(d.pools)
	if err != nil {
		t.Fatalf("New(%v): %v", d.pools, err)
	}
	// Small bounds, so that the queue overflows into aged runs and keys are forgotten, and often a
	// hash that collides, so that keys go through the overflow map.
	al.queueLimit = 1 + c.intn(4)
	al.recent = newKeyMemory(c.intn(5))
	if c.intn(2) == 0 {
		al.keys.hash = func(key string) uint64 { return uint64(key[len(key)-1] % 3) }
	}
	d.al = al
	return d
}

// note records an operation for the failure message, keeping the last 40.
func (d *driver) note(s string) {
	if len(d.trace) == 40 {
		d.trace = append(d.trace[:0], d.trace[1:]...)
	}
	d.trace = append(d.trace, s)
}

func (d *driver) fail(format string, args ...any) {
	d.t.Helper()
	d.t.Fatalf("%s\nafter:\n  %s", fmt.Sprintf(format, args...), joinLines(d.trace))
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

func (d *driver) randomPools() []Pool {
	pools := make([]Pool, len(modelPools))
	for i, name := range modelPools {
		pools[i] = Pool{Name: name, AutoAssign: d.c.intn(4) != 0, AvoidBuggyIPs: d.c.intn(2) == 0, Priority: d.c.intn(3)}
	}
	for _, variants := range rangeSlots {
		choice := d.c.intn(len(variants) + 1)
		if choice == len(variants) {
			continue
		}
		owner := d.c.intn(len(pools))
		pools[owner].Ranges = append(pools[owner].Ranges, variants[choice])
	}
	if d.c.intn(4) == 0 {
		i := d.c.intn(len(pools))
		pools = slices.Delete(pools, i, i+1)
	}
	return pools
}

func (d *driver) randomRequest(key string) Request {
	req := Request{Key: key}
	switch d.c.intn(5) {
	case 0:
		req.Families = []Family{IPv4}
	case 1:
		req.Families = []Family{IPv6}
	case 2:
		req.Families = []Family{IPv4, IPv6}
	case 3:
		req.Families = []Family{IPv6, IPv4}
	default:
		req.Families, req.FamilyPolicy = []Family{IPv4}, PreferDualStack
	}
	if len(req.Families) == 2 {
		req.FamilyPolicy = []FamilyPolicy{PreferDualStack, RequireDualStack}[d.c.intn(2)]
	}
	for _, name := range append(slices.Clone(modelPools), "unknown") {
		if d.c.intn(4) != 0 {
			req.EligiblePools = append(req.EligiblePools, name)
		}
	}
	if d.c.intn(4) == 0 {
		req.Pool = append(slices.Clone(modelPools), "unknown")[d.c.intn(len(modelPools)+1)]
	}
	if d.c.intn(3) == 0 {
		for range 1 + d.c.intn(2) {
			req.Addresses = append(req.Addresses, modelUniverse[d.c.intn(len(modelUniverse))])
		}
	}
	req.SharingKey = []string{"", "s1", "s2"}[d.c.intn(3)]
	for _, p := range modelPorts {
		if d.c.intn(2) == 0 {
			req.Ports = append(req.Ports, p)
		}
	}
	req.LocalTrafficSelector = []string{"", "", "app=x", "app=y"}[d.c.intn(4)]
	return req
}

// snapshot returns every key's assignment through the public API.
func (d *driver) snapshot() map[string]Assignment {
	out := map[string]Assignment{}
	for _, k := range modelKeys {
		if a, ok := d.al.Lookup(k); ok {
			out[k] = a
		}
	}
	return out
}

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func (d *driver) step() {
	key := modelKeys[d.c.intn(len(modelKeys))]
	before := d.snapshot()
	switch op := d.c.intn(10); {
	case op < 5:
		req := d.randomRequest(key)
		got, err := d.al.Assign(req)
		d.note(fmt.Sprintf("Assign(%+v) = %v, %v", req, got, err))
		d.checkAssign(req, got, err, before)
	case op == 5:
		d.al.Release(key)
		d.note(fmt.Sprintf("Release(%s)", key))
		delete(d.lastReq, key)
		if _, ok := d.al.Lookup(key); ok {
			d.fail("%s still assigned after Release", key)
		}
	case op == 6:
		req := d.randomRequest(key)
		var addrs []netip.Addr
		if cur, ok := before[key]; ok && d.c.intn(2) == 0 {
			addrs = slices.Clone(cur.Addresses)
			if d.c.intn(2) == 0 {
				slices.Reverse(addrs)
			}
		} else {
			for range 1 + d.c.intn(2) {
				addrs = append(addrs, modelUniverse[d.c.intn(len(modelUniverse))])
			}
		}
		got, err := d.al.Restore(key, req, addrs)
		d.note(fmt.Sprintf("Restore(%s, %+v, %v) = %v, %v", key, req, addrs, got, err))
		d.checkRestore(req, addrs, got, err, before)
	case op == 7:
		pools := d.randomPools()
		moved, err := d.al.SetPools(pools)
		d.note(fmt.Sprintf("SetPools(%+v) = %v, %v", pools, moved, err))
		if err != nil {
			d.fail("SetPools: %v", err)
		}
		d.pools = pools
		after := d.snapshot()
		for k, a := range before {
			if b, ok := after[k]; ok {
				if diff := cmp.Diff(a, b, cmpAddr); diff != "" {
					d.fail("SetPools changed the assignment of %s instead of keeping or moving it:\n%s", k, diff)
				}
			} else if !slices.Contains(moved, k) {
				d.fail("SetPools dropped %s without reporting it moved (%v)", k, moved)
			}
		}
		for _, k := range moved {
			if _, ok := after[k]; ok {
				d.fail("SetPools reported %s moved, but it is still assigned", k)
			}
			delete(d.lastReq, k)
		}
	default:
		// Repeating the request that produced an assignment must return it unchanged.
		req, ok := d.lastReq[key]
		if !ok {
			return
		}
		got, err := d.al.Assign(req)
		d.note(fmt.Sprintf("Assign again(%+v) = %v, %v", req, got, err))
		if err != nil {
			d.fail("repeating the request of %s failed: %v", key, err)
		}
		if diff := cmp.Diff(before[key], got, cmpAddr); diff != "" {
			d.fail("repeating the request of %s changed its assignment:\n%s", key, diff)
		}
	}
	d.checkState()
}

func (d *driver) checkAssign(req Request, got Assignment, err error, before map[string]Assignment) {
	if err == nil {
		d.lastReq[req.Key] = req
		return
	}
	if errors.Is(err, ErrInvalidRequest) {
		if diff := cmp.Diff(before, d.snapshot(), cmpAddr); diff != "" {
			d.fail("Assign rejected a malformed request but changed assignments:\n%s", diff)
		}
		return
	}
	delete(d.lastReq, req.Key)
	if _, ok := d.al.Lookup(req.Key); ok {
		d.fail("Assign failed but %s still holds addresses", req.Key)
	}
	if !errors.Is(err, ErrPoolExhausted) && !errors.Is(err, ErrFamilyUnavailable) {
		return
	}
	// The allocator says nothing is free: check that a brute-force search agrees.
	if len(req.Addresses) > 0 {
		return
	}
	var candidates []Pool
	for _, p := range d.pools {
		eligible := slices.Contains(req.EligiblePools, p.Name)
		if (req.Pool == "" && eligible && p.AutoAssign) || (req.Pool == p.Name && eligible) {
			candidates = append(candidates, p)
		}
	}
	share := (&plan{}).share
	if req.SharingKey != "" {
		share = &sharing{key: req.SharingKey, ports: req.Ports, local: req.LocalTrafficSelector}
	}
	for _, p := range candidates {
		free := [2]bool{}
		for _, r := range p.Ranges {
			for a := range r.All() {
				if p.AvoidBuggyIPs && iprange.IsBuggy(a) {
					continue
				}
				ok := true
				for _, h := range d.al.holdersOf(a) {
					ok = ok && sharingConflict(h.share, share) == ""
				}
				if ok {
					free[familyOf(a).slot()] = true
				}
			}
		}
		primary := free[req.Families[0].slot()]
		both := len(req.Families) == 2 && free[0] && free[1]
		if (req.FamilyPolicy == RequireDualStack && both) || (req.FamilyPolicy != RequireDualStack && primary) {
			d.fail("Assign(%+v) failed with %v, but pool %q could serve it", req, err, p.Name)
		}
	}
}

func (d *driver) checkRestore(req Request, addrs []netip.Addr, got Assignment, err error, before map[string]Assignment) {
	if err != nil {
		if diff := cmp.Diff(before, d.snapshot(), cmpAddr); diff != "" {
			d.fail("failed Restore changed assignments:\n%s", diff)
		}
		return
	}
	d.lastReq[req.Key] = req
	want := slices.SortedFunc(slices.Values(addrs), netip.Addr.Compare)
	have := slices.SortedFunc(slices.Values(got.Addresses), netip.Addr.Compare)
	if diff := cmp.Diff(want, have, cmpAddr); diff != "" {
		d.fail("Restore recorded other addresses than given:\n%s", diff)
	}
}

// checkState checks the global properties, through the public API where it can.
func (d *driver) checkState() {
	d.t.Helper()
	if err := d.al.checkInvariants(); err != nil {
		d.fail("invariant: %v", err)
	}
	snap := d.snapshot()
	for key, asg := range snap {
		req, ok := d.lastReq[key]
		if !ok {
			d.fail("%s holds %v without a request", key, asg)
		}
		if !slices.Contains(req.EligiblePools, asg.Pool) || (req.Pool != "" && req.Pool != asg.Pool) {
			d.fail("%s holds addresses of pool %q, which its request %+v does not allow", key, asg.Pool, req)
		}
		idx := slices.IndexFunc(d.pools, func(p Pool) bool { return p.Name == asg.Pool })
		if idx < 0 {
			d.fail("%s holds addresses of pool %q, which does not exist", key, asg.Pool)
		}
		for _, a := range asg.Addresses {
			if !slices.ContainsFunc(d.pools[idx].Ranges, func(r iprange.Range) bool { return r.Contains(a) }) {
				d.fail("%s holds %s, outside pool %q", key, a, asg.Pool)
			}
			if d.pools[idx].AvoidBuggyIPs && iprange.IsBuggy(a) {
				d.fail("%s holds %s, which pool %q avoids", key, a, asg.Pool)
			}
		}
		for _, a := range req.Addresses {
			if !slices.Contains(asg.Addresses, a) {
				d.fail("%s holds %v, not the requested %s", key, asg.Addresses, a)
			}
		}
		if len(asg.Addresses) == 0 || familyOf(asg.Addresses[0]) != req.Families[0] {
			d.fail("%s holds %v, not led by its first family %s", key, asg.Addresses, req.Families[0])
		}
		if req.FamilyPolicy == RequireDualStack && len(asg.Addresses) != 2 {
			d.fail("%s holds %v despite RequireDualStack", key, asg.Addresses)
		}
	}
	held := map[netip.Addr][]string{}
	for key, asg := range snap {
		for _, a := range asg.Addresses {
			held[a] = append(held[a], key)
		}
	}
	for a, keys := range held {
		if len(keys) < 2 {
			continue
		}
		for i := range keys {
			for j := i + 1; j < len(keys); j++ {
				ri, rj := d.lastReq[keys[i]], d.lastReq[keys[j]]
				if !canShare(ri, rj) {
					d.fail("%s is held by %s and %s, which may not share it", a, keys[i], keys[j])
				}
			}
		}
	}
	for _, p := range d.pools {
		got, err := d.al.Stats(p.Name)
		if err != nil {
			d.fail("Stats(%q): %v", p.Name, err)
		}
		want := bruteStats(p, func(a netip.Addr) bool { return len(held[a]) > 0 })
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b interface{ String() string }) bool { return a.String() == b.String() })); diff != "" {
			d.fail("Stats(%q) differ from a recount (-want +got):\n%s", p.Name, diff)
		}
	}
}

// canShare is the sharing rule, written out again from the requests.
func canShare(a, b Request) bool {
	if a.SharingKey == "" || a.SharingKey != b.SharingKey {
		return false
	}
	for _, p := range a.Ports {
		if slices.Contains(b.Ports, p) {
			return false
		}
	}
	if a.LocalTrafficSelector != "" || b.LocalTrafficSelector != "" {
		return a.LocalTrafficSelector == b.LocalTrafficSelector
	}
	return true
}

func TestRandomOperationsKeepInvariants(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	for seed := range seeds {
		d := newDriver(t, randChooser{rand.New(rand.NewPCG(uint64(seed), 42))})
		for range 300 {
			d.step()
		}
	}
}

func FuzzAllocator(f *testing.F) {
	for seed := range 8 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		data := make([]byte, 160)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Longer inputs add steps rather than new behaviour, and make minimizing (which runs the
		// input many times) slow.
		c := &byteChooser{data: data[:min(len(data), 1024)]}
		d := newDriver(t, c)
		for !c.done {
			d.step()
		}
	})
}
