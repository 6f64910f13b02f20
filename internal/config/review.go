package config

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/iprange"
)

// Operation is what an API request does to an object.
type Operation string

// The operations Review judges.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
	Delete Operation = "DELETE"
)

// Verdict is what Review says about one change.
type Verdict struct {
	// Errors are the problems the change brings in; the change must be refused if there is any.
	Errors Errors
	// Warnings are consequences the user should know of, such as references to objects that do
	// not exist yet. They never refuse a change.
	Warnings []string

	// poolBefore and poolAfter are the ranges of the reviewed pool without and with the change.
	poolBefore, poolAfter []iprange.Range
}

// Strands says whether the change takes addr out of the pool that holds it: a Service holding
// addr will get another address.
func (v Verdict) Strands(addr netip.Addr) bool {
	return rangesContain(v.poolBefore, addr) && !rangesContain(v.poolAfter, addr)
}

func rangesContain(rs []iprange.Range, addr netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// Review judges one change of a configuration object against the objects that exist, the way the
// validating webhook does. It parses the configuration without and with the change, and refuses
// the change for the problems of the changed object and for the problems the change causes in
// others. Problems other objects already had do not block an unrelated change: one bad object,
// created while the webhook was down, must not lock every other.
//
// obj is the new version of the object created or updated, or the object deleted; namespace is
// the install namespace. A change outside it is refused, except a deletion. A reference to an
// object that does not exist is a warning when an object is created, so that objects can be
// created in any order; an update or deletion that leaves a working object referring to a
// missing BFD profile or community alias is refused, because the object would stop working.
func Review(current Resources, namespace string, op Operation, obj runtime.Object) (Verdict, error) {
	var v Verdict
	kind, meta, err := identify(obj)
	if err != nil {
		return v, err
	}
	name := meta.GetName()
	if op == Delete && meta.GetNamespace() != namespace {
		return v, nil // never read, so never in use
	}
	if meta.GetNamespace() != namespace {
		v.Errors.add(kind, name, "metadata.namespace", "%q is not the namespace Herald is installed in: Herald reads its configuration only from %q and would ignore this object", meta.GetNamespace(), namespace)
		return v, nil
	}

	var after Resources
	if op == Delete {
		after = current.without(kind, name)
	} else {
		after = current.without(kind, name).with(obj)
	}
	beforeCfg, beforeErrs := parse(current)
	afterCfg, afterErrs := parse(after)

	had := map[string]bool{}
	for _, e := range beforeErrs {
		had[e.Error()] = true
	}
	for _, e := range afterErrs {
		if (e.Kind == kind && e.Name == name) || !had[e.Error()] {
			v.Errors = append(v.Errors, e)
		}
	}

	hadRef := map[Reference]bool{}
	for _, r := range beforeCfg.Pending {
		hadRef[r] = true
	}
	for _, r := range afterCfg.Pending {
		if hadRef[r] {
			continue
		}
		breaks := op != Create && (r.TargetKind == "BFDProfile" || r.TargetKind == TargetCommunityAlias)
		switch {
		case !breaks:
			v.Warnings = append(v.Warnings, r.String())
		case r.Kind == kind && r.Name == name:
			v.Errors.add(r.Kind, r.Name, r.Field, "names %s %q, which does not exist: the %s would stop working until it does; create it first", r.TargetKind, r.Target, r.Kind)
		case op == Delete:
			v.Errors.add(kind, name, "metadata.name", "is in use: %s %q %s names %s %q; remove that reference first", r.Kind, r.Name, r.Field, r.TargetKind, r.Target)
		default:
			v.Errors.add(kind, name, "spec", "removes %s %q, which %s %q %s uses; remove that reference first", r.TargetKind, r.Target, r.Kind, r.Name, r.Field)
		}
	}

	if kind == kindPool {
		v.poolBefore = poolRanges(current.Pools, name)
		v.poolAfter = poolRanges(after.Pools, name)
	}
	return v, nil
}

const kindPool = "IPAddressPool"

// identify returns the kind and metadata of a configuration object.
func identify(obj runtime.Object) (string, metav1.Object, error) {
	switch o := obj.(type) {
	case *heraldv1beta1.IPAddressPool:
		return kindPool, o, nil
	case *heraldv1beta1.L2Advertisement:
		return "L2Advertisement", o, nil
	case *heraldv1beta1.BGPAdvertisement:
		return "BGPAdvertisement", o, nil
	case *heraldv1beta1.BGPPeer:
		return "BGPPeer", o, nil
	case *heraldv1beta1.BFDProfile:
		return "BFDProfile", o, nil
	case *heraldv1beta1.Community:
		return "Community", o, nil
	}
	return "", nil, fmt.Errorf("%T is not a Herald configuration kind", obj)
}

// without returns a copy of r without the object of that kind and name.
func (r Resources) without(kind, name string) Resources {
	out := r
	switch kind {
	case kindPool:
		out.Pools = withoutNamed(r.Pools, name)
	case "L2Advertisement":
		out.L2Advertisements = withoutNamed(r.L2Advertisements, name)
	case "BGPAdvertisement":
		out.BGPAdvertisements = withoutNamed(r.BGPAdvertisements, name)
	case "BGPPeer":
		out.BGPPeers = withoutNamed(r.BGPPeers, name)
	case "BFDProfile":
		out.BFDProfiles = withoutNamed(r.BFDProfiles, name)
	case "Community":
		out.Communities = withoutNamed(r.Communities, name)
	}
	return out
}

// withoutNamed returns a new slice of the objects not named name.
func withoutNamed[T any, P interface {
	*T
	GetName() string
}](objs []T, name string) []T {
	return slices.DeleteFunc(slices.Clone(objs), func(o T) bool { return P(&o).GetName() == name })
}

// with returns r with obj added; r's slices are ones without already copied. The object is
// made the newest: a conflict with an existing object is reported on it, not on the other.
func (r Resources) with(obj runtime.Object) Resources {
	switch o := obj.(type) {
	case *heraldv1beta1.IPAddressPool:
		r.Pools = append(r.Pools, newest(*o, r.Pools))
	case *heraldv1beta1.L2Advertisement:
		r.L2Advertisements = append(r.L2Advertisements, newest(*o, r.L2Advertisements))
	case *heraldv1beta1.BGPAdvertisement:
		r.BGPAdvertisements = append(r.BGPAdvertisements, newest(*o, r.BGPAdvertisements))
	case *heraldv1beta1.BGPPeer:
		r.BGPPeers = append(r.BGPPeers, newest(*o, r.BGPPeers))
	case *heraldv1beta1.BFDProfile:
		r.BFDProfiles = append(r.BFDProfiles, newest(*o, r.BFDProfiles))
	case *heraldv1beta1.Community:
		r.Communities = append(r.Communities, newest(*o, r.Communities))
	}
	return r
}

// newest returns obj with a creation time after every other's.
func newest[T any, P interface {
	*T
	GetCreationTimestamp() metav1.Time
	SetCreationTimestamp(metav1.Time)
}](obj T, others []T) T {
	ts := P(&obj).GetCreationTimestamp()
	for i := range others {
		if t := P(&others[i]).GetCreationTimestamp(); !t.Before(&ts) {
			ts = metav1.NewTime(t.Add(time.Second))
		}
	}
	P(&obj).SetCreationTimestamp(ts)
	return obj
}

// poolRanges returns the ranges of the named pool that parse.
func poolRanges(pools []heraldv1beta1.IPAddressPool, name string) []iprange.Range {
	var out []iprange.Range
	for i := range pools {
		if pools[i].Name != name {
			continue
		}
		for _, text := range pools[i].Spec.Addresses {
			if r, err := iprange.Parse(string(text)); err == nil {
				out = append(out, r)
			}
		}
	}
	return out
}
