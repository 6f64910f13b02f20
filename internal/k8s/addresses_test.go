package k8s

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

func inPrefix(t *testing.T, addrs []netip.Addr, prefixes ...string) {
	t.Helper()
	for i, a := range addrs {
		if p := netip.MustParsePrefix(prefixes[i]); !p.Contains(a) {
			t.Errorf("address %d = %s, want one in %s", i, a, p)
		}
	}
}

func TestServiceGetsAddressWithStatusAnnotationEventAndPoolStatus(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	f.service("web")

	addrs := f.addresses("web", 1)
	inPrefix(t, addrs, "192.0.2.0/28")
	svc := f.get("web")
	in := svc.Status.LoadBalancer.Ingress[0]
	if in.IPMode == nil || *in.IPMode != corev1.LoadBalancerIPModeVIP {
		t.Errorf("ipMode = %v, want VIP", in.IPMode)
	}
	if got := svc.Annotations[AnnotationAllocatedFromPool]; got != "blue" {
		t.Errorf("annotation %s = %q, want blue", AnnotationAllocatedFromPool, got)
	}
	f.waitEvent("web", fmt.Sprintf("AddressAssigned: assigned %s from pool blue", addrs[0]))
	eventually(t, "pool status counts the address", func() string {
		p := &heraldv1beta1.IPAddressPool{}
		if err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: "blue"}, p); err != nil {
			return err.Error()
		}
		if p.Status.AssignedIPv4 != 1 || p.Status.AvailableIPv4 != "15" || p.Status.AvailableIPv6 != "0" {
			return fmt.Sprintf("status = %+v, want 1 assigned and 15 available IPv4", p.Status)
		}
		return ""
	})
	if got := testutil.ToFloat64(poolInUse.WithLabelValues("blue", "IPv4")); got != 1 {
		t.Errorf("herald_pool_addresses_in_use{pool=blue,family=IPv4} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(poolAvailable.WithLabelValues("blue", "IPv4")); got != 15 {
		t.Errorf("herald_pool_addresses_available{pool=blue,family=IPv4} = %v, want 15", got)
	}
}

// An IPv6 /48 pool's available count is exact: 2^80, neither overflowed nor negative.
func TestHugePoolStatusIsExact(t *testing.T) {
	f := newFixture(t)
	f.pool("huge", nil, "2001:db8:100::/48")
	runController(t, f.options())
	f.service("web", dualStack(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol))
	f.addresses("web", 1)
	eventually(t, "pool status", func() string {
		p := &heraldv1beta1.IPAddressPool{}
		if err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: "huge"}, p); err != nil {
			return err.Error()
		}
		if p.Status.AssignedIPv6 != 1 || p.Status.AvailableIPv6 != "1208925819614629174706175" {
			return fmt.Sprintf("status = %+v, want 1 assigned and 2^80-1 available", p.Status)
		}
		return ""
	})
}

// A Service is written exactly twice (status, then annotation) and never again while nothing
// changes, even when every Service is re-checked after a pool change.
func TestServiceIsWrittenOnceEach(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	w, err := clientWatch(f.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	runController(t, f.options())
	f.service("web")
	f.addresses("web", 1)
	eventually(t, "annotation written", func() string {
		if f.get("web").Annotations[AnnotationAllocatedFromPool] == "" {
			return "no annotation yet"
		}
		return ""
	})
	// A pool change makes the controller re-check every Service.
	f.pool("green", nil, "203.0.113.0/28")
	modified := 0
	timeout := time.After(3 * time.Second)
loop:
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Modified {
				modified++
			}
		case <-timeout:
			break loop
		}
	}
	if modified != 2 {
		t.Errorf("service modified %d times, want 2 (status and annotation)", modified)
	}
}

func clientWatch(ns string) (watch.Interface, error) {
	wc, err := client.NewWithWatch(sharedEnv.Config, client.Options{Scheme: sharedEnv.Scheme})
	if err != nil {
		return nil, err
	}
	return wc.Watch(context.Background(), &corev1.ServiceList{}, client.InNamespace(ns))
}

