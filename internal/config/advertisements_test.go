package config

import (
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func TestL2AdvertisementsSelectPoolsNodesAndPreferences(t *testing.T) {
	red := pool("red", "192.0.2.0/28")
	red.Labels = map[string]string{"tier": "edge"}
	blue := pool("blue", "203.0.113.0/28")
	c, err := Parse(Resources{
		Pools: []heraldv1beta1.IPAddressPool{red, blue},
		L2Advertisements: []heraldv1beta1.L2Advertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "all"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "by-name"}, Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue", "later"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "by-label"}, Spec: heraldv1beta1.L2AdvertisementSpec{
				IPAddressPoolSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "edge"}}},
				NodeSelectors:          []metav1.LabelSelector{{MatchLabels: map[string]string{"role": "edge"}}},
				PreferredNodeSelectors: []heraldv1beta1.WeightedNodeSelector{
					{Weight: 10, Selector: metav1.LabelSelector{MatchLabels: map[string]string{"rack": "a"}}},
					{Weight: 5, Selector: metav1.LabelSelector{MatchLabels: map[string]string{"ssd": "yes"}}},
				},
				Interfaces: []heraldv1beta1.InterfaceName{"eth1", "eth0"},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	names := func(ads []*L2Advertisement) string {
		var s []string
		for _, a := range ads {
			s = append(s, a.Name)
		}
		return strings.Join(s, ",")
	}
	if got := names(c.L2AdvertisementsFor(c.Pool("red"))); got != "all,by-label" {
		t.Errorf("ads for red = %s", got)
	}
	if got := names(c.L2AdvertisementsFor(c.Pool("blue"))); got != "all,by-name" {
		t.Errorf("ads for blue = %s", got)
	}
	if len(c.Pending) != 1 || !strings.Contains(c.Pending[0].String(), `IPAddressPool "later", which does not exist yet`) {
		t.Errorf("pending = %q, want the missing pool reported", c.Pending)
	}
	ad := c.L2Advertisements[1]
	if ad.Name != "by-label" || strings.Join(ad.Interfaces, ",") != "eth0,eth1" {
		t.Fatalf("ad = %+v", ad)
	}
	if !ad.Nodes.Matches(labels.Set{"role": "edge"}) || ad.Nodes.Matches(labels.Set{"role": "core"}) {
		t.Error("node selectors do not select")
	}
	if got := ad.Preference(labels.Set{"rack": "a", "ssd": "yes"}); got != 15 {
		t.Errorf("preference = %d, want 15", got)
	}
	if got := ad.Preference(labels.Set{}); got != 0 {
		t.Errorf("preference = %d, want 0", got)
	}
	if p := c.PoolOf(netip.MustParseAddr("203.0.113.3")); p == nil || p.Name != "blue" {
		t.Errorf("PoolOf = %v", p)
	}
	if p := c.PoolOf(netip.MustParseAddr("198.51.100.1")); p != nil {
		t.Errorf("PoolOf an address outside every pool = %v", p.Name)
	}
}

func TestL2AdvertisementWithABadSelectorIsRejected(t *testing.T) {
	_, err := Parse(Resources{L2Advertisements: []heraldv1beta1.L2Advertisement{{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: heraldv1beta1.L2AdvertisementSpec{NodeSelectors: []metav1.LabelSelector{{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: metav1.LabelSelectorOpIn}},
		}}},
	}}})
	if err == nil || !strings.Contains(err.Error(), `L2Advertisement "bad": spec.nodeSelectors[0]: `) {
		t.Errorf("err = %v, want one naming the selector", err)
	}
}
