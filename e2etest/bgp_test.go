package e2etest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
)

// Herald's annotations and labels (internal/k8s), spelled out: the e2e module does not link the
// programs' packages.
const (
	annotationAddressPool       = "herald.io/address-pool"
	annotationAllocatedFromPool = "herald.io/ip-allocated-from-pool"
	annotationAllowSharedIP     = "herald.io/allow-shared-ip"
	annotationLoadBalancerIPs   = "herald.io/loadBalancerIPs"
	labelExcludeFromLB          = "node.kubernetes.io/exclude-from-external-load-balancers"
)

// bgpPool is the IPAddressPool (of the lab's BGP addresses, off the segment) that TestMain
// creates with a BGPAdvertisement to every peer; Services take it by annotation.
const bgpPool = "e2e-bgp"

// createBGPService makes a Service from the BGP pool; spec's namespace defaults to e2e.
func createBGPService(t *testing.T, spec lab.ServiceSpec) *corev1.Service {
	t.Helper()
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	spec.Annotations[annotationAddressPool] = bgpPool
	return createServiceFrom(t, spec)
}

// waitAnnotation waits until the Service carries annotation key with value want.
func waitAnnotation(t *testing.T, svc *corev1.Service, key, want string) {
	t.Helper()
	c, err := theLab.Client()
	if err != nil {
		t.Fatal(err)
	}
	var got string
	eventually(t, 20*time.Second, 50*time.Millisecond, fmt.Sprintf("annotation %s=%s on Service %s", key, want, svc.Name), func() bool {
		var s corev1.Service
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(svc), &s); err != nil {
			return false
		}
		got = s.Annotations[key]
		return got == want
	})
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// nodeAddrs returns the segment addresses, of a's family, of the named nodes (all without
// names), sorted.
func nodeAddrs(t *testing.T, a netip.Addr, names ...string) []netip.Addr {
	t.Helper()
	if len(names) == 0 {
		names = allNodeNames()
	}
	for _, name := range names {
		if _, ok := theLab.Node(name); !ok {
			t.Fatalf("no node %s", name)
		}
	}
	return nodeAddrsOf(a, names...)
}

// bgpServiceEverywhere makes a dual-stack Service from the BGP pool with an endpoint on every
// node and waits until the router has each of its addresses via every node.
func bgpServiceEverywhere(t *testing.T, name string) (*corev1.Service, []netip.Addr) {
	t.Helper()
	svc := createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: name, Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	addrs := lab.IngressAddrs(svc)
	for _, a := range addrs {
		waitNextHops(t, a, nodeAddrs(t, a), 30*time.Second)
	}
	return svc, addrs
}

// waitNextHops waits until the router's installed route to a has exactly the next hops want
// (none: no route) and returns how long that took.
func waitNextHops(t *testing.T, a netip.Addr, want []netip.Addr, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got []netip.Addr
	var err error
	eventually(t, timeout, 10*time.Millisecond, fmt.Sprintf("the router's next hops for %s to be %v", a, want), func() bool {
		got, err = theLab.RouterNextHops(hostPrefix(a))
		return err == nil && slices.Equal(got, want)
	})
	return time.Since(start)
}

// curlFrom fetches http://addr/ from network namespace ns; it returns the answering node or "".
func curlFrom(ns string, addr netip.Addr, timeout time.Duration) string {
	out, err := lab.Output(ns, "curl", "-sS", "-g", "--max-time", fmt.Sprintf("%.3f", timeout.Seconds()), "http://"+netip.AddrPortFrom(addr, 80).String()+"/")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// spread makes n connections to addr from ns and counts the answering nodes ("" for failures).
func spread(ns string, addr netip.Addr, n int) map[string]int {
	count := map[string]int{}
	for range n {
		count[curlFrom(ns, addr, 2*time.Second)]++
	}
	return count
}

func allNodeNames() []string {
	var out []string
	for _, n := range theLab.Nodes {
		out = append(out, n.Name)
	}
	return out
}

// Every node announces a dual-stack Service to the router, which installs three ECMP next hops
// per family, and connections from the routed client land on every node.
func TestBGPRoutedClientReachesEveryNodeThroughECMP(t *testing.T) {
	l := requireLab(t)
	svc := createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: "bgp-ecmp", Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	waitAnnotation(t, svc, annotationAllocatedFromPool, bgpPool)
	for _, a := range lab.IngressAddrs(svc) {
		waitNextHops(t, a, nodeAddrs(t, a), 30*time.Second)
		count := spread(l.RoutedClientNS, a, 40)
		t.Logf("%s from %s over 40 connections: %v", a, l.RoutedClientNS, count)
		if count[""] > 0 {
			t.Errorf("%d of 40 connections to %s failed", count[""], a)
		}
		for _, n := range l.Nodes {
			if count[n.Name] == 0 {
				t.Errorf("no connection to %s landed on %s: %v", a, n.Name, count)
			}
		}
		// The client on the segment has a route to the BGP pool through the router as well.
		if got := curlFrom(l.ClientNS, a, 5*time.Second); !slices.Contains(allNodeNames(), got) {
			t.Errorf("the segment client got %q from %s through the router", got, a)
		}
	}
	// The router announces prefixes of its own to the nodes: they neither install them nor send
	// them back.
	for _, p := range l.RouterOnlyPrefixes() {
		for _, n := range l.Nodes {
			out, err := lab.Output(n.Namespace, "ip", "route", "show", p)
			if err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("%s installed the router's %s: %q (%v)", n.Name, p, out, err)
			}
		}
		hops, err := l.RouterNextHops(netip.MustParsePrefix(p))
		if err != nil || len(hops) > 0 {
			t.Errorf("the router learned its own %s back from %v (%v)", p, hops, err)
		}
	}
	checkBGPStatus(t, svc)
}