func TestDualStackFollowsTheFamilyPolicy(t *testing.T) {
	f := newFixture(t)
	f.pool("v4only", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 1}
	}, "203.0.113.0/28")
	f.pool("dual", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 2}
	}, "192.0.2.0/28", "2001:db8:1::/124")
	runController(t, f.options())

	f.service("single6", dualStack(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol))
	f.service("require", dualStack(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	f.service("prefer6first", dualStack(corev1.IPFamilyPolicyPreferDualStack, corev1.IPv6Protocol, corev1.IPv4Protocol))

	inPrefix(t, f.addresses("single6", 1), "2001:db8:1::/124")
	inPrefix(t, f.addresses("require", 2), "192.0.2.0/28", "2001:db8:1::/124")
	inPrefix(t, f.addresses("prefer6first", 2), "2001:db8:1::/124", "192.0.2.0/28")
}

func TestRequestsByPoolAndAddress(t *testing.T) {
	f := newFixture(t)
	f.pool("auto", nil, "192.0.2.0/28")
	f.pool("manual", func(p *heraldv1beta1.IPAddressPool) { p.Spec.AutoAssign = new(bool) }, "203.0.113.0/28")
	runController(t, f.options())

	f.service("auto")
	f.service("by-pool", withAnnotation(AnnotationAddressPool, "manual"))
	f.service("by-annotation", withAnnotation(AnnotationLoadBalancerIPs, "203.0.113.9"))
	f.service("by-spec", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "192.0.2.7" })
	f.service("outside", withAnnotation(AnnotationLoadBalancerIPs, "203.0.113.200"))
	f.service("malformed", withAnnotation(AnnotationLoadBalancerIPs, "203.0.113.300"))

	inPrefix(t, f.addresses("auto", 1), "192.0.2.0/28")
	inPrefix(t, f.addresses("by-pool", 1), "203.0.113.0/28")
	if got := f.addresses("by-annotation", 1); got[0] != mustAddr("203.0.113.9") {
		t.Errorf("by-annotation got %v, want 203.0.113.9", got)
	}
	if got := f.addresses("by-spec", 1); got[0] != mustAddr("192.0.2.7") {
		t.Errorf("by-spec got %v, want 192.0.2.7", got)
	}
	f.waitEvent("outside", "AddressAssignmentFailed: no address assigned: ")
	f.waitEvent("outside", "203.0.113.200")
	f.waitEvent("malformed", `annotation herald.io/loadBalancerIPs: "203.0.113.300" is not an IP address`)
	for _, name := range []string{"outside", "malformed"} {
		if got := ingressAddresses(f.get(name)); len(got) != 0 {
			t.Errorf("%s got %v, want no address", name, got)
		}
	}

	// An address already held, by a Service that does not share it, is refused with the holder named.
	f.service("taken", withAnnotation(AnnotationLoadBalancerIPs, "203.0.113.9"))
	f.waitEvent("taken", "203.0.113.9")
	f.waitEvent("taken", f.ns+"/by-annotation")
}

func TestSharingNeedsKeyAndDistinctPorts(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())

	f.service("http", withAnnotation(AnnotationAllowSharedIP, "k"), withPorts(80))
	a := f.addresses("http", 1)
	f.service("https", withAnnotation(AnnotationAllowSharedIP, "k"), withPorts(443))
	f.service("clash", withAnnotation(AnnotationAllowSharedIP, "k"), withPorts(80))
	f.service("nokey", withAnnotation(AnnotationLoadBalancerIPs, a[0].String()), withPorts(8080))

	if b := f.addresses("https", 1); b[0] != a[0] {
		t.Errorf("https got %v, want to share %v", b, a)
	}
	if c := f.addresses("clash", 1); c[0] == a[0] {
		t.Errorf("clash shares %v although port 80 collides", c)
	}
	f.waitEvent("nokey", "AddressAssignmentFailed")
}

