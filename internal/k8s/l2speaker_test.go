package k8s

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/announcer"
	"github.com/heraldlb/herald/internal/membership"
)

// fakeL2 records what the speaker asked layer 2 to serve.
type fakeL2 struct {
	mu   sync.Mutex
	last map[string][]netip.Addr
}

func (f *fakeL2) Set(d map[string][]netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = d
	return nil
}

func (f *fakeL2) serving() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for ifname, addrs := range f.last {
		for _, a := range addrs {
			out = append(out, ifname+"="+a.String())
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func runL2Speaker(t *testing.T, f *fixture, node string, live membership.Membership) *fakeL2 {
	t.Helper()
	return runL2SpeakerWith(t, f, L2SpeakerOptions{Node: node, Membership: live})
}

// runL2SpeakerWith runs a speaker of the fixture's namespace and class with a fake layer 2 and
// one interface, eth0 in 192.0.2.0/24 and 2001:db8:5::/64.
func runL2SpeakerWith(t *testing.T, f *fixture, opts L2SpeakerOptions) *fakeL2 {
	t.Helper()
	mgr := testManager(t, f.install)
	l2 := &fakeL2{}
	opts.Namespace, opts.LoadBalancerClass, opts.Layer2, opts.skipNameValidation = f.install, f.class, l2, true
	opts.Interfaces = func() ([]announcer.Interface, error) {
		return []announcer.Interface{{Name: "eth0", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:5::/64")}}}, nil
	}
	if err := NewL2Speaker(mgr, opts).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr, "speaker")
	return l2
}

func createNode(t *testing.T, name string, lbls map[string]string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}
	if err := sharedClient.Create(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sharedClient.Delete(context.Background(), n) })
}

// announcedService creates a Service that already has an address, and an endpoint on node.
func (f *fixture) announcedService(name, addr, node string) {
	f.t.Helper()
	f.service(name)
	svc := f.get(name)
	svc.Status.LoadBalancer.Ingress = desiredIngress([]netip.Addr{netip.MustParseAddr(addr)})
	if err := sharedClient.Status().Update(context.Background(), svc); err != nil {
		f.t.Fatal(err)
	}
	f.endpoint(name, node)
}

// endpoint gives the Service a ready endpoint on node.
func (f *fixture) endpoint(name, node string) {
	f.t.Helper()
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-x", Namespace: f.ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"203.0.113.50"}, NodeName: ptr.To(node), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if err := sharedClient.Create(context.Background(), es); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) l2Statuses() string {
	var list heraldv1beta1.ServiceL2StatusList
	if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.install)); err != nil {
		return err.Error()
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, fmt.Sprintf("%s:%s/%s:%v:%v", s.Spec.Node, s.Spec.ServiceNamespace, s.Spec.ServiceName, s.Status.Addresses, s.Status.Interfaces))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestOneSpeakerAnswersAndHandsOverWhenItsPeerLeaves(t *testing.T) {
	f := newFixture(t)
	n1, n2 := f.ns+"-n1", f.ns+"-n2"
	createNode(t, n1, nil)
	createNode(t, n2, nil)
	f.pool("blue", nil, "192.0.2.0/28")
	if err := sharedClient.Create(context.Background(), &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: f.install}}); err != nil {
		t.Fatal(err)
	}
	// Cluster traffic policy: an endpoint anywhere lets either node announce.
	f.announcedService("web", "192.0.2.5", n1)

	live1, live2 := membership.NewStatic(n1, n2), membership.NewStatic(n1, n2)
	l2a, l2b := runL2Speaker(t, f, n1, live1), runL2Speaker(t, f, n2, live2)

	var owner, other string
	var ownerL2, otherL2 *fakeL2
	eventually(t, "exactly one node serves the address", func() string {
		a, b := l2a.serving(), l2b.serving()
		switch {
		case a == "eth0=192.0.2.5" && b == "":
			owner, other, ownerL2, otherL2 = n1, n2, l2a, l2b
		case b == "eth0=192.0.2.5" && a == "":
			owner, other, ownerL2, otherL2 = n2, n1, l2b, l2a
		default:
			return fmt.Sprintf("n1 serves %q, n2 serves %q", a, b)
		}
		return ""
	})
	eventually(t, "the owner's status object", func() string {
		want := fmt.Sprintf("%s:%s/web:[192.0.2.5]:[eth0]", owner, f.ns)
		if got := f.l2Statuses(); got != want {
			return fmt.Sprintf("statuses %q, want %q", got, want)
		}
		return ""
	})
	f.waitEvent("web", fmt.Sprintf("AnnouncedByNode: node %s announces 192.0.2.5 on eth0", owner))

	// The owner's speaker leaves: both sides see only the other node alive.
	live1.Set(other)
	live2.Set(other)
	eventually(t, "the other node takes over", func() string {
		if got := otherL2.serving(); got != "eth0=192.0.2.5" {
			return fmt.Sprintf("new owner serves %q", got)
		}
		if got := ownerL2.serving(); got != "" {
			return fmt.Sprintf("old owner still serves %q", got)
		}
		return ""
	})
	eventually(t, "the status object moves", func() string {
		want := fmt.Sprintf("%s:%s/web:[192.0.2.5]:[eth0]", other, f.ns)
		if got := f.l2Statuses(); got != want {
			return fmt.Sprintf("statuses %q, want %q", got, want)
		}
		return ""
	})
	f.waitEvent("web", fmt.Sprintf("AnnouncedByNode: node %s announces 192.0.2.5 on eth0", other))
}

