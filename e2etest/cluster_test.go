package e2etest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
)

// curlPort fetches http://addr:port/ from the client on the segment; "" when nothing answered.
func curlPort(addr netip.Addr, port int, timeout time.Duration) string {
	out, err := clientExec("curl", "-sS", "-g", "--max-time", strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64),
		"http://"+netip.AddrPortFrom(addr, uint16(port)).String()+"/")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// A dual-stack Service answers in both families, each address from its elected node.
func TestL2DualStackServiceAnswersInBothFamilies(t *testing.T) {
	l := requireLab(t)
	svc := createService(t, "l2-dual", corev1.IPv4Protocol, corev1.IPv6Protocol)
	addrs := lab.IngressAddrs(svc)
	if len(addrs) != 2 || !addrs[0].Is4() || !addrs[1].Is6() {
		t.Fatalf("dual-stack Service has addresses %v, want one IPv4 and one IPv6", addrs)
	}
	checkL2(t, l, svc, addrs[0], arpingMAC)
	checkL2(t, l, svc, addrs[1], ndiscMAC)
}

// Two Services with the same herald.io/allow-shared-ip key and different ports share one
// address; both answer on their port.
func TestSharedIPTwoServicesOneAddress(t *testing.T) {
	l := requireLab(t)
	first, _, err := cut(l.PoolRanges[0])
	if err != nil {
		t.Fatal(err)
	}
	shared := first
	for range 15 { // the pool's 16th address: the other tests take the first few
		shared = shared.Next()
	}
	ann := map[string]string{annotationAllowSharedIP: "e2e-shared", annotationLoadBalancerIPs: shared.String()}
	a := createServiceFrom(t, lab.ServiceSpec{Namespace: "e2e", Name: "shared-a", Port: 80, Annotations: ann})
	b := createServiceFrom(t, lab.ServiceSpec{Namespace: "e2e", Name: "shared-b", Port: 81, Annotations: ann})
	for _, s := range []*corev1.Service{a, b} {
		if got := lab.IngressAddrs(s); len(got) != 1 || got[0] != shared {
			t.Fatalf("Service %s has %v, want the shared %s", s.Name, got, shared)
		}
	}
	ownA, ownB := owner(t, a, shared), owner(t, b, shared)
	if ownA.Name != ownB.Name {
		t.Errorf("the shared address is announced for %s by %s and for %s by %s: one node must own it", a.Name, ownA.Name, b.Name, ownB.Name)
	}
	for _, port := range []int{80, 81} {
		var body string
		eventually(t, 15*time.Second, 100*time.Millisecond, fmt.Sprintf("an answer on %s:%d", shared, port), func() bool {
			body = curlPort(shared, port, 2*time.Second)
			return body != ""
		})
		if body != ownA.Name {
			t.Errorf("%s:%d answered by %q, want the owner %s", shared, port, body, ownA.Name)
		}
	}
	if mac := arpingMAC(shared); mac != ownA.MAC {
		t.Errorf("ARP for the shared %s answered by %q, want %s", shared, mac, ownA.MAC)
	}
}

