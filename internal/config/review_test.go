package config

import (
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

const installNS = "herald-system"

// reviewResources is bgpResources in the install namespace.
func reviewResources() Resources {
	r := bgpResources()
	for i := range r.Pools {
		r.Pools[i].Namespace = installNS
	}
	r.BGPPeers[0].Namespace = installNS
	r.BFDProfiles[0].Namespace = installNS
	r.Communities[0].Namespace = installNS
	r.BGPAdvertisements[0].Namespace = installNS
	return r
}

func nsPool(name string, addrs ...string) *heraldv1beta1.IPAddressPool {
	p := pool(name, addrs...)
	p.Namespace = installNS
	return &p
}

func TestReview(t *testing.T) {
	broken := func(r *Resources) {
		// Created while the webhook was down: it overlaps "pub".
		r.Pools = append(r.Pools, *nsPool("stray", "192.0.2.0/30"))
	}
	for _, tc := range []struct {
		name    string
		setup   func(*Resources)
		op      Operation
		obj     func(r Resources) runtime.Object
		errors  []string
		warning string
	}{
		{name: "a new pool overlapping an existing one is named, not the existing one", op: Create,
			obj:    func(Resources) runtime.Object { return nsPool("new", "192.0.2.32/27") },
			errors: []string{`IPAddressPool "new": spec.addresses[0]: 192.0.2.32/27 overlaps IPAddressPool "pub" spec.addresses[0] (192.0.2.0/26)`}},
		{name: "an updated pool is the one reported, even when it is the older", op: Update,
			setup: func(r *Resources) {
				r.Pools = append(r.Pools, *nsPool("newer", "203.0.113.0/28"))
				r.Pools[1].CreationTimestamp = metav1.Now()
			},
			obj: func(r Resources) runtime.Object {
				p := r.Pools[0].DeepCopy()
				p.Spec.Addresses = append(p.Spec.Addresses, "203.0.113.8/29")
				return p
			},
			errors: []string{`IPAddressPool "pub": spec.addresses[2]: 203.0.113.8/29 overlaps IPAddressPool "newer"`}},
		{name: "a pool making an existing advertisement's aggregation too short", op: Create,
			setup: func(r *Resources) {
				r.BGPAdvertisements[0].Spec.IPAddressPools = nil
				r.BGPAdvertisements[0].Spec.AggregationLength = i32(26)
			},
			obj:    func(Resources) runtime.Object { return nsPool("narrow", "203.0.113.0/28") },
			errors: []string{`BGPAdvertisement "pub": spec.aggregationLength: 26 is shorter than IPAddressPool "narrow" spec.addresses[0] (203.0.113.0/28)`}},
		{name: "an unrelated change passes while another object is broken", setup: broken, op: Create,
			obj: func(Resources) runtime.Object { return nsPool("fine", "203.0.113.0/28") }},
		{name: "an update of the broken object that does not fix it is refused", setup: broken, op: Update,
			obj: func(r Resources) runtime.Object {
				p := r.Pools[1].DeepCopy()
				p.Labels = map[string]string{"a": "b"}
				return p
			},
			errors: []string{`IPAddressPool "stray": spec.addresses[0]: 192.0.2.0/30 overlaps IPAddressPool "pub"`}},
		{name: "deleting the broken object passes", setup: broken, op: Delete,
			obj: func(r Resources) runtime.Object { return &r.Pools[1] }},
		{name: "a reference to an object not created yet is a warning", op: Create,
			obj: func(Resources) runtime.Object {
				return &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2", Namespace: installNS},
					Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"later"}}}
			},
			warning: `L2Advertisement "l2": spec.ipAddressPools names IPAddressPool "later", which does not exist yet`},
		{name: "a new advertisement may wait for its alias", op: Create,
			obj: func(Resources) runtime.Object {
				return &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: installNS},
					Spec: heraldv1beta1.BGPAdvertisementSpec{Communities: []heraldv1beta1.CommunityValue{"later"}}}
			},
			warning: `BGPAdvertisement "b": spec.communities[0] names community alias "later", which no Community defines yet`},
		{name: "a working advertisement may not start waiting for an unknown alias", op: Update,
			obj: func(r Resources) runtime.Object {
				a := r.BGPAdvertisements[0].DeepCopy()
				a.Spec.Communities = append(a.Spec.Communities, "no-tarnsit")
				return a
			},
			errors: []string{`BGPAdvertisement "pub": spec.communities[3]: names community alias "no-tarnsit", which does not exist`}},
		{name: "a BFD profile in use cannot be deleted", op: Delete,
			obj:    func(r Resources) runtime.Object { return &r.BFDProfiles[0] },
			errors: []string{`BFDProfile "fast": metadata.name: is in use: BGPPeer "tor" spec.bfdProfile names BFDProfile "fast"`}},
		{name: "a BFD profile nobody uses can be deleted", op: Delete,
			setup: func(r *Resources) { r.BGPPeers[0].Spec.BFDProfile = "" },
			obj:   func(r Resources) runtime.Object { return &r.BFDProfiles[0] }},
		{name: "a Community whose alias is in use cannot be deleted", op: Delete,
			obj: func(r Resources) runtime.Object { return &r.Communities[0] },
			errors: []string{
				`Community "edge": metadata.name: is in use: BGPAdvertisement "pub" spec.communities[0] names community alias "no-transit"`,
				`Community "edge": metadata.name: is in use: BGPAdvertisement "pub" spec.communities[1] names community alias "cust"`,
			}},
		{name: "a Community update may not drop an alias in use", op: Update,
			obj: func(r Resources) runtime.Object {
				c := r.Communities[0].DeepCopy()
				c.Spec.Communities = c.Spec.Communities[1:]
				return c
			},
			errors: []string{`Community "edge": spec: removes community alias "no-transit", which BGPAdvertisement "pub" spec.communities[0] uses`}},
		{name: "a Community can go when another defines its aliases too", op: Delete,
			setup: func(r *Resources) {
				c := r.Communities[0].DeepCopy()
				c.Name = "copy"
				r.Communities = append(r.Communities, *c)
			},
			obj: func(r Resources) runtime.Object { return &r.Communities[0] }},
		{name: "deleting a pool an advertisement names is allowed, with a warning", op: Delete,
			obj:     func(r Resources) runtime.Object { return &r.Pools[0] },
			warning: `BGPAdvertisement "pub": spec.ipAddressPools names IPAddressPool "pub", which does not exist yet`},
		{name: "objects outside the install namespace are refused", op: Create,
			obj: func(Resources) runtime.Object {
				p := nsPool("elsewhere", "203.0.113.0/28")
				p.Namespace = "default"
				return p
			},
			errors: []string{`IPAddressPool "elsewhere": metadata.namespace: "default" is not the namespace Herald is installed in`}},
		{name: "deleting objects outside the install namespace is allowed", op: Delete,
			obj: func(Resources) runtime.Object {
				p := nsPool("elsewhere", "192.0.2.0/26")
				p.Namespace = "default"
				return p
			}},
		{name: "a second peer to the same router on some of the same nodes", op: Create,
			obj: func(r Resources) runtime.Object {
				p := r.BGPPeers[0].DeepCopy()
				p.Name = "tor-rack1"
				p.Spec.NodeSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "1"}}}
				return p
			},
			errors: []string{`BGPPeer "tor-rack1": spec.nodeSelectors: BGPPeer "tor" has the same address 203.0.113.1 port 179 on some of the same nodes`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reviewResources()
			if tc.setup != nil {
				tc.setup(&r)
			}
			v, err := Review(r, installNS, tc.op, tc.obj(r))
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Errors) != len(tc.errors) {
				t.Fatalf("errors:\n%v\nwant %d: %q", v.Errors, len(tc.errors), tc.errors)
			}
			for i, want := range tc.errors {
				if got := v.Errors[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("error %d = %q\nwant prefix %q", i, got, want)
				}
			}
			warnings := strings.Join(v.Warnings, "\n")
			if tc.warning == "" && warnings != "" {
				t.Errorf("unexpected warnings:\n%s", warnings)
			}
			if !strings.Contains(warnings, tc.warning) {
				t.Errorf("warnings:\n%s\nwant %q", warnings, tc.warning)
			}
		})
	}
}