func TestExcludedNodeAndAddressesOutsidePoolsAreNeverAnnounced(t *testing.T) {
	f := newFixture(t)
	n1 := f.ns + "-n1"
	createNode(t, n1, map[string]string{LabelExcludeFromLB: ""})
	f.pool("blue", nil, "192.0.2.0/28")
	if err := sharedClient.Create(context.Background(), &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: f.install}}); err != nil {
		t.Fatal(err)
	}
	n2 := f.ns + "-n2"
	createNode(t, n2, nil)
	f.announcedService("inside", "192.0.2.5", n2)
	// Someone wrote, by hand, a status address that lies in no pool.
	f.announcedService("outside", "192.0.2.200", n2)
	l2a := runL2Speaker(t, f, n1, membership.NewStatic(n1, n2))
	l2b := runL2Speaker(t, f, n2, membership.NewStatic(n1, n2))
	eventually(t, "n2 serves only the pool address", func() string {
		if got := l2b.serving(); got != "eth0=192.0.2.5" {
			return fmt.Sprintf("n2 serves %q", got)
		}
		return ""
	})
	if got := l2a.serving(); got != "" {
		t.Errorf("the excluded node serves %q", got)
	}
}

// A dual-stack Service whose families have different owners: each owner keeps its own
// ServiceL2Status; neither takes the other's for a dead node's leftover.
func TestEachFamilysOwnerKeepsItsOwnStatus(t *testing.T) {
	f := newFixture(t)
	n1, n2 := f.ns+"-n1", f.ns+"-n2"
	createNode(t, n1, map[string]string{"family": "v4"})
	createNode(t, n2, map[string]string{"family": "v6"})
	f.pool("v4", nil, "192.0.2.0/28")
	f.pool("v6", nil, "2001:db8:5::/120")
	for _, fam := range []string{"v4", "v6"} {
		ad := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: fam, Namespace: f.install},
			Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{heraldv1beta1.ObjectName(fam)},
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"family": fam}}}}}
		if err := sharedClient.Create(context.Background(), ad); err != nil {
			t.Fatal(err)
		}
	}
	f.announcedService("web", "192.0.2.5", n1)
	svc := f.get("web")
	svc.Status.LoadBalancer.Ingress = desiredIngress([]netip.Addr{netip.MustParseAddr("192.0.2.5"), netip.MustParseAddr("2001:db8:5::5")})
	if err := sharedClient.Status().Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	live := func() membership.Membership { return membership.NewStatic(n1, n2) }
	l2a, l2b := runL2Speaker(t, f, n1, live()), runL2Speaker(t, f, n2, live())
	want := fmt.Sprintf("%s:%s/web:[192.0.2.5]:[eth0] %s:%s/web:[2001:db8:5::5]:[eth0]", n1, f.ns, n2, f.ns)
	check := func() string {
		if a, b := l2a.serving(), l2b.serving(); a != "eth0=192.0.2.5" || b != "eth0=2001:db8:5::5" {
			return fmt.Sprintf("n1 serves %q, n2 serves %q", a, b)
		}
		if got := f.l2Statuses(); got != want {
			return fmt.Sprintf("statuses %q, want %q", got, want)
		}
		return ""
	}
	eventually(t, "one status per family's owner", check)
}