// A pool restricted to one namespace serves the Services of that namespace, with priority over
// the default pool; deleting it re-addresses them from the default pool, and its routes and
// ARP answers go.
func TestPoolSelectedByNamespaceAndReaddressedWhenDeleted(t *testing.T) {
	l := requireLab(t)
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	const name, ns = "e2e-team", "e2e-team"
	// Four segment addresses beyond the layer 2 pool (which ends at .179 / ::249).
	pool := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.180-203.0.113.183"},
			ServiceAllocation: &heraldv1beta1.ServiceAllocation{Priority: 1, Namespaces: []string{ns}}}}
	l2 := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{name}}}
	bgpAd := &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{name}}}
	objs := []client.Object{pool, l2, bgpAd}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, o := range objs {
			if err := c.Delete(context.Background(), o); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete %s: %v", o.GetName(), err)
			}
		}
	})
	svc := createServiceFrom(t, lab.ServiceSpec{Namespace: ns, Name: "team-web"})
	old := lab.IngressAddrs(svc)[0]
	if !netip.MustParsePrefix("203.0.113.180/30").Contains(old) {
		t.Fatalf("Service in %s got %s, want one of pool %s (203.0.113.180-183)", ns, old, name)
	}
	waitAnnotation(t, svc, annotationAllocatedFromPool, name)
	other := createServiceFrom(t, lab.ServiceSpec{Namespace: "e2e", Name: "not-team"})
	if a := lab.IngressAddrs(other)[0]; !inPool(l, a) {
		t.Errorf("Service in e2e got %s: the pool of %s must not serve other namespaces", a, ns)
	}
	own := owner(t, svc, old)
	eventually(t, 15*time.Second, 100*time.Millisecond, "the team address answering", func() bool {
		return arpingMAC(old) == own.MAC && curl(old, 2*time.Second) == own.Name
	})
	waitNextHops(t, old, nodeAddrs(t, old), 30*time.Second)
	if got := curlFrom(l.RoutedClientNS, old, 5*time.Second); !slices.Contains(allNodeNames(), got) {
		t.Errorf("the routed client got %q from %s", got, old)
	}

	if err := c.Delete(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var now corev1.Service
	eventually(t, 30*time.Second, 100*time.Millisecond, "the Service re-addressed from the default pool", func() bool {
		if err := c.Get(ctx, client.ObjectKeyFromObject(svc), &now); err != nil {
			return false
		}
		a := lab.IngressAddrs(&now)
		return len(a) == 1 && inPool(l, a[0])
	})
	addr := lab.IngressAddrs(&now)[0]
	// The lab's kube-proxy emulation follows the new address, as kube-proxy would.
	if err := l.SetEndpoints(ctx, &now, allNodeNames()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.DeleteService(context.Background(), &now) })
	checkL2(t, l, &now, addr, arpingMAC)
	waitNextHops(t, old, nil, 20*time.Second)
	eventually(t, 15*time.Second, 200*time.Millisecond, "nobody answering ARP for the deleted pool's "+old.String(), func() bool {
		return arpingMAC(old) == ""
	})
}

// SIGKILL of the controller, with a Service created while it is down: after the restart every
// address is as it was, and the new Service gets an address nobody has.
func TestControllerRestartKeepsEveryAddress(t *testing.T) {
	l := requireLab(t)
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	svcs := []*corev1.Service{
		createService(t, "keep-v4", corev1.IPv4Protocol),
		createService(t, "keep-dual", corev1.IPv4Protocol, corev1.IPv6Protocol),
		createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: "keep-bgp"}),
	}
	before := map[string][]netip.Addr{}
	for _, s := range svcs {
		before[s.Name] = lab.IngressAddrs(s)
	}
	wait, err := l.Signal("herald-controller", syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Restart("herald-controller"); err != nil {
			t.Errorf("restart herald-controller: %v", err)
		}
	})
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Created while no controller runs: it waits.
	late := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "e2e", Name: "late"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "late"},
		Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
	}}
	if err := c.Create(ctx, late); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), late) })
	if err := l.Restart("herald-controller"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, 100*time.Millisecond, "the late Service addressed", func() bool {
		return c.Get(ctx, client.ObjectKeyFromObject(late), late) == nil && len(lab.IngressAddrs(late)) == 1
	})
	lateAddr := lab.IngressAddrs(late)[0]
	for _, s := range svcs {
		var now corev1.Service
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), &now); err != nil {
			t.Fatal(err)
		}
		if got := lab.IngressAddrs(&now); !slices.Equal(got, before[s.Name]) {
			t.Errorf("Service %s has %v after the controller restart, had %v", s.Name, got, before[s.Name])
		}
		if slices.Contains(before[s.Name], lateAddr) {
			t.Errorf("the late Service got %s, which %s has", lateAddr, s.Name)
		}
	}
	// What was announced still is.
	a := before["keep-v4"][0]
	if own := owner(t, svcs[0], a); arpingMAC(a) != own.MAC {
		t.Errorf("%s not answered by its owner %s after the controller restart", a, own.Name)
	}
	b := before["keep-bgp"][0]
	waitNextHops(t, b, nodeAddrs(t, b), 20*time.Second)
}

