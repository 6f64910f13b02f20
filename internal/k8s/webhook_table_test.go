package k8s

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/membership"
)

// baseConfiguration is a valid configuration that the bad changes below are made against.
func baseConfiguration(ns string) []client.Object {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	return []client.Object{
		&heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "blue", Namespace: ns, Labels: map[string]string{"tier": "gold"}},
			Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"192.0.2.0/26"}}},
		&heraldv1beta1.IPAddressPool{ObjectMeta: meta("v6"), Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"2001:db8:1::/120"}}},
		&heraldv1beta1.IPAddressPool{ObjectMeta: meta("range"), Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.10-203.0.113.20"}}},
		&heraldv1beta1.Community{ObjectMeta: meta("edge"), Spec: heraldv1beta1.CommunitySpec{Communities: []heraldv1beta1.CommunityAlias{
			{Name: "no-transit", Value: "64512:666"}, {Name: "cust", Value: "large:64512:1:2"}}}},
		&heraldv1beta1.BFDProfile{ObjectMeta: meta("fast")},
		&heraldv1beta1.BGPPeer{ObjectMeta: meta("tor"), Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: ptr.To[int64](64513), PeerAddress: "203.0.113.1", BFDProfile: "fast"}},
		&heraldv1beta1.BGPPeer{ObjectMeta: meta("rack1"), Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: ptr.To[int64](64513), PeerAddress: "203.0.113.2",
			NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "1"}}}}},
		&heraldv1beta1.BGPAdvertisement{ObjectMeta: meta("pub"), Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue"},
			AggregationLength: ptr.To[int32](26), LocalPref: ptr.To[int64](100), Communities: []heraldv1beta1.CommunityValue{"no-transit"}, Peers: []heraldv1beta1.ObjectName{"tor"}}},
		&heraldv1beta1.BGPAdvertisement{ObjectMeta: meta("v6ad"), Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"v6"}, AggregationLengthV6: ptr.To[int32](120)}},
		&heraldv1beta1.L2Advertisement{ObjectMeta: meta("l2"), Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue", "range", "v6"}}},
	}
}

// badChange is one change the webhook refuses.
type badChange struct {
	name string
	op   config.Operation
	// make returns the object to create, or the object (by name) to update or delete.
	make func(ns string) client.Object
	// mutate changes the object read from the API server, for an update.
	mutate func(client.Object)
	// elsewhere creates the object in a namespace other than the install namespace.
	elsewhere bool
	// want is in the webhook's answer and, unless runtime says otherwise, in the programs'
	// ConfigurationState summary when the change is made past the webhook.
	want string
	// runtime is what the programs report instead, for changes their parse judges differently:
	// "pending:<text>" when the change leaves a reference dangling, "ignored" for objects outside
	// the install namespace, or another summary text.
	runtime string
}

func pool(name string, addrs ...heraldv1beta1.AddressRange) func(string) client.Object {
	return func(ns string) client.Object {
		return &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: addrs}}
	}
}

func poolWith(name string, mutate func(*heraldv1beta1.IPAddressPoolSpec)) func(string) client.Object {
	return func(ns string) client.Object {
		p := pool(name, "203.0.113.64/28")(ns).(*heraldv1beta1.IPAddressPool)
		mutate(&p.Spec)
		return p
	}
}

func l2ad(name string, mutate func(*heraldv1beta1.L2AdvertisementSpec)) func(string) client.Object {
	return func(ns string) client.Object {
		a := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		mutate(&a.Spec)
		return a
	}
}

func bgpad(name string, mutate func(*heraldv1beta1.BGPAdvertisementSpec)) func(string) client.Object {
	return func(ns string) client.Object {
		a := &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue"}}}
		mutate(&a.Spec)
		return a
	}
}

func peer(name, addr string, mutate func(*heraldv1beta1.BGPPeerSpec)) func(string) client.Object {
	return func(ns string) client.Object {
		p := &heraldv1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: ptr.To[int64](64513), PeerAddress: heraldv1beta1.IPAddress(addr)}}
		if mutate != nil {
			mutate(&p.Spec)
		}
		return p
	}
}

func community(name string, aliases ...heraldv1beta1.CommunityAlias) func(string) client.Object {
	return func(ns string) client.Object {
		return &heraldv1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: heraldv1beta1.CommunitySpec{Communities: aliases}}
	}
}