// A node that died cannot remove its status objects: the new owner does.
func TestNewOwnerRemovesADeadNodesStatus(t *testing.T) {
	f := newFixture(t)
	n1 := f.ns + "-n1"
	createNode(t, n1, nil)
	f.pool("blue", nil, "192.0.2.0/28")
	if err := sharedClient.Create(context.Background(), &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: f.install}}); err != nil {
		t.Fatal(err)
	}
	f.announcedService("web", "192.0.2.5", n1)
	ghost := &heraldv1beta1.ServiceL2Status{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost-web", Namespace: f.install, Labels: map[string]string{LabelNode: "ghost"}},
		Spec:       heraldv1beta1.ServiceAnnouncementSpec{Node: "ghost", ServiceName: "web", ServiceNamespace: f.ns},
	}
	if err := sharedClient.Create(context.Background(), ghost); err != nil {
		t.Fatal(err)
	}
	runL2Speaker(t, f, n1, membership.NewStatic(n1, "ghost-peer"))
	eventually(t, "only the new owner's status", func() string {
		want := fmt.Sprintf("%s:%s/web:[192.0.2.5]:[eth0]", n1, f.ns)
		if got := f.l2Statuses(); got != want {
			return fmt.Sprintf("statuses %q, want %q", got, want)
		}
		return ""
	})
}

// metaMembership is a Static membership whose members publish metadata.
type metaMembership struct {
	*membership.Static
	meta map[string][]byte
}

func (m metaMembership) Meta() map[string][]byte { return m.meta }

// A node whose published interfaces lack the one an L2Advertisement names is never elected.
func TestNodeLackingTheNamedInterfaceIsNotElected(t *testing.T) {
	f := newFixture(t)
	n1, n2 := f.ns+"-n1", f.ns+"-n2"
	createNode(t, n1, nil)
	createNode(t, n2, nil)
	f.pool("blue", nil, "192.0.2.0/28")
	ad := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "eth0-only", Namespace: f.install},
		Spec: heraldv1beta1.L2AdvertisementSpec{Interfaces: []heraldv1beta1.InterfaceName{"eth0"}}}
	if err := sharedClient.Create(context.Background(), ad); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 6 {
		addr := fmt.Sprintf("192.0.2.%d", i+1)
		f.announcedService(fmt.Sprintf("s%d", i), addr, n1)
		want = append(want, "eth0="+addr)
	}
	sort.Strings(want)
	live := metaMembership{Static: membership.NewStatic(n1, n2), meta: map[string][]byte{
		n1: []byte(`{"interfaces":["eth0"]}`),
		n2: []byte(`{"interfaces":["eth9"]}`),
	}}
	l2 := runL2Speaker(t, f, n1, live)
	eventually(t, "n1 answers for every address", func() string {
		if got := l2.serving(); got != strings.Join(want, ",") {
			return fmt.Sprintf("n1 serves %q", got)
		}
		return ""
	})
}

func TestExcludedInterfacesAreLeftOut(t *testing.T) {
	ifs := []announcer.Interface{{Name: "eth0"}, {Name: "cni0"}, {Name: "veth1a2b"}, {Name: "kube-ipvs0"}, {Name: "bond0.100"}}
	for _, tc := range []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"no pattern keeps every interface", nil, []string{"eth0", "cni0", "veth1a2b", "kube-ipvs0", "bond0.100"}},
		{"exact names and globs", []string{"kube-ipvs0", "veth*", "cni?"}, []string{"eth0", "bond0.100"}},
		{"a pattern matching nothing changes nothing", []string{"docker*"}, []string{"eth0", "cni0", "veth1a2b", "kube-ipvs0", "bond0.100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ifc := range withoutInterfaces(slices.Clone(ifs), tc.patterns) {
				got = append(got, ifc.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := SystemInterfacesExcept([]string{"eth[0"}); err == nil || !strings.Contains(err.Error(), `"eth[0"`) {
		t.Errorf("a malformed pattern gave %v, want an error naming it", err)
	}
	list, err := SystemInterfacesExcept([]string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := list(); err != nil || len(got) != 0 {
		t.Errorf("excluding * listed %v (error %v), want nothing", got, err)
	}
}

func TestSpeakerMetaRoundTrip(t *testing.T) {
	b, err := SpeakerMeta(systemInterfaces)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxMeta {
		t.Fatalf("metadata of %d bytes exceeds memberlist's %d", len(b), maxMeta)
	}
	got := metaInterfaces(b)
	if len(got) == 0 {
		t.Fatalf("no interface in %s", b)
	}
	for _, ifc := range got {
		// Other tests may add and remove links meanwhile: check names, not counts.
		if _, err := net.InterfaceByName(ifc.Name); err != nil && !strings.HasPrefix(ifc.Name, "h") {
			t.Errorf("published interface %q does not exist: %v", ifc.Name, err)
		}
	}
	if metaInterfaces(nil) != nil || metaInterfaces([]byte("garbage")) != nil {
		t.Error("missing or bad metadata must decode as unknown (nil)")
	}
}
