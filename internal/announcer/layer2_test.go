package announcer

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
)

func mustConfig(t *testing.T, ads ...heraldv1beta1.L2Advertisement) *config.Config {
	t.Helper()
	c, err := config.Parse(config.Resources{
		Pools: []heraldv1beta1.IPAddressPool{{
			ObjectMeta: metav1.ObjectMeta{Name: "pool"},
			Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"192.0.2.0/24", "2001:db8::/64"}},
		}},
		L2Advertisements: ads,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ad(name string, mut func(*heraldv1beta1.L2AdvertisementSpec)) heraldv1beta1.L2Advertisement {
	a := heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mut != nil {
		mut(&a.Spec)
	}
	return a
}

var eth0 = []Interface{{Name: "eth0", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64")}}, {Name: "eth1", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}}

func nodes(names ...string) []Node {
	var out []Node
	for _, n := range names {
		out = append(out, Node{Name: n, Labels: labels.Set{"kubernetes.io/hostname": n}, Interfaces: eth0})
	}
	return out
}

func svc(key string, addrs ...string) Service {
	s := Service{Key: key, EndpointNodes: map[string]bool{"n1": true}}
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, netip.MustParseAddr(a))
	}
	return s
}

func owners(anns []L2Announcement) map[string]string {
	out := map[string]string{}
	for _, a := range anns {
		out[a.Address.String()] = a.Owner
	}
	return out
}

func TestEverySpeakerComputesTheSameOwners(t *testing.T) {
	cfg := mustConfig(t, ad("all", nil))
	var svcs []Service
	for i := range 50 {
		svcs = append(svcs, svc(fmt.Sprintf("ns/s%d", i), fmt.Sprintf("192.0.2.%d", i+1), fmt.Sprintf("2001:db8::%x", i+1)))
	}
	in := Input{Config: cfg, Services: svcs, Nodes: nodes("n1", "n2", "n3"), Live: []string{"n3", "n1", "n2"}}
	var first map[string]string
	for _, self := range []string{"n1", "n2", "n3"} {
		in.Self = self
		anns := L2(in)
		if len(anns) != 100 {
			t.Fatalf("%s: %d announcements, want 100", self, len(anns))
		}
		got := owners(anns)
		if first == nil {
			first = got
		} else if d := cmp.Diff(first, got); d != "" {
			t.Fatalf("%s disagrees on owners:\n%s", self, d)
		}
		for _, a := range anns {
			if (a.Owner == self) != (len(a.Interfaces) > 0) {
				t.Errorf("%s: %s owned by %s with interfaces %v", self, a.Address, a.Owner, a.Interfaces)
			}
			if a.Owner == self && !slices.Equal(a.Interfaces, []string{"eth0"}) {
				t.Errorf("%s answers for %s on %v, want the on-link eth0", self, a.Address, a.Interfaces)
			}
		}
	}
	count := map[string]int{}
	for _, o := range first {
		count[o]++
	}
	if len(count) != 3 {
		t.Errorf("owners spread over %d nodes, want 3: %v", len(count), count)
	}
}

func TestWhoMayAnnounce(t *testing.T) {
	base := func() Input {
		return Input{Self: "n1", Config: mustConfig(t, ad("all", nil)), Nodes: nodes("n1", "n2", "n3"), Live: []string{"n1", "n2", "n3"}}
	}
	for _, tc := range []struct {
		name string
		mut  func(*Input)
		want map[string][]string // address -> allowed owners; absent: not announced
	}{
		{
			name: "address outside every pool is never announced",
			mut:  func(in *Input) { in.Services = []Service{svc("ns/a", "198.51.100.7")} },
			want: map[string][]string{},
		},
		{
			name: "no L2Advertisement covers the pool",
			mut: func(in *Input) {
				in.Config = mustConfig(t)
				in.Services = []Service{svc("ns/a", "192.0.2.7")}
			},
			want: map[string][]string{},
		},
		{
			name: "cluster traffic policy without any endpoint",
			mut: func(in *Input) {
				s := svc("ns/a", "192.0.2.7")
				s.EndpointNodes = nil
				in.Services = []Service{s}
			},
			want: map[string][]string{},
		},
		{
			name: "local traffic policy: only nodes with an endpoint",
			mut: func(in *Input) {
				s := svc("ns/a", "192.0.2.7")
				s.LocalTraffic = true
				s.EndpointNodes = map[string]bool{"n3": true}
				in.Services = []Service{s}
			},
			want: map[string][]string{"192.0.2.7": {"n3"}},
		},
		{
			name: "excluded and dead nodes are not candidates",
			mut: func(in *Input) {
				in.Nodes[0].Excluded = true
				in.Live = []string{"n1", "n2"}
				in.Services = []Service{svc("ns/a", "192.0.2.7")}
			},
			want: map[string][]string{"192.0.2.7": {"n2"}},
		},
		{
			name: "a node without a Node object is not a candidate",
			mut: func(in *Input) {
				in.Nodes = in.Nodes[:1]
				in.Live = []string{"n1", "ghost"}
				in.Services = []Service{svc("ns/a", "192.0.2.7")}
			},
			want: map[string][]string{"192.0.2.7": {"n1"}},
		},
		{
			name: "node selector and preferred nodes",
			mut: func(in *Input) {
				in.Config = mustConfig(t, ad("edge", func(s *heraldv1beta1.L2AdvertisementSpec) {
					s.NodeSelectors = []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: metav1.LabelSelectorOpIn, Values: []string{"n2", "n3"}}}}}
					s.PreferredNodeSelectors = []heraldv1beta1.WeightedNodeSelector{{Weight: 50, Selector: metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/hostname": "n3"}}}}
				}))
				var svcs []Service
				for i := range 20 {
					svcs = append(svcs, svc(fmt.Sprintf("ns/s%d", i), fmt.Sprintf("192.0.2.%d", i+1)))
				}
				in.Services = svcs
			},
			want: func() map[string][]string {
				m := map[string][]string{}
				for i := range 20 {
					m[fmt.Sprintf("192.0.2.%d", i+1)] = []string{"n3"}
				}
				return m
			}(),
		},
		{
			name: "a node lacking the named interface is not elected",
			mut: func(in *Input) {
				in.Config = mustConfig(t, ad("bond", func(s *heraldv1beta1.L2AdvertisementSpec) { s.Interfaces = []heraldv1beta1.InterfaceName{"bond0"} }))
				in.Nodes[1].Interfaces = append(in.Nodes[1].Interfaces, Interface{Name: "bond0"})
				in.Services = []Service{svc("ns/a", "192.0.2.7"), svc("ns/b", "192.0.2.8"), svc("ns/c", "192.0.2.9")}
			},
			want: map[string][]string{"192.0.2.7": {"n2"}, "192.0.2.8": {"n2"}, "192.0.2.9": {"n2"}},
		},
		{
			name: "service selectors",
			mut: func(in *Input) {
				in.Config = mustConfig(t, ad("public", func(s *heraldv1beta1.L2AdvertisementSpec) {
					s.ServiceSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"exposure": "public"}}}
				}))
				a, b := svc("ns/a", "192.0.2.7"), svc("ns/b", "192.0.2.8")
				a.Labels = labels.Set{"exposure": "public"}
				in.Services = []Service{a, b}
			},
			want: map[string][]string{"192.0.2.7": {"n1", "n2", "n3"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mut(&in)
			got := owners(L2(in))
			if len(got) != len(tc.want) {
				t.Fatalf("announced %v, want addresses %v", got, tc.want)
			}
			for addr, allowed := range tc.want {
				if !slices.Contains(allowed, got[addr]) {
					t.Errorf("%s owned by %q, want one of %v", addr, got[addr], allowed)
				}
			}
		})
	}
}