func named(obj client.Object, name string) func(string) client.Object {
	return func(ns string) client.Object {
		o := obj.DeepCopyObject().(client.Object)
		o.SetName(name)
		o.SetNamespace(ns)
		return o
	}
}

var (
	noValues  = []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "rack", Operator: metav1.LabelSelectorOpIn}}}}
	sometimes = []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Sometimes"}}}}
	rack1     = []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "1"}}}
)

func badChanges() []badChange {
	return []badChange{
		// Pools.
		{name: "pool overlapping another pool", op: config.Create, make: pool("dup", "192.0.2.32/27"),
			want: `IPAddressPool "dup": spec.addresses[0]: 192.0.2.32/27 overlaps IPAddressPool "blue" spec.addresses[0] (192.0.2.0/26); a block belongs to one pool`},
		{name: "pool overlapping itself", op: config.Create, make: pool("self", "203.0.113.100/30", "203.0.113.102"),
			want: `IPAddressPool "self": spec.addresses[1]: 203.0.113.102/32 overlaps spec.addresses[0] of the same pool (203.0.113.100/30)`},
		{name: "range overlapping a pool's range", op: config.Create, make: pool("wide", "203.0.113.15-203.0.113.30"),
			want: `IPAddressPool "wide": spec.addresses[0]: 203.0.113.15-203.0.113.30 overlaps IPAddressPool "range" spec.addresses[0] (203.0.113.10-203.0.113.20)`},
		{name: "single address inside another pool", op: config.Create, make: pool("one", "192.0.2.7"),
			want: `IPAddressPool "one": spec.addresses[0]: 192.0.2.7/32 overlaps IPAddressPool "blue"`},
		{name: "IPv6 pool overlapping another", op: config.Create, make: pool("six", "2001:db8:1::80/121"),
			want: `IPAddressPool "six": spec.addresses[0]: 2001:db8:1::80/121 overlaps IPAddressPool "v6"`},
		{name: "pool edited to overlap another", op: config.Update, make: pool("blue"),
			mutate: func(o client.Object) {
				p := o.(*heraldv1beta1.IPAddressPool)
				p.Spec.Addresses = append(p.Spec.Addresses, "203.0.113.0/28")
			},
			want:    `IPAddressPool "blue": spec.addresses[1]: 203.0.113.0/28 overlaps IPAddressPool "range" spec.addresses[0]`,
			runtime: `IPAddressPool "range": spec.addresses[0]: 203.0.113.10-203.0.113.20 overlaps IPAddressPool "blue" spec.addresses[1] (203.0.113.0/28)`},
		{name: "pool written as a range over another pool's CIDR", op: config.Create, make: pool("as-range", "192.0.2.0-192.0.2.63"),
			want: `IPAddressPool "as-range": spec.addresses[0]: 192.0.2.0/26 overlaps IPAddressPool "blue" spec.addresses[0] (192.0.2.0/26)`},
		{name: "IPv6 address inside another pool", op: config.Create, make: pool("six-one", "2001:db8:1::5"),
			want: `IPAddressPool "six-one": spec.addresses[0]: 2001:db8:1::5/128 overlaps IPAddressPool "v6"`},
		{name: "pool edited to overlap itself", op: config.Update, make: pool("range"),
			mutate: func(o client.Object) {
				p := o.(*heraldv1beta1.IPAddressPool)
				p.Spec.Addresses = append(p.Spec.Addresses, "203.0.113.12")
			},
			want: `IPAddressPool "range": spec.addresses[1]: 203.0.113.12/32 overlaps spec.addresses[0] of the same pool (203.0.113.10-203.0.113.20)`},
		{name: "pool namespace selector without values", op: config.Create,
			make: poolWith("nsel", func(s *heraldv1beta1.IPAddressPoolSpec) {
				s.ServiceAllocation = &heraldv1beta1.ServiceAllocation{NamespaceSelectors: noValues}
			}),
			want: `IPAddressPool "nsel": spec.serviceAllocation.namespaceSelectors[0]: `},
		{name: "pool service selector with an unknown operator", op: config.Create,
			make: poolWith("ssel", func(s *heraldv1beta1.IPAddressPoolSpec) {
				s.ServiceAllocation = &heraldv1beta1.ServiceAllocation{ServiceSelectors: sometimes}
			}),
			want: `IPAddressPool "ssel": spec.serviceAllocation.serviceSelectors[0]: "Sometimes" is not a valid label selector operator`},
		{name: "pool edited so that an advertisement's aggregate covers more than the pool", op: config.Update, make: pool("blue"),
			mutate: func(o client.Object) {
				o.(*heraldv1beta1.IPAddressPool).Spec.Addresses = []heraldv1beta1.AddressRange{"192.0.2.0/28"}
			},
			want: `BGPAdvertisement "pub": spec.aggregationLength: 26 is shorter than IPAddressPool "blue" spec.addresses[0] (192.0.2.0/28)`},
		{name: "pool outside the install namespace", op: config.Create, elsewhere: true, make: pool("away", "203.0.113.200/29"),
			want: `IPAddressPool "away": metadata.namespace: `, runtime: "ignored"},

		// Layer 2 advertisements.
		{name: "L2 node selector without values", op: config.Create, make: l2ad("l2-nodes", func(s *heraldv1beta1.L2AdvertisementSpec) { s.NodeSelectors = noValues }),
			want: `L2Advertisement "l2-nodes": spec.nodeSelectors[0]: `},
		{name: "L2 pool selector with an unknown operator", op: config.Create, make: l2ad("l2-pools", func(s *heraldv1beta1.L2AdvertisementSpec) { s.IPAddressPoolSelectors = sometimes }),
			want: `L2Advertisement "l2-pools": spec.ipAddressPoolSelectors[0]: "Sometimes" is not a valid label selector operator`},
		{name: "L2 preferred node selector without values", op: config.Create,
			make: l2ad("l2-pref", func(s *heraldv1beta1.L2AdvertisementSpec) {
				s.PreferredNodeSelectors = []heraldv1beta1.WeightedNodeSelector{{Weight: 10, Selector: noValues[0]}}
			}),
			want: `L2Advertisement "l2-pref": spec.preferredNodeSelectors[0].selector: `},
		{name: "L2 service selector with an unknown operator", op: config.Create, make: l2ad("l2-svc", func(s *heraldv1beta1.L2AdvertisementSpec) { s.ServiceSelectors = sometimes }),
			want: `L2Advertisement "l2-svc": spec.serviceSelectors[0]: "Sometimes" is not a valid label selector operator`},
		{name: "L2 advertisement outside the install namespace", op: config.Create, elsewhere: true, make: l2ad("l2-away", func(*heraldv1beta1.L2AdvertisementSpec) {}),
			want: `L2Advertisement "l2-away": metadata.namespace: `, runtime: "ignored"},

		// BGP advertisements.
		{name: "aggregation shorter than a selected pool", op: config.Create, make: bgpad("agg", func(s *heraldv1beta1.BGPAdvertisementSpec) { s.AggregationLength = ptr.To[int32](24) }),
			want: `BGPAdvertisement "agg": spec.aggregationLength: 24 is shorter than IPAddressPool "blue" spec.addresses[0] (192.0.2.0/26): the aggregate would cover addresses outside the pool`},
		{name: "IPv6 aggregation shorter than a pool selected by label", op: config.Create,
			make: bgpad("agg6", func(s *heraldv1beta1.BGPAdvertisementSpec) {
				s.IPAddressPools = []heraldv1beta1.ObjectName{"v6"}
				s.AggregationLengthV6 = ptr.To[int32](64)
			}),
			want: `BGPAdvertisement "agg6": spec.aggregationLengthV6: 64 is shorter than IPAddressPool "v6" spec.addresses[0] (2001:db8:1::/120)`},
		{name: "conflicting localPref for the same pool and peer", op: config.Create,
			make: bgpad("pref", func(s *heraldv1beta1.BGPAdvertisementSpec) {
				s.LocalPref = ptr.To[int64](200)
				s.Peers = []heraldv1beta1.ObjectName{"tor"}
			}),
			want: `BGPAdvertisement "pref": spec.localPref: 200 conflicts with localPref 100 of BGPAdvertisement "pub" for the same pool and peers`},
		{name: "conflicting localPref for a pool selected by label, to every peer", op: config.Create,
			make: bgpad("by-label", func(s *heraldv1beta1.BGPAdvertisementSpec) {
				s.IPAddressPools = nil
				s.IPAddressPoolSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "gold"}}}
				s.LocalPref = ptr.To[int64](300)
			}),
			want: `BGPAdvertisement "by-label": spec.localPref: 300 conflicts with localPref 100 of BGPAdvertisement "pub"`},
		{name: "working advertisement edited to an aggregate wider than its pool", op: config.Update, make: bgpad("pub", func(*heraldv1beta1.BGPAdvertisementSpec) {}),
			mutate: func(o client.Object) { o.(*heraldv1beta1.BGPAdvertisement).Spec.AggregationLength = ptr.To[int32](25) },
			want:   `BGPAdvertisement "pub": spec.aggregationLength: 25 is shorter than IPAddressPool "blue" spec.addresses[0] (192.0.2.0/26)`},
		{name: "the same community directly and through an alias", op: config.Create,
			make: bgpad("twice", func(s *heraldv1beta1.BGPAdvertisementSpec) {
				s.Communities = []heraldv1beta1.CommunityValue{"no-transit", "64512:666"}
			}),
			want: `BGPAdvertisement "twice": spec.communities[1]: 64512:666 is listed twice (directly or through an alias)`},
		{name: "the same community written two ways", op: config.Create,
			make: bgpad("zeros", func(s *heraldv1beta1.BGPAdvertisementSpec) {
				s.Communities = []heraldv1beta1.CommunityValue{"64512:1", "64512:01"}
			}),
			want: `BGPAdvertisement "zeros": spec.communities[1]: 64512:1 is listed twice`},
		{name: "working advertisement edited to an unknown alias", op: config.Update, make: bgpad("pub", func(*heraldv1beta1.BGPAdvertisementSpec) {}),
			mutate: func(o client.Object) {
				a := o.(*heraldv1beta1.BGPAdvertisement)
				a.Spec.Communities = append(a.Spec.Communities, "no-tarnsit")
			},
			want:    `BGPAdvertisement "pub": spec.communities[1]: names community alias "no-tarnsit", which does not exist: the BGPAdvertisement would stop working until it does`,
			runtime: `pending:BGPAdvertisement "pub": spec.communities[1] names community alias "no-tarnsit", which no Community defines yet`},
		{name: "BGP advertisement pool selector without values", op: config.Create,
			make: bgpad("bpools", func(s *heraldv1beta1.BGPAdvertisementSpec) { s.IPAddressPoolSelectors = noValues }),
			want: `BGPAdvertisement "bpools": spec.ipAddressPoolSelectors[0]: `},
		{name: "BGP advertisement service selector with an unknown operator", op: config.Create,
			make: bgpad("bsvc", func(s *heraldv1beta1.BGPAdvertisementSpec) { s.ServiceSelectors = sometimes }),
			want: `BGPAdvertisement "bsvc": spec.serviceSelectors[0]: "Sometimes" is not a valid label selector operator`},
		{name: "BGP advertisement node selector without values", op: config.Create, make: bgpad("bnodes", func(s *heraldv1beta1.BGPAdvertisementSpec) { s.NodeSelectors = noValues }),
			want: `BGPAdvertisement "bnodes": spec.nodeSelectors[0]: `},
		{name: "BGP advertisement outside the install namespace", op: config.Create, elsewhere: true, make: bgpad("b-away", func(*heraldv1beta1.BGPAdvertisementSpec) {}),
			want: `BGPAdvertisement "b-away": metadata.namespace: `, runtime: "ignored"},

		// BGP peers.
		{name: "second peer to the same router on every node", op: config.Create, make: peer("tor2", "203.0.113.1", nil),
			want: `BGPPeer "tor2": spec.peerAddress: 203.0.113.1 port 179 is already the address of BGPPeer "tor" on every node; give one of them nodeSelectors`},
		{name: "second peer to the same router with the port written out", op: config.Create,
			make: peer("tor-179", "203.0.113.1", func(s *heraldv1beta1.BGPPeerSpec) { s.PeerPort = 179 }),
			want: `BGPPeer "tor-179": spec.peerAddress: 203.0.113.1 port 179 is already the address of BGPPeer "tor" on every node`},
		{name: "second peer to the same router on the same nodes", op: config.Create,
			make: peer("rack1-again", "203.0.113.2", func(s *heraldv1beta1.BGPPeerSpec) { s.NodeSelectors = rack1 }),
			want: `BGPPeer "rack1-again": spec.nodeSelectors: BGPPeer "rack1" has the same address 203.0.113.2 port 179 on some of the same nodes`},
		{name: "peer on every node to a router a rack already peers with", op: config.Create, make: peer("all-racks", "203.0.113.2", nil),
			want: `BGPPeer "all-racks": spec.nodeSelectors: BGPPeer "rack1" has the same address 203.0.113.2 port 179 on some of the same nodes`},
		{name: "keepalive not shorter than the default hold time", op: config.Create,
			make: peer("slow", "203.0.113.3", func(s *heraldv1beta1.BGPPeerSpec) { s.KeepaliveTime = &metav1.Duration{Duration: 100 * time.Second} }),
			want: `BGPPeer "slow": spec.keepaliveTime: 1m40s must be shorter than holdTime 1m30s`},
		{name: "peer node selector with an unknown operator", op: config.Create,
			make: peer("psel", "203.0.113.4", func(s *heraldv1beta1.BGPPeerSpec) { s.NodeSelectors = sometimes }),
			want: `BGPPeer "psel": spec.nodeSelectors[0]: "Sometimes" is not a valid label selector operator`},
		{name: "working peer edited to a missing BFD profile", op: config.Update, make: peer("tor", "", nil),
			mutate:  func(o client.Object) { o.(*heraldv1beta1.BGPPeer).Spec.BFDProfile = "missing" },
			want:    `BGPPeer "tor": spec.bfdProfile: names BFDProfile "missing", which does not exist`,
			runtime: `pending:BGPPeer "tor": spec.bfdProfile names BFDProfile "missing", which does not exist yet`},

		// Communities and BFD profiles.
		{name: "alias defined again with another value", op: config.Create, make: community("other", heraldv1beta1.CommunityAlias{Name: "no-transit", Value: "1:1"}),
			want: `Community "other": spec.communities[0].name: alias "no-transit" is already defined as 64512:666 in Community "edge"`},
		{name: "Community edited to drop an alias in use", op: config.Update, make: community("edge"),
			mutate: func(o client.Object) {
				c := o.(*heraldv1beta1.Community)
				c.Spec.Communities = c.Spec.Communities[1:]
			},
			want:    `Community "edge": spec: removes community alias "no-transit", which BGPAdvertisement "pub" spec.communities[0] uses; remove that reference first`,
			runtime: `pending:BGPAdvertisement "pub": spec.communities[0] names community alias "no-transit", which no Community defines yet`},
		{name: "Community deleted while its alias is in use", op: config.Delete, make: community("edge"),
			want:    `Community "edge": metadata.name: is in use: BGPAdvertisement "pub" spec.communities[0] names community alias "no-transit"; remove that reference first`,
			runtime: `pending:BGPAdvertisement "pub": spec.communities[0] names community alias "no-transit"`},
		{name: "BFD profile deleted while a peer uses it", op: config.Delete, make: named(&heraldv1beta1.BFDProfile{}, "fast"),
			want:    `BFDProfile "fast": metadata.name: is in use: BGPPeer "tor" spec.bfdProfile names BFDProfile "fast"; remove that reference first`,
			runtime: `pending:BGPPeer "tor": spec.bfdProfile names BFDProfile "fast", which does not exist yet`},
		{name: "BFD profile outside the install namespace", op: config.Create, elsewhere: true, make: named(&heraldv1beta1.BFDProfile{}, "fast-away"),
			want: `BFDProfile "fast-away": metadata.namespace: `, runtime: "ignored"},
		{name: "peer outside the install namespace", op: config.Create, elsewhere: true, make: peer("p-away", "203.0.113.9", nil),
			want: `BGPPeer "p-away": metadata.namespace: `, runtime: "ignored"},
	}
}

