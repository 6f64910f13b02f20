package lab

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/heraldlb/herald/internal/testenv"
)

// The lab may only use documentation ranges, must keep out of the API server's cluster IP
// ranges, and must keep its pool on its segment, for every shape it can take.
func TestAddressesStayInDocumentationRangesAndOffTheClusterIPs(t *testing.T) {
	doc := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
	}
	var cluster []netip.Prefix
	for _, s := range strings.Split(testenv.ServiceCIDRs, ",") {
		cluster = append(cluster, netip.MustParsePrefix(s))
	}
	for _, fam := range []Family{IPv4, IPv6, DualStack} {
		l := newLab("/repo", "/repo/_output/lab", Options{Nodes: 9, Family: fam}.withDefaults())
		var addrs []netip.Addr
		for _, n := range l.Nodes {
			addrs = append(addrs, n.Addrs()...)
		}
		ap, err := netip.ParseAddrPort(l.APIServer)
		if err != nil {
			t.Fatalf("%s: API server %q: %v", fam, l.APIServer, err)
		}
		addrs = append(addrs, ap.Addr())
		for _, a := range []netip.Addr{l.ClientAddr4, l.ClientAddr6} {
			if a.IsValid() {
				addrs = append(addrs, a)
			}
		}
		for _, r := range l.PoolRanges {
			first, last, _ := strings.Cut(r, "-")
			addrs = append(addrs, netip.MustParseAddr(first), netip.MustParseAddr(last))
		}
		seen := map[netip.Addr]bool{}
		for _, a := range addrs {
			if seen[a] && !strings.Contains(strings.Join(l.PoolRanges, ","), a.String()) {
				t.Errorf("%s: %s used twice", fam, a)
			}
			seen[a] = true
			if !containedIn(a, doc) {
				t.Errorf("%s: %s is outside the documentation ranges", fam, a)
			}
			if containedIn(a, cluster) {
				t.Errorf("%s: %s is in the cluster IP ranges %s", fam, a, testenv.ServiceCIDRs)
			}
			if !containedIn(a, l.segmentPrefixes()) {
				t.Errorf("%s: %s is off the segment %v", fam, a, l.segments())
			}
		}
		if (fam == IPv6) == l.Has4() || (fam == IPv4) == l.Has6() {
			t.Errorf("%s: Has4 %v, Has6 %v", fam, l.Has4(), l.Has6())
		}
		env := l.envFile()
		for _, v := range []string{"KUBECONFIG=", "LAB_NODES=", "LAB_CLIENT_NS=", "LAB_ROUTED_CLIENT_NS=", "LAB_ROUTER_NS=", "LAB_L2_POOL="} {
			if !strings.Contains(env, "export "+v) {
				t.Errorf("%s: env file lacks %s:\n%s", fam, v, env)
			}
		}
	}
}

func containedIn(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{{Nodes: 10}, {Family: "ipx"}} {
		if err := o.withDefaults().validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (Options{}).withDefaults().validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
