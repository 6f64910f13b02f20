package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func pool(name string, addrs ...string) heraldv1beta1.IPAddressPool {
	p := heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, heraldv1beta1.AddressRange(a))
	}
	return p
}

func TestParsePoolsAppliesDefaultsAndSortsByName(t *testing.T) {
	off := false
	b := pool("b", "198.51.100.0/24")
	b.Spec.AutoAssign = &off
	a := pool("a", "192.0.2.10-192.0.2.20", "2001:db8::/120")
	a.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 5}
	c, err := Parse(Resources{Pools: []heraldv1beta1.IPAddressPool{b, a}})
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Name       string
		Ranges     string
		AutoAssign bool
		Priority   int
		V4, V6     bool
	}
	var got []summary
	for _, p := range c.Pools {
		var rs []string
		for _, r := range p.Ranges {
			rs = append(rs, r.String())
		}
		got = append(got, summary{p.Name, strings.Join(rs, ","), p.AutoAssign, p.Priority, p.HasV4(), p.HasV6()})
	}
	want := []summary{
		{"a", "192.0.2.10-192.0.2.20,2001:db8::/120", true, 5, true, true},
		{"b", "198.51.100.0/24", false, NoPriority, true, false},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pools (-want +got):\n%s", d)
	}
	if c.Pool("a") != c.Pools[0] || c.Pool("nope") != nil {
		t.Error("Pool() does not find pools by name")
	}
}

func TestParsePoolsReportsEveryProblemWithObjectAndField(t *testing.T) {
	bad := pool("bad", "192.0.2.1/24", "not-an-address")
	sel := pool("sel", "203.0.113.0/28")
	sel.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{
		ServiceSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Sometimes"}}}},
	}
	objs := []heraldv1beta1.IPAddressPool{
		pool("red", "192.0.2.0/25"),
		pool("blue", "192.0.2.64-192.0.2.70"),
		pool("self", "198.51.100.0/24", "198.51.100.128/25"),
		bad, sel, pool("red", "203.0.113.200/32"),
	}
	// Created in this order: the newer of two overlapping pools is the one reported.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range objs {
		objs[i].CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(i) * time.Minute))
	}
	_, err := Parse(Resources{Pools: objs})
	es, ok := AsErrors(err)
	if !ok {
		t.Fatalf("err = %v, want Errors", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{
		`IPAddressPool "bad": spec.addresses[0]: "192.0.2.1/24" has host bits set; did you mean "192.0.2.0/24"?`,
		`IPAddressPool "bad": spec.addresses[1]: `,
		`IPAddressPool "sel": spec.serviceAllocation.serviceSelectors[0]: `,
		`IPAddressPool "red": metadata.name: defined twice`,
		`IPAddressPool "blue": spec.addresses[0]: 192.0.2.64-192.0.2.70 overlaps IPAddressPool "red" spec.addresses[0] (192.0.2.0/25); a block belongs to one pool`,
		`IPAddressPool "self": spec.addresses[1]: 198.51.100.128/25 overlaps spec.addresses[0] of the same pool (198.51.100.0/24)`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error starting with %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestPoolAllows(t *testing.T) {
	restricted := pool("r", "192.0.2.0/24")
	restricted.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{
		Namespaces:         []string{"web"},
		NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "edge"}}},
		ServiceSelectors:   []metav1.LabelSelector{{MatchLabels: map[string]string{"exposure": "public"}}},
	}
	nsOnly := pool("n", "198.51.100.0/24")
	nsOnly.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Namespaces: []string{"web"}}
	c, err := Parse(Resources{Pools: []heraldv1beta1.IPAddressPool{restricted, nsOnly, pool("open", "203.0.113.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	public := labels.Set{"exposure": "public"}
	for _, tc := range []struct {
		name      string
		pool      string
		ns        string
		nsLabels  labels.Set
		svcLabels labels.Set
		want      bool
	}{
		{"open pool allows anyone", "open", "any", nil, nil, true},
		{"listed namespace and matching service", "r", "web", nil, public, true},
		{"namespace matched by selector", "r", "shop", labels.Set{"team": "edge"}, public, true},
		{"namespace neither listed nor selected", "r", "shop", labels.Set{"team": "core"}, public, false},
		{"listed namespace but service not selected", "r", "web", nil, labels.Set{"exposure": "internal"}, false},
		{"namespace-only restriction ignores service labels", "n", "web", nil, nil, true},
		{"namespace-only restriction refuses other namespaces", "n", "shop", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Pool(tc.pool).Allows(tc.ns, tc.nsLabels, tc.svcLabels); got != tc.want {
				t.Errorf("Allows = %v, want %v", got, tc.want)
			}
		})
	}
}