func TestPoolRestrictionsAreNeverBypassed(t *testing.T) {
	f := newFixture(t)
	other := createNamespace(t, "other", nil)
	f.pool("restricted", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Namespaces: []string{other}}
	}, "192.0.2.0/28")
	runController(t, f.options())

	f.service("asks-pool", withAnnotation(AnnotationAddressPool, "restricted"))
	f.service("asks-ip", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.3"))
	f.waitEvent("asks-pool", "AddressAssignmentFailed")
	f.waitEvent("asks-ip", "AddressAssignmentFailed")

	// The same request from the allowed namespace succeeds.
	g := &fixture{t: t, install: f.install, ns: other, class: f.class}
	g.service("allowed", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.3"))
	if got := g.addresses("allowed", 1); got[0] != mustAddr("192.0.2.3") {
		t.Errorf("allowed got %v", got)
	}
	for _, name := range []string{"asks-pool", "asks-ip"} {
		if got := ingressAddresses(f.get(name)); len(got) != 0 {
			t.Errorf("%s got %v from a pool restricted to another namespace", name, got)
		}
	}
}

func TestNamespaceLabelChangeMakesAPoolUsable(t *testing.T) {
	f := newFixture(t)
	f.pool("team", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{
			NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "edge"}}},
		}
	}, "192.0.2.0/28")
	runController(t, f.options())
	f.service("web")
	f.waitEvent("web", "AddressAssignmentFailed")

	ns := &corev1.Namespace{}
	if err := sharedClient.Get(context.Background(), types.NamespacedName{Name: f.ns}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"team": "edge"}
	if err := sharedClient.Update(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	inPrefix(t, f.addresses("web", 1), "192.0.2.0/28")
}

func TestReleaseOnTypeChangeAndDeleteWithoutImmediateReuse(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	f.service("a")
	first := f.addresses("a", 1)[0]

	// Type change away from LoadBalancer: address, status and annotation go. The controller
	// may still be writing the annotation, so retry on a conflict.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc := f.get("a")
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.LoadBalancerClass = nil
		svc.Spec.ExternalTrafficPolicy = ""
		svc.Spec.AllocateLoadBalancerNodePorts = nil
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
		return sharedClient.Update(context.Background(), svc)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "status and annotation cleared", func() string {
		s := f.get("a")
		if len(s.Status.LoadBalancer.Ingress) > 0 || s.Annotations[AnnotationAllocatedFromPool] != "" {
			return fmt.Sprintf("ingress %v, annotations %v", s.Status.LoadBalancer.Ingress, s.Annotations)
		}
		return ""
	})
	f.waitEvent("a", "AddressReleased")

	// The released address is not handed to the next Service while never-used ones remain.
	f.service("b")
	if got := f.addresses("b", 1)[0]; got == first {
		t.Errorf("b got the just-released %s", got)
	}

	// A Service deleted and recreated under the same name soon after gets its address back.
	second := f.addresses("b", 1)[0]
	if err := sharedClient.Delete(context.Background(), f.get("b")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b deleted", func() string {
		err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.ns, Name: "b"}, &corev1.Service{})
		if err == nil {
			return "still there"
		}
		return ""
	})
	f.service("c")
	f.addresses("c", 1)
	f.service("b")
	if got := f.addresses("b", 1)[0]; got != second {
		t.Errorf("recreated b got %s, want its previous %s", got, second)
	}
}

func TestPoolShrinkMovesAndPoolDeleteClears(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	f.pool("spare", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 100}
	}, "203.0.113.0/28")
	runController(t, f.options())
	f.service("a", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.9"))
	f.service("b", withAnnotation(AnnotationAddressPool, "blue"))
	f.addresses("a", 1)
	b := f.addresses("b", 1)

	// Shrink blue so that 192.0.2.9 leaves it: a has nowhere valid to go (it asked for that
	// address), b keeps its address if still inside.
	// The controller writes the pool's status meanwhile: retry on a conflict.
	p := &heraldv1beta1.IPAddressPool{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: "blue"}, p); err != nil {
			return err
		}
		p.Spec.Addresses = []heraldv1beta1.AddressRange{"192.0.2.0-192.0.2.8"}
		return sharedClient.Update(context.Background(), p)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a cleared", func() string {
		if got := ingressAddresses(f.get("a")); len(got) != 0 {
			return fmt.Sprintf("a still has %v", got)
		}
		return ""
	})
	f.waitEvent("a", "192.0.2.9")
	if netip.MustParsePrefix("192.0.2.0/29").Contains(b[0]) || b[0] == mustAddr("192.0.2.8") {
		if got := f.addresses("b", 1); got[0] != b[0] {
			t.Errorf("b moved from %v to %v although its address stayed in the pool", b, got)
		}
	}

	// Delete blue: b must move to the spare pool? No: b asked for blue by name, so it is cleared.
	if err := sharedClient.Delete(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b cleared", func() string {
		if got := ingressAddresses(f.get("b")); len(got) != 0 {
			return fmt.Sprintf("b still has %v", got)
		}
		return ""
	})
}