// checkBGPStatus checks the status objects: every node has an Established session with each
// router peer that sent prefixes, and a ServiceBGPStatus naming the peers of each family.
func checkBGPStatus(t *testing.T, svc *corev1.Service) {
	t.Helper()
	c, err := theLab.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var peers []string
	for _, p := range theLab.RouterPeers() {
		peers = append(peers, p.Name)
	}
	var problems []string
	eventually(t, 30*time.Second, 200*time.Millisecond, "BGPSessionStates and ServiceBGPStatuses", func() bool {
		problems = nil
		var ss heraldv1beta1.BGPSessionStateList
		if err := c.List(ctx, &ss, client.InNamespace(lab.HeraldNamespace)); err != nil {
			problems = append(problems, err.Error())
			return false
		}
		for _, n := range theLab.Nodes {
			for _, p := range peers {
				i := slices.IndexFunc(ss.Items, func(s heraldv1beta1.BGPSessionState) bool {
					return s.Spec.Node == n.Name && string(s.Spec.Peer) == p
				})
				switch {
				case i < 0:
					problems = append(problems, fmt.Sprintf("no BGPSessionState for %s/%s", n.Name, p))
				case ss.Items[i].Status.SessionState != "Established" || ss.Items[i].Status.PrefixesSent < 1 || ss.Items[i].Status.EstablishedSince == nil:
					problems = append(problems, fmt.Sprintf("BGPSessionState %s: %+v", ss.Items[i].Name, ss.Items[i].Status))
				}
			}
		}
		var bs heraldv1beta1.ServiceBGPStatusList
		if err := c.List(ctx, &bs, client.InNamespace(lab.HeraldNamespace)); err != nil {
			problems = append(problems, err.Error())
			return false
		}
		for _, n := range theLab.Nodes {
			i := slices.IndexFunc(bs.Items, func(s heraldv1beta1.ServiceBGPStatus) bool {
				return s.Spec.Node == n.Name && s.Spec.ServiceName == svc.Name && s.Spec.ServiceNamespace == svc.Namespace
			})
			if i < 0 {
				problems = append(problems, "no ServiceBGPStatus of "+n.Name)
				continue
			}
			st := bs.Items[i].Status
			if got := slices.Sorted(slices.Values(st.Peers)); !slices.Equal(got, peers) || len(st.Prefixes) != len(lab.IngressAddrs(svc)) {
				problems = append(problems, fmt.Sprintf("ServiceBGPStatus of %s: %+v, want peers %v", n.Name, st, peers))
			}
		}
		return len(problems) == 0
	})
	if len(problems) > 0 {
		t.Error(strings.Join(problems, "\n"))
	}
}

// With externalTrafficPolicy Local only nodes with a ready endpoint announce; when endpoints
// move, routes follow.
func TestBGPExternalTrafficPolicyLocalFollowsEndpoints(t *testing.T) {
	l := requireLab(t)
	svc := createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: "bgp-local", Local: true, EndpointNodes: []string{"node2"},
		Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	addrs := lab.IngressAddrs(svc)
	for _, a := range addrs {
		waitNextHops(t, a, nodeAddrs(t, a, "node2"), 30*time.Second)
		if count := spread(l.RoutedClientNS, a, 10); count["node2"] != 10 {
			t.Errorf("connections to %s: %v, want all on node2", a, count)
		}
	}
	ctx := context.Background()
	move := func(to ...string) time.Duration {
		t.Helper()
		start := time.Now()
		if err := l.SetEndpoints(ctx, svc, to); err != nil {
			t.Fatal(err)
		}
		var want [][]netip.Addr
		for _, a := range addrs {
			want = append(want, nodeAddrs(t, a, to...))
			if len(to) == 0 {
				want[len(want)-1] = nil
			}
		}
		eventually(t, 20*time.Second, 5*time.Millisecond, fmt.Sprintf("next hops following endpoints on %v", to), func() bool {
			for i, a := range addrs {
				got, err := l.RouterNextHops(hostPrefix(a))
				if err != nil || !slices.Equal(got, want[i]) {
					return false
				}
			}
			return true
		})
		return time.Since(start)
	}
	d1 := move("node3")
	for _, a := range addrs {
		if count := spread(l.RoutedClientNS, a, 10); count["node3"] != 10 {
			t.Errorf("connections to %s after the endpoint moved: %v, want all on node3", a, count)
		}
	}
	d2 := move("node1", "node3")
	d3 := move()
	t.Logf("router's next hops followed the endpoints (both families) in %s (move), %s (add), %s (remove all)",
		d1.Round(time.Millisecond), d2.Round(time.Millisecond), d3.Round(time.Millisecond))
	recordFigure("etp-local-follow", d1, d2, d3)
}

