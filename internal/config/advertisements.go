package config

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// PoolSelection says which pools an advertisement covers: those named, those whose labels match
// a selector, or every pool when neither is given.
type PoolSelection struct {
	names     map[string]bool
	selectors []labels.Selector
}

// Selects says whether the selection covers p.
func (s PoolSelection) Selects(p *Pool) bool {
	if len(s.names) == 0 && len(s.selectors) == 0 {
		return true
	}
	if s.names[p.Name] {
		return true
	}
	for _, sel := range s.selectors {
		if sel.Matches(p.Labels) {
			return true
		}
	}
	return false
}

// Selectors is an OR of label selectors; empty matches everything.
type Selectors []labels.Selector

// Matches says whether any selector matches ls, or there is none.
func (s Selectors) Matches(ls labels.Set) bool {
	if len(s) == 0 {
		return true
	}
	for _, sel := range s {
		if sel.Matches(ls) {
			return true
		}
	}
	return false
}

// WeightedSelector raises the preference of the nodes it matches by Weight.
type WeightedSelector struct {
	Weight   int
	Selector labels.Selector
}

// L2Advertisement is one valid L2Advertisement.
type L2Advertisement struct {
	Name     string
	Pools    PoolSelection
	Nodes    Selectors
	Services Selectors
	// Preferred steer the election: a node's preference is the sum of the weights it matches.
	Preferred []WeightedSelector
	// Interfaces, when set, are the only interfaces announced on.
	Interfaces []string
}

// Preference is the sum of the weights of the preferred selectors that match a node.
func (a *L2Advertisement) Preference(nodeLabels labels.Set) int {
	total := 0
	for _, w := range a.Preferred {
		if w.Selector.Matches(nodeLabels) {
			total += w.Weight
		}
	}
	return total
}

func parseL2Advertisements(objs []heraldv1beta1.L2Advertisement, pools map[string]*Pool, errs *Errors, pending *[]Reference) []*L2Advertisement {
	const kind = "L2Advertisement"
	var out []*L2Advertisement
	for i := range objs {
		obj := &objs[i]
		ad := &L2Advertisement{Name: obj.Name}
		ok := true
		var sok bool
		ad.Pools, sok = poolSelection(kind, obj.Name, obj.Spec.IPAddressPools, obj.Spec.IPAddressPoolSelectors, pools, errs, pending)
		ok = ok && sok
		ad.Nodes, sok = selectors(obj.Spec.NodeSelectors, kind, obj.Name, "spec.nodeSelectors", errs)
		ok = ok && sok
		ad.Services, sok = selectors(obj.Spec.ServiceSelectors, kind, obj.Name, "spec.serviceSelectors", errs)
		ok = ok && sok
		for j, w := range obj.Spec.PreferredNodeSelectors {
			field := fmt.Sprintf("spec.preferredNodeSelectors[%d].selector", j)
			s, err := metav1.LabelSelectorAsSelector(&w.Selector)
			if err != nil {
				errs.add(kind, obj.Name, field, "%v", err)
				ok = false
				continue
			}
			ad.Preferred = append(ad.Preferred, WeightedSelector{Weight: int(w.Weight), Selector: s})
		}
		for _, ifname := range obj.Spec.Interfaces {
			ad.Interfaces = append(ad.Interfaces, string(ifname))
		}
		sort.Strings(ad.Interfaces)
		if ok {
			out = append(out, ad)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// poolSelection compiles an advertisement's pool references. A name of a pool that does not
// exist (yet) is not an error: objects may be created in any order; it is reported as pending.
func poolSelection(kind, name string, names []heraldv1beta1.ObjectName, sels []metav1.LabelSelector, pools map[string]*Pool, errs *Errors, pending *[]Reference) (PoolSelection, bool) {
	ps := PoolSelection{}
	if len(names) > 0 {
		ps.names = map[string]bool{}
	}
	for _, n := range names {
		ps.names[string(n)] = true
		if pools[string(n)] == nil {
			*pending = append(*pending, Reference{Kind: kind, Name: name, Field: "spec.ipAddressPools", TargetKind: "IPAddressPool", Target: string(n)})
		}
	}
	s, ok := selectors(sels, kind, name, "spec.ipAddressPoolSelectors", errs)
	ps.selectors = s
	return ps, ok
}