func TestPoolDeleteMovesAutoAssignedServicesToAnotherPool(t *testing.T) {
	f := newFixture(t)
	first := f.pool("first", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 1}
	}, "192.0.2.0/28")
	f.pool("second", func(p *heraldv1beta1.IPAddressPool) {
		p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: 2}
	}, "203.0.113.0/28")
	runController(t, f.options())
	f.service("web")
	inPrefix(t, f.addresses("web", 1), "192.0.2.0/28")
	if err := sharedClient.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web moved", func() string {
		got := ingressAddresses(f.get("web"))
		if len(got) != 1 || !netip.MustParsePrefix("203.0.113.0/28").Contains(got[0]) {
			return fmt.Sprintf("web has %v", got)
		}
		return ""
	})
	f.waitEvent("web", "AddressMoved")
	if got := f.get("web").Annotations[AnnotationAllocatedFromPool]; got != "second" {
		t.Errorf("annotation = %q, want second", got)
	}
}

func TestRestartKeepsEveryAddress(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/26")
	stop := runController(t, f.options())
	const n = 30
	want := map[string]netip.Addr{}
	for i := range n {
		f.service(fmt.Sprintf("s%d", i))
	}
	for i := range n {
		name := fmt.Sprintf("s%d", i)
		want[name] = f.addresses(name, 1)[0]
	}
	stop()

	// Two Services appear while the controller is down; on start, existing assignments are
	// restored first, so the new ones cannot take an address that is in use.
	f.service("new1")
	f.service("new2")
	runController(t, f.options())
	n1, n2 := f.addresses("new1", 1)[0], f.addresses("new2", 1)[0]
	seen := map[netip.Addr]string{n1: "new1"}
	if n2 == n1 {
		t.Errorf("new1 and new2 both got %s", n1)
	}
	seen[n2] = "new2"
	for name, a := range want {
		if got := f.addresses(name, 1)[0]; got != a {
			t.Errorf("%s changed address from %s to %s across a restart", name, a, got)
		}
		if other, dup := seen[a]; dup {
			t.Errorf("%s and %s both hold %s", name, other, a)
		}
		seen[a] = name
	}
}

func TestServicesOfOtherClassesAreNeverTouched(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	other := "example.com/other"
	f.service("theirs", func(s *corev1.Service) { s.Spec.LoadBalancerClass = &other })
	f.service("ours")
	f.addresses("ours", 1)
	// Give the controller every chance: re-check all Services through a pool change.
	f.pool("green", nil, "203.0.113.0/28")
	f.service("ours2")
	f.addresses("ours2", 1)
	svc := f.get("theirs")
	if len(svc.Status.LoadBalancer.Ingress) != 0 || len(svc.Annotations) != 0 {
		t.Errorf("a Service of another class was written: %+v %v", svc.Status, svc.Annotations)
	}
	if ev := f.events("theirs"); ev != "" {
		t.Errorf("events on a Service of another class: %s", ev)
	}
}

func TestInvalidPoolChangeKeepsTheLastValidConfiguration(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	f.service("web")
	a := f.addresses("web", 1)
	// A second pool overlapping the first: the configuration is rejected as a whole.
	bad := f.pool("overlap", nil, "192.0.2.0/30")
	eventually(t, "warning on the pool", func() string {
		var list corev1.EventList
		if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.install)); err != nil {
			return err.Error()
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == "overlap" && e.Reason == ReasonConfigInvalid && strings.Contains(e.Message, "overlaps IPAddressPool \"blue\"") {
				return ""
			}
		}
		return "no ConfigurationInvalid event naming the overlap"
	})
	f.service("web2")
	inPrefix(t, f.addresses("web2", 1), "192.0.2.0/28")
	if got := f.addresses("web", 1); !slices.Equal(got, a) {
		t.Errorf("web moved from %v to %v", a, got)
	}
	_ = bad
}