// With externalTrafficPolicy Cluster every eligible node announces while the Service has an
// endpoint anywhere, and none when it has none.
func TestBGPExternalTrafficPolicyClusterAnnouncesWhileAnyEndpointExists(t *testing.T) {
	l := requireLab(t)
	svc := createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: "bgp-cluster", EndpointNodes: []string{"node2"}})
	a := lab.IngressAddrs(svc)[0]
	waitNextHops(t, a, nodeAddrs(t, a), 30*time.Second)
	if count := spread(l.RoutedClientNS, a, 30); count[""] > 0 || len(count) != len(l.Nodes) {
		t.Errorf("connections to %s: %v, want every node and no failure", a, count)
	}
	ctx := context.Background()
	if err := l.SetEndpoints(ctx, svc, nil); err != nil {
		t.Fatal(err)
	}
	waitNextHops(t, a, nil, 20*time.Second)
	if err := l.SetEndpoints(ctx, svc, []string{"node1"}); err != nil {
		t.Fatal(err)
	}
	waitNextHops(t, a, nodeAddrs(t, a), 20*time.Second)
}

// A node labelled node.kubernetes.io/exclude-from-external-load-balancers stops announcing;
// deleting the Service withdraws its routes from every node.
func TestBGPWithdrawsOnNodeExclusionAndServiceDelete(t *testing.T) {
	l := requireLab(t)
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := l.CreateService(ctx, lab.ServiceSpec{Namespace: "e2e", Name: "bgp-withdraw",
		Annotations: map[string]string{annotationAddressPool: bgpPool}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.DeleteService(context.Background(), svc) })
	a := lab.IngressAddrs(svc)[0]
	waitNextHops(t, a, nodeAddrs(t, a), 30*time.Second)

	setNodeLabel(t, c, "node3", labelExcludeFromLB, "")
	waitNextHops(t, a, nodeAddrs(t, a, "node1", "node2"), 20*time.Second)
	if count := spread(l.RoutedClientNS, a, 20); count["node3"] > 0 || count[""] > 0 {
		t.Errorf("connections with node3 excluded: %v", count)
	}
	removeNodeLabel(t, c, "node3", labelExcludeFromLB)
	waitNextHops(t, a, nodeAddrs(t, a), 20*time.Second)

	if err := l.DeleteService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitNextHops(t, a, nil, 20*time.Second)
	if got := curlFrom(l.RoutedClientNS, a, time.Second); got != "" {
		t.Errorf("%s still answers after the Service was deleted: %q", a, got)
	}
}

func setNodeLabel(t *testing.T, c client.Client, node, key, value string) {
	t.Helper()
	ctx := context.Background()
	var n corev1.Node
	if err := c.Get(ctx, client.ObjectKey{Name: node}, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	n.Labels[key] = value
	if err := c.Patch(ctx, &n, patch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNodeLabel(t, c, node, key) })
}

func removeNodeLabel(t *testing.T, c client.Client, node, key string) {
	t.Helper()
	ctx := context.Background()
	var n corev1.Node
	if err := c.Get(ctx, client.ObjectKey{Name: node}, &n); err != nil {
		t.Error(err)
		return
	}
	if _, ok := n.Labels[key]; !ok {
		return
	}
	patch := client.MergeFrom(n.DeepCopy())
	delete(n.Labels, key)
	if err := c.Patch(ctx, &n, patch); err != nil {
		t.Error(err)
	}
}

// The router dies and comes back: every session is re-established and the routes return.
func TestBGPRouterRestartSessionsAndRoutesComeBack(t *testing.T) {
	l := requireLab(t)
	svc, addrs := bgpServiceEverywhere(t, "bgp-router-restart")
	start := time.Now()
	if err := l.RestartRouter(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		waitNextHops(t, a, nodeAddrs(t, a), 60*time.Second)
	}
	back := time.Since(start)
	eventually(t, 30*time.Second, 100*time.Millisecond, "every session Established on the router", func() bool {
		states, err := l.RouterSessions()
		if err != nil || len(states) != 2*len(l.Nodes) {
			return false
		}
		for _, s := range states {
			if s != "Established" {
				return false
			}
		}
		return true
	})
	for _, a := range addrs {
		if count := spread(l.RoutedClientNS, a, 20); count[""] > 0 || len(count) != len(l.Nodes) {
			t.Errorf("connections to %s after the router restart: %v", a, count)
		}
	}
	t.Logf("routes to every node back %s after the router was killed", back.Round(time.Millisecond))
	recordFigure("router-restart", back)
	checkBGPStatus(t, svc)
}