func TestReviewRejectsObjectsOfOtherKinds(t *testing.T) {
	if _, err := Review(Resources{}, installNS, Create, &heraldv1beta1.ConfigurationState{}); err == nil {
		t.Error("a ConfigurationState was reviewed as configuration")
	}
}

func TestReviewSaysWhichAddressesAPoolChangeStrands(t *testing.T) {
	r := reviewResources()
	shrunk := r.Pools[0].DeepCopy()
	shrunk.Spec.Addresses = []heraldv1beta1.AddressRange{"192.0.2.0/27", "2001:db8::/120"}
	v, err := Review(r, installNS, Update, shrunk)
	if err != nil || len(v.Errors) > 0 {
		t.Fatal(err, v.Errors)
	}
	for addr, want := range map[string]bool{"192.0.2.5": false, "192.0.2.40": true, "2001:db8::1": false, "203.0.113.1": false} {
		if got := v.Strands(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Strands(%s) = %v, want %v", addr, got, want)
		}
	}
	v, err = Review(r, installNS, Delete, &r.Pools[0])
	if err != nil {
		t.Fatal(err)
	}
	if !v.Strands(netip.MustParseAddr("2001:db8::1")) {
		t.Error("deleting the pool does not strand its addresses")
	}
	v, err = Review(r, installNS, Create, nsPool("other", "203.0.113.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Strands(netip.MustParseAddr("192.0.2.5")) {
		t.Error("creating another pool strands addresses")
	}
}
