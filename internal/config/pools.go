package config

import (
	"fmt"
	"math"
	"net/netip"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/iprange"
)

// NoPriority is the priority of pools without serviceAllocation: they are tried after every
// pool that has one.
const NoPriority = math.MaxInt32

// Pool is one valid IPAddressPool.
type Pool struct {
	// Name is the object's name.
	Name string
	// Labels are the object's labels, for advertisements that select pools by label.
	Labels labels.Set
	// Ranges are the parsed address blocks, in the order written.
	Ranges []iprange.Range
	// AutoAssign, AvoidBuggyIPs: as in the spec, defaults applied.
	AutoAssign    bool
	AvoidBuggyIPs bool
	// Priority orders pools for auto-assignment, lower first; NoPriority without serviceAllocation.
	Priority int
	// serviceAllocation restrictions; all empty when the pool serves every Service.
	namespaces         map[string]bool
	namespaceSelectors []labels.Selector
	serviceSelectors   []labels.Selector
}

// HasV4 and HasV6 say whether the pool holds addresses of the family.
func (p *Pool) HasV4() bool { return p.has(func(r iprange.Range) bool { return r.Is4() }) }

// HasV6 says whether the pool holds IPv6 addresses.
func (p *Pool) HasV6() bool { return p.has(func(r iprange.Range) bool { return r.Is6() }) }

func (p *Pool) has(f func(iprange.Range) bool) bool {
	for _, r := range p.Ranges {
		if f(r) {
			return true
		}
	}
	return false
}

// Contains says whether addr is one of the pool's addresses.
func (p *Pool) Contains(addr netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// Allows says whether a Service with the given labels, in a namespace with the given name and
// labels, may take addresses from the pool. An unrestricted pool allows every Service.
func (p *Pool) Allows(namespace string, namespaceLabels, serviceLabels labels.Set) bool {
	if len(p.namespaces) > 0 || len(p.namespaceSelectors) > 0 {
		ok := p.namespaces[namespace]
		for _, s := range p.namespaceSelectors {
			if ok {
				break
			}
			ok = s.Matches(namespaceLabels)
		}
		if !ok {
			return false
		}
	}
	if len(p.serviceSelectors) > 0 {
		for _, s := range p.serviceSelectors {
			if s.Matches(serviceLabels) {
				return true
			}
		}
		return false
	}
	return true
}

func parsePools(objs []heraldv1beta1.IPAddressPool, errs *Errors) []*Pool {
	const kind = "IPAddressPool"
	var pools []*Pool
	type owned struct {
		pool  string
		field string
	}
	var all []iprange.Range
	var owners []owned
	seen := map[string]bool{}
	// Oldest first, so that when a new pool overlaps an existing one, the new one is reported.
	order := make([]*heraldv1beta1.IPAddressPool, len(objs))
	for i := range objs {
		order[i] = &objs[i]
	}
	sort.SliceStable(order, func(i, j int) bool {
		ti, tj := order[i].CreationTimestamp, order[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return order[i].Name < order[j].Name
	})
	for _, obj := range order {
		if seen[obj.Name] {
			errs.add(kind, obj.Name, "metadata.name", "defined twice")
			continue
		}
		seen[obj.Name] = true
		p := &Pool{
			Name:          obj.Name,
			Labels:        labels.Set(obj.Labels),
			AutoAssign:    obj.Spec.AutoAssign == nil || *obj.Spec.AutoAssign,
			AvoidBuggyIPs: obj.Spec.AvoidBuggyIPs,
			Priority:      NoPriority,
		}
		valid := true
		if len(obj.Spec.Addresses) == 0 {
			errs.add(kind, obj.Name, "spec.addresses", "must list at least one CIDR, range or address")
			valid = false
		}
		for j, text := range obj.Spec.Addresses {
			field := fmt.Sprintf("spec.addresses[%d]", j)
			r, err := iprange.Parse(string(text))
			if err != nil {
				errs.add(kind, obj.Name, field, "%v", err)
				valid = false
				continue
			}
			p.Ranges = append(p.Ranges, r)
			all = append(all, r)
			owners = append(owners, owned{pool: obj.Name, field: field})
		}
		if sa := obj.Spec.ServiceAllocation; sa != nil {
			p.Priority = int(sa.Priority)
			if len(sa.Namespaces) > 0 {
				p.namespaces = map[string]bool{}
				for _, ns := range sa.Namespaces {
					p.namespaces[ns] = true
				}
			}
			var ok bool
			p.namespaceSelectors, ok = selectors(sa.NamespaceSelectors, kind, obj.Name, "spec.serviceAllocation.namespaceSelectors", errs)
			valid = valid && ok
			p.serviceSelectors, ok = selectors(sa.ServiceSelectors, kind, obj.Name, "spec.serviceAllocation.serviceSelectors", errs)
			valid = valid && ok
		}
		if valid {
			pools = append(pools, p)
		}
	}
	// Overlaps, within a pool and across pools, reported on every pair once.
	for {
		a, b, ok := iprange.FindOverlap(all)
		if !ok {
			break
		}
		if a > b {
			a, b = b, a
		}
		oa, ob := owners[a], owners[b]
		if oa.pool == ob.pool {
			errs.add(kind, ob.pool, ob.field, "%s overlaps %s of the same pool (%s)", all[b], oa.field, all[a])
		} else {
			errs.add(kind, ob.pool, ob.field, "%s overlaps IPAddressPool %q %s (%s); a block belongs to one pool", all[b], oa.pool, oa.field, all[a])
		}
		// Drop the later block and look again, so every overlap is reported.
		all = append(all[:b:b], all[b+1:]...)
		owners = append(owners[:b:b], owners[b+1:]...)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	return pools
}

func selectors(in []metav1.LabelSelector, kind, name, field string, errs *Errors) ([]labels.Selector, bool) {
	ok := true
	var out []labels.Selector
	for i := range in {
		s, err := metav1.LabelSelectorAsSelector(&in[i])
		if err != nil {
			errs.add(kind, name, fmt.Sprintf("%s[%d]", field, i), "%v", err)
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}
