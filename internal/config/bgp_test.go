package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

func bgpResources() Resources {
	return Resources{
		Pools: []heraldv1beta1.IPAddressPool{pool("pub", "192.0.2.0/26", "2001:db8::/120")},
		BGPPeers: []heraldv1beta1.BGPPeer{{
			ObjectMeta: metav1.ObjectMeta{Name: "tor"},
			Spec:       heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: i64(4200000001), PeerAddress: "203.0.113.1", BFDProfile: "fast"},
		}},
		BFDProfiles: []heraldv1beta1.BFDProfile{{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Spec: heraldv1beta1.BFDProfileSpec{ReceiveInterval: i32(100)}}},
		Communities: []heraldv1beta1.Community{{ObjectMeta: metav1.ObjectMeta{Name: "edge"}, Spec: heraldv1beta1.CommunitySpec{
			Communities: []heraldv1beta1.CommunityAlias{{Name: "no-transit", Value: "64512:666"}, {Name: "cust", Value: "large:64512:01:2"}},
		}}},
		BGPAdvertisements: []heraldv1beta1.BGPAdvertisement{{
			ObjectMeta: metav1.ObjectMeta{Name: "pub"},
			Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"pub"}, AggregationLength: i32(32),
				Communities: []heraldv1beta1.CommunityValue{"no-transit", "cust", "65000:1"}, Peers: []heraldv1beta1.ObjectName{"tor"}},
		}},
	}
}

func TestParseBGPResolvesAliasesAndAppliesDefaults(t *testing.T) {
	c, err := Parse(bgpResources())
	if err != nil {
		t.Fatal(err)
	}
	p := c.BGPPeers[0]
	if p.HoldTime != 90*time.Second || p.KeepaliveTime != 30*time.Second || p.Port != 179 || !p.IPv4 || p.IPv6 || p.IBGP() {
		t.Errorf("peer = %+v, want defaults 90s/30s/179, IPv4 only, eBGP", p)
	}
	if c.BFDProfiles["fast"].ReceiveInterval != 100*time.Millisecond || c.BFDProfiles["fast"].DetectMultiplier != 3 {
		t.Errorf("BFD profile = %+v", c.BFDProfiles["fast"])
	}
	ad := c.BGPAdvertisements[0]
	if d := cmp.Diff([]string{"64512:666", "65000:1", "large:64512:1:2"}, ad.Communities); d != "" {
		t.Errorf("communities (-want +got):\n%s", d)
	}
	if !ad.SelectsPeer("tor") || ad.SelectsPeer("other") || ad.AggregationLengthV6 != 128 {
		t.Errorf("ad = %+v", ad)
	}
	if len(c.Pending) != 0 {
		t.Errorf("pending = %q", c.Pending)
	}
}

func TestParseBGPPendingReferences(t *testing.T) {
	r := bgpResources()
	r.BFDProfiles = nil
	r.BGPAdvertisements[0].Spec.Peers = []heraldv1beta1.ObjectName{"tor", "spine"}
	r.BGPAdvertisements = append(r.BGPAdvertisements, heraldv1beta1.BGPAdvertisement{
		ObjectMeta: metav1.ObjectMeta{Name: "waits"},
		Spec:       heraldv1beta1.BGPAdvertisementSpec{Communities: []heraldv1beta1.CommunityValue{"not-yet"}},
	})
	c, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.PendingText(), "\n")
	for _, want := range []string{
		`BGPPeer "tor": spec.bfdProfile names BFDProfile "fast", which does not exist yet`,
		`BGPAdvertisement "pub": spec.peers names BGPPeer "spine", which does not exist yet`,
		`BGPAdvertisement "waits": spec.communities[0] names community alias "not-yet"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("pending lacks %q:\n%s", want, got)
		}
	}
	if len(c.BGPAdvertisements) != 1 || c.BGPAdvertisements[0].Name != "pub" {
		t.Errorf("an advertisement missing its community alias must wait; got %d advertisements", len(c.BGPAdvertisements))
	}
}

func TestParseBGPRejectsCrossObjectConflicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Resources)
		want string
	}{
		{"alias defined twice with different values", func(r *Resources) {
			r.Communities = append(r.Communities, heraldv1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "more"},
				Spec: heraldv1beta1.CommunitySpec{Communities: []heraldv1beta1.CommunityAlias{{Name: "no-transit", Value: "1:1"}}}})
		}, `Community "more": spec.communities[0].name: alias "no-transit" is already defined as 64512:666 in Community "edge"`},
		{"community part out of range", func(r *Resources) {
			r.BGPAdvertisements[0].Spec.Communities = []heraldv1beta1.CommunityValue{"70000:1"}
		}, `BGPAdvertisement "pub": spec.communities[0]: "70000:1": each part of a standard community must be between 0 and 65535`},
		{"same community twice through an alias", func(r *Resources) {
			r.BGPAdvertisements[0].Spec.Communities = []heraldv1beta1.CommunityValue{"no-transit", "64512:666"}
		}, `BGPAdvertisement "pub": spec.communities[1]: 64512:666 is listed twice`},
		{"aggregation shorter than the pool", func(r *Resources) {
			r.BGPAdvertisements[0].Spec.AggregationLength = i32(24)
		}, `BGPAdvertisement "pub": spec.aggregationLength: 24 is shorter than IPAddressPool "pub" spec.addresses[0] (192.0.2.0/26)`},
		{"conflicting local preferences", func(r *Resources) {
			a := r.BGPAdvertisements[0].DeepCopy()
			a.Name = "pub2"
			r.BGPAdvertisements[0].Spec.LocalPref = i64(100)
			a.Spec.LocalPref = i64(200)
			r.BGPAdvertisements = append(r.BGPAdvertisements, *a)
		}, `BGPAdvertisement "pub2": spec.localPref: 200 conflicts with localPref 100 of BGPAdvertisement "pub"`},
		{"two peers to one router on every node", func(r *Resources) {
			p := r.BGPPeers[0].DeepCopy()
			p.Name = "tor2"
			r.BGPPeers = append(r.BGPPeers, *p)
		}, `BGPPeer "tor2": spec.peerAddress: 203.0.113.1 port 179 is already the address of BGPPeer "tor" on every node`},
		{"keepalive not shorter than hold time", func(r *Resources) {
			r.BGPPeers[0].Spec.HoldTime = &metav1.Duration{Duration: 9 * time.Second}
			r.BGPPeers[0].Spec.KeepaliveTime = &metav1.Duration{Duration: 30 * time.Second}
		}, `BGPPeer "tor": spec.keepaliveTime: 30s must be shorter than holdTime 9s`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bgpResources()
			tc.mut(&r)
			_, err := Parse(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