// A node labelled node.kubernetes.io/exclude-from-external-load-balancers gives up the
// addresses it owns in layer 2 mode, and another node takes them over.
func TestL2NodeExclusionMovesTheAddress(t *testing.T) {
	l := requireLab(t)
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	svc := createService(t, "l2-exclude", corev1.IPv4Protocol)
	addr := lab.IngressAddrs(svc)[0]
	checkL2(t, l, svc, addr, arpingMAC)
	was := owner(t, svc, addr)
	setNodeLabel(t, c, was.Name, labelExcludeFromLB, "")
	var now lab.Node
	eventually(t, 20*time.Second, 100*time.Millisecond, "another node owning "+addr.String(), func() bool {
		nodes, err := l.Announcers(context.Background(), svc, addr)
		if err != nil || len(nodes) != 1 || nodes[0] == was.Name {
			return false
		}
		now, _ = l.Node(nodes[0])
		return true
	})
	eventually(t, 15*time.Second, 100*time.Millisecond, fmt.Sprintf("%s answering ARP for %s", now.Name, addr), func() bool {
		return arpingMAC(addr) == now.MAC
	})
	if body := curl(addr, 2*time.Second); body == was.Name || body == "" {
		t.Errorf("curl %s answered by %q with %s excluded", addr, body, was.Name)
	}
}

// The controller and every speaker report the lab's configuration as loaded; a BGPPeer that
// the webhook would refuse (none runs in the lab), made anyway, shows in every
// ConfigurationState while traffic keeps flowing; removing it brings them all back to Valid.
func TestConfigurationStateOfEveryProgram(t *testing.T) {
	l := requireLab(t)
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"controller"}
	for _, n := range l.Nodes {
		names = append(names, "speaker-"+n.Name)
	}
	results := func() map[string]string {
		out := map[string]string{}
		for _, name := range names {
			var cs heraldv1beta1.ConfigurationState
			if err := c.Get(ctx, client.ObjectKey{Namespace: lab.HeraldNamespace, Name: name}, &cs); err != nil {
				out[name] = err.Error()
				continue
			}
			out[name] = string(cs.Status.Result) + ": " + cs.Status.Summary
		}
		return out
	}
	allStart := func(prefix string) bool {
		for _, r := range results() {
			if !strings.HasPrefix(r, prefix) {
				return false
			}
		}
		return true
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, "every ConfigurationState Valid", func() bool { return allStart("Valid") })

	svc := createService(t, "config-state", corev1.IPv4Protocol)
	addr := lab.IngressAddrs(svc)[0]
	checkL2(t, l, svc, addr, arpingMAC)
	own := owner(t, svc, addr)
	// A second peer to the router's IPv4 address from every node: a duplicate.
	dup := l.RouterPeers()[0].DeepCopy()
	dup.Name = "router-duplicate"
	if err := c.Create(ctx, dup); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), dup) })
	eventually(t, 30*time.Second, 200*time.Millisecond, "every ConfigurationState Invalid naming the duplicate", func() bool {
		for _, r := range results() {
			if !strings.HasPrefix(r, "Invalid") || !strings.Contains(r, "router-duplicate") {
				return false
			}
		}
		return true
	})
	t.Logf("with the duplicate peer: %v", results())
	if mac := arpingMAC(addr); mac != own.MAC || curl(addr, 2*time.Second) != own.Name {
		t.Errorf("with an invalid configuration %s answered by %q, want the owner %s", addr, mac, own.MAC)
	}
	if err := c.Delete(ctx, dup); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, "every ConfigurationState Valid again", func() bool { return allStart("Valid") })
}