func TestSharedAddressHasOneOwnerAndAllItsServices(t *testing.T) {
	in := Input{Self: "n1", Config: mustConfig(t, ad("all", nil)), Nodes: nodes("n1", "n2"), Live: []string{"n1", "n2"},
		Services: []Service{svc("ns/web-https", "192.0.2.9"), svc("ns/web-http", "192.0.2.9")}}
	anns := L2(in)
	if len(anns) != 1 || !slices.Equal(anns[0].Services, []string{"ns/web-http", "ns/web-https"}) {
		t.Fatalf("announcements = %+v, want one listing both Services", anns)
	}
}

func TestForSelfGroupsByInterface(t *testing.T) {
	anns := []L2Announcement{
		{Address: netip.MustParseAddr("192.0.2.1"), Owner: "n1", Interfaces: []string{"eth0"}},
		{Address: netip.MustParseAddr("192.0.2.2"), Owner: "n2"},
		{Address: netip.MustParseAddr("2001:db8::1"), Owner: "n1", Interfaces: []string{"eth0", "eth1"}},
	}
	want := map[string][]netip.Addr{
		"eth0": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
		"eth1": {netip.MustParseAddr("2001:db8::1")},
	}
	if d := cmp.Diff(want, ForSelf("n1", anns), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("ForSelf (-want +got):\n%s", d)
	}
}

// A dual-stack Service whose families are announced from different nodes has both as
// announcers; a shared address counts for every Service holding it.
func TestAnnouncersOfADualStackServiceWithAnOwnerPerFamily(t *testing.T) {
	anns := []L2Announcement{
		{Address: netip.MustParseAddr("192.0.2.1"), Owner: "n1", Services: []string{"ns/web"}},
		{Address: netip.MustParseAddr("2001:db8::1"), Owner: "n2", Services: []string{"ns/web"}},
		{Address: netip.MustParseAddr("192.0.2.9"), Owner: "n3", Services: []string{"ns/a", "ns/b"}},
	}
	want := map[string]map[string]bool{
		"ns/web": {"n1": true, "n2": true},
		"ns/a":   {"n3": true},
		"ns/b":   {"n3": true},
	}
	if d := cmp.Diff(want, Announcers(anns)); d != "" {
		t.Errorf("Announcers (-want +got):\n%s", d)
	}
}