// apply makes the change in namespace ns (or elsewhere) and returns a function that undoes it.
func (c badChange) apply(ctx context.Context, ns, elsewhere string) (undo func() error, err error) {
	obj := c.make(ns)
	if c.elsewhere {
		obj.SetNamespace(elsewhere)
	}
	switch c.op {
	case config.Create:
		if err := sharedClient.Create(ctx, obj); err != nil {
			return nil, err
		}
		return func() error { return sharedClient.Delete(ctx, obj) }, nil
	case config.Update:
		if err := sharedClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil, err
		}
		orig := obj.DeepCopyObject().(client.Object)
		c.mutate(obj)
		if err := sharedClient.Update(ctx, obj); err != nil {
			return nil, err
		}
		return func() error {
			orig.SetResourceVersion(obj.GetResourceVersion())
			return sharedClient.Update(ctx, orig)
		}, nil
	default:
		if err := sharedClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil, err
		}
		if err := sharedClient.Delete(ctx, obj); err != nil {
			return nil, err
		}
		return func() error {
			obj.SetResourceVersion("")
			obj.SetUID("")
			return sharedClient.Create(ctx, obj)
		}, nil
	}
}

func createAll(t *testing.T, objs []client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := sharedClient.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func TestWebhookRefusesBadConfigurationNamingObjectAndField(t *testing.T) {
	f := newFixture(t)
	runWebhook(t, f, CertOptions{})
	elsewhere := createNamespace(t, "elsewhere", map[string]string{webhookLabel: f.install})
	createAll(t, baseConfiguration(f.install))
	changes := badChanges()
	if len(changes) < 30 {
		t.Fatalf("only %d bad changes", len(changes))
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			undo, err := c.apply(context.Background(), f.install, elsewhere)
			if err == nil {
				_ = undo()
				t.Fatalf("the webhook let it through")
			}
			if !strings.Contains(err.Error(), `admission webhook "validate.herald.io" denied the request: `+c.want) {
				t.Errorf("refused with\n%v\nwant\n%s", err, c.want)
			}
		})
	}
}

