package announcer

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
)

func bgpConfig(t *testing.T, mut func(*config.Resources)) *config.Config {
	t.Helper()
	asn := int64(64513)
	agg := int32(30)
	r := config.Resources{
		Pools: []heraldv1beta1.IPAddressPool{{
			ObjectMeta: metav1.ObjectMeta{Name: "pool"},
			Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"192.0.2.0/24", "2001:db8::/64"}},
		}},
		BGPPeers: []heraldv1beta1.BGPPeer{
			{ObjectMeta: metav1.ObjectMeta{Name: "tor-a"}, Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: &asn, PeerAddress: "203.0.113.1",
				AddressFamilies: []heraldv1beta1.AddressFamily{"IPv4", "IPv6"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "tor-b"}, Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: &asn, PeerAddress: "203.0.113.2",
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "b"}}}}},
		},
		BGPAdvertisements: []heraldv1beta1.BGPAdvertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "host-routes"}, Spec: heraldv1beta1.BGPAdvertisementSpec{Communities: []heraldv1beta1.CommunityValue{"64512:1"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "aggregate"}, Spec: heraldv1beta1.BGPAdvertisementSpec{AggregationLength: &agg, Peers: []heraldv1beta1.ObjectName{"tor-a"},
				Communities: []heraldv1beta1.CommunityValue{"large:64512:2:3"}}},
		},
	}
	if mut != nil {
		mut(&r)
	}
	c, err := config.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func routes(p BGPPlan) []string {
	var out []string
	for _, a := range p.Advertisements {
		out = append(out, fmt.Sprintf("%s->%v%v", a.Prefix, a.Peers, a.Communities))
	}
	slices.Sort(out)
	return out
}

func TestBGPAdvertisesToThePeersOfThisNode(t *testing.T) {
	in := Input{Self: "n1", Config: bgpConfig(t, nil), Nodes: []Node{{Name: "n1", Labels: labels.Set{"rack": "a"}}},
		Services: []Service{svc("ns/web", "192.0.2.9", "2001:db8::9")}}
	plan := BGP(in)
	if len(plan.Peers) != 1 || plan.Peers[0].Name != "tor-a" {
		t.Fatalf("peers = %v, want tor-a only (tor-b selects rack b)", plan.Peers)
	}
	want := []string{
		"192.0.2.8/30->[tor-a][64512:2:3]",
		"192.0.2.9/32->[tor-a][64512:1]",
		"2001:db8::9/128->[tor-a][64512:1]",
		"2001:db8::9/128->[tor-a][64512:2:3]", // same prefix from both ads: internal/bgp merges them
	}
	if got := routes(plan); !slices.Equal(got, want) {
		t.Errorf("routes = %v\nwant %v", got, want)
	}
	if got := plan.Services["ns/web"]; !slices.Equal(got, []string{"tor-a"}) {
		t.Errorf("service peers = %v", got)
	}
	if got := plan.PrefixesOf([]netip.Addr{netip.MustParseAddr("192.0.2.9")}); !slices.Equal(got, []string{"192.0.2.8/30", "192.0.2.9/32"}) {
		t.Errorf("prefixes of the address = %v", got)
	}
}

func TestBGPWithdrawsWhenThisNodeMayNotServe(t *testing.T) {
	base := func() Input {
		return Input{Self: "n1", Config: bgpConfig(t, nil), Nodes: []Node{{Name: "n1", Labels: labels.Set{"rack": "b"}}},
			Services: []Service{svc("ns/web", "192.0.2.9")}}
	}
	for _, tc := range []struct {
		name string
		mut  func(*Input)
	}{
		{"node excluded", func(in *Input) { in.Nodes[0].Excluded = true }},
		{"local traffic policy without a local endpoint", func(in *Input) {
			in.Services[0].LocalTraffic = true
			in.Services[0].EndpointNodes = map[string]bool{"n2": true}
		}},
		{"no endpoint anywhere", func(in *Input) { in.Services[0].EndpointNodes = nil }},
		{"address outside every pool", func(in *Input) { in.Services[0].Addresses = []netip.Addr{netip.MustParseAddr("198.51.100.9")} }},
		{"pool removed", func(in *Input) {
			in.Config = bgpConfig(t, func(r *config.Resources) { r.Pools = nil })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			if got := routes(BGP(in)); len(got) == 0 {
				t.Fatal("the base case advertises nothing")
			}
			tc.mut(&in)
			plan := BGP(in)
			if got := routes(plan); len(got) != 0 {
				t.Errorf("routes = %v, want none", got)
			}
			if len(plan.Peers) != 2 {
				t.Errorf("peers = %d, want both sessions kept with nothing to advertise", len(plan.Peers))
			}
		})
	}
}