func TestChangingTheRequestMovesTheAddressAndFreesTheOld(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	f.service("web", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.9"))
	if got := f.addresses("web", 1); got[0] != mustAddr("192.0.2.9") {
		t.Fatalf("web got %v", got)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc := f.get("web")
		svc.Annotations[AnnotationLoadBalancerIPs] = "192.0.2.10"
		return sharedClient.Update(context.Background(), svc)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "web moves to .10", func() string {
		if got := ingressAddresses(f.get("web")); len(got) != 1 || got[0] != mustAddr("192.0.2.10") {
			return fmt.Sprintf("web has %v", got)
		}
		return ""
	})
	f.waitEvent("web", "AddressMoved: address changed from 192.0.2.9 (pool blue) to 192.0.2.10 (pool blue)")
	f.service("other", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.9"))
	if got := f.addresses("other", 1); got[0] != mustAddr("192.0.2.9") {
		t.Errorf("the released 192.0.2.9 was not free: other got %v", got)
	}
}

// A controller that starts while the configuration is invalid touches nothing; once it is
// fixed, it restores what Services hold before assigning anything new.
func TestStartWithInvalidConfigurationRestoresOnceFixed(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/29")
	stop := runController(t, f.options())
	var names []string
	for i := range 6 {
		names = append(names, fmt.Sprintf("s%d", i))
		f.service(names[i])
	}
	before := f.allAddresses(names)
	stop()

	bad := f.pool("bad", nil, "192.0.2.0/30")
	runController(t, f.options())
	f.service("late")
	eventually(t, "the controller rejects the configuration", func() string {
		var list corev1.EventList
		if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.install)); err != nil {
			return err.Error()
		}
		// Created in the same second, either pool may be the one reported.
		for _, e := range list.Items {
			if e.Reason == ReasonConfigInvalid {
				return ""
			}
		}
		return "no ConfigurationInvalid event yet"
	})
	if got := ingressAddresses(f.get("late")); len(got) != 0 {
		t.Errorf("late got %v while the configuration is invalid", got)
	}
	// Deleting the overlapping pool makes the configuration valid again.
	if err := sharedClient.Delete(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	late := f.addresses("late", 1)[0]
	got := f.allAddresses(names)
	for _, n := range names {
		if got[n] != before[n] {
			t.Errorf("%s changed from %s to %s", n, before[n], got[n])
		}
	}
	got["late"] = late
	assertUnique(t, got)
}

// Two Heralds serving different classes leave each other's Services alone, even though both
// write the allocated-from-pool annotation.
func TestAControllerOfAnotherClassLeavesOurServicesAlone(t *testing.T) {
	a := newFixture(t)
	a.pool("blue", nil, "192.0.2.0/28")
	runController(t, a.options())
	var names []string
	for i := range 5 {
		names = append(names, fmt.Sprintf("a%d", i))
		a.service(names[i])
	}
	before := a.allAddresses(names)

	b := newFixture(t)
	b.pool("green", nil, "203.0.113.0/28")
	runController(t, b.options())
	b.service("b0")
	b.addresses("b0", 1)
	// b has re-checked every Service it was told about by now: a pool change makes it re-check all.
	b.pool("green2", nil, "203.0.113.16/28")
	b.service("b1")
	b.addresses("b1", 1)
	after := a.allAddresses(names)
	for _, n := range names {
		if after[n] != before[n] {
			t.Errorf("%s changed from %s to %s when a controller of another class ran", n, before[n], after[n])
		}
		if got := a.get(n).Annotations[AnnotationAllocatedFromPool]; got != "blue" {
			t.Errorf("%s annotation = %q", n, got)
		}
	}
}