// The same bad changes, made while no webhook guards the namespace: the programs report them in
// ConfigurationState and keep serving with the last valid configuration.
func TestBadConfigurationPastTheWebhookIsReportedWhileServicesKeepTheirAddresses(t *testing.T) {
	f := newFixture(t)
	elsewhere := createNamespace(t, "elsewhere", nil)
	node := f.ns + "-n1"
	createNode(t, node, nil)
	createAll(t, baseConfiguration(f.install))
	runController(t, f.options())
	l2 := runL2SpeakerWith(t, f, L2SpeakerOptions{Node: node, Membership: membership.NewStatic(node)})
	f.service("web")
	addr := f.addresses("web", 1)[0]
	f.endpoint("web", node)
	speakerState := "speaker-" + node
	states := []string{"controller", speakerState}
	for _, name := range states {
		f.waitConfigState(name, heraldv1beta1.ConfigurationValid, "")
	}
	eventually(t, "the speaker answers for web", func() string {
		if got := l2.serving(); got != "eth0="+addr.String() {
			return "serving " + got
		}
		return ""
	})
	// Every bad object is newer than the base, as it would be in a cluster; creation times
	// have a resolution of one second.
	var newest metav1.Time
	for _, o := range baseConfiguration(f.install) {
		if err := sharedClient.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		if ts := o.GetCreationTimestamp(); newest.Before(&ts) {
			newest = ts
		}
	}
	time.Sleep(time.Until(newest.Add(time.Second)))

	for _, c := range badChanges() {
		t.Run(c.name, func(t *testing.T) {
			undo, err := c.apply(context.Background(), f.install, elsewhere)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range states {
				switch {
				case c.runtime == "ignored":
					if st := f.configState(name); st.Status.Result != heraldv1beta1.ConfigurationValid {
						t.Errorf("%s: an object outside the install namespace changed the result to %s: %s", name, st.Status.Result, st.Status.Summary)
					}
				case strings.HasPrefix(c.runtime, "pending:"):
					want := strings.TrimPrefix(c.runtime, "pending:")
					eventually(t, name+" lists the dangling reference", func() string {
						st := f.configState(name)
						if st.Status.Result != heraldv1beta1.ConfigurationValid || !slices.ContainsFunc(st.Status.Pending, func(p string) bool { return strings.Contains(p, want) }) {
							return fmt.Sprintf("result %s, pending %q", st.Status.Result, st.Status.Pending)
						}
						return ""
					})
				default:
					want := c.want
					if c.runtime != "" {
						want = c.runtime
					}
					f.waitConfigState(name, heraldv1beta1.ConfigurationInvalid, want)
				}
			}
			if got := f.addresses("web", 1)[0]; got != addr {
				t.Errorf("web moved from %s to %s", addr, got)
			}
			if got := l2.serving(); got != "eth0="+addr.String() {
				t.Errorf("the speaker serves %q, want web's %s", got, addr)
			}
			if err := undo(); err != nil {
				t.Fatal(err)
			}
			for _, name := range states {
				eventually(t, name+" is valid again, with nothing pending", func() string {
					st := f.configState(name)
					if st.Status.Result != heraldv1beta1.ConfigurationValid || len(st.Status.Pending) > 0 {
						return fmt.Sprintf("result %s, summary %q, pending %q", st.Status.Result, st.Status.Summary, st.Status.Pending)
					}
					return ""
				})
			}
		})
	}
}
