package e2etest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
)

// The chaos tests break the lab in the ways production breaks and check, after each, that
// nothing was lost: every Service has exactly one address per family, unique unless shared,
// and what the speakers announce (ServiceL2Status, ARP/NDP answers, the router's next hops) is
// what the configuration says. HERALD_CHAOS=full runs the long form (`make chaos`, which also
// writes docs/chaos.md); without it, `make test` runs a reduced form.

func chaosFull() bool { return os.Getenv("HERALD_CHAOS") == "full" }

// chaosScale picks the reduced or the full count.
func chaosScale(reduced, full int) int {
	if chaosFull() {
		return full
	}
	return reduced
}

// chaosFigures are recovery times by scenario.
var chaosFigures = map[string][]time.Duration{}

func recordChaos(name string, d time.Duration) {
	figuresMu.Lock()
	defer figuresMu.Unlock()
	chaosFigures[name] = append(chaosFigures[name], d)
}

// chaosServices makes the Services whose announcements the chaos tests watch: layer 2 in each
// family, dual-stack layer 2, and dual-stack BGP.
func chaosServices(t *testing.T, prefix string) []*corev1.Service {
	t.Helper()
	return []*corev1.Service{
		createService(t, prefix+"-l2v4", corev1.IPv4Protocol),
		createService(t, prefix+"-l2v6", corev1.IPv6Protocol),
		createService(t, prefix+"-l2dual", corev1.IPv4Protocol, corev1.IPv6Protocol),
		createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: prefix + "-bgp", Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}}),
	}
}

// addressesHold checks the Services' addresses: exactly one per family, in the lab's pools,
// unique across every LoadBalancer Service unless shared by key.
func addressesHold(ctx context.Context, c client.Client) error {
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs); err != nil {
		return err
	}
	owner := map[netip.Addr]string{}
	sharedKey := map[netip.Addr]string{}
	var problems []string
	for _, s := range svcs.Items {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		addrs := lab.IngressAddrs(&s)
		name := s.Namespace + "/" + s.Name
		fams := map[bool]int{}
		for _, a := range addrs {
			fams[a.Is4()]++
		}
		want := len(s.Spec.IPFamilies)
		if len(addrs) != want || fams[true] > 1 || fams[false] > 1 {
			problems = append(problems, fmt.Sprintf("%s has %v for families %v", name, addrs, s.Spec.IPFamilies))
		}
		key := s.Annotations[annotationAllowSharedIP]
		for _, a := range addrs {
			if o, ok := owner[a]; ok && (key == "" || sharedKey[a] != key) {
				problems = append(problems, fmt.Sprintf("%s and %s both have %s", o, name, a))
			}
			owner[a], sharedKey[a] = name, key
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// announcedHolds checks what is announced for the Services: one ServiceL2Status per layer 2
// address, whose node answers ARP/NDP for it; every node as the router's next hop for each
// BGP address.
func announcedHolds(ctx context.Context, l *lab.Lab, svcs []*corev1.Service) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	for _, s := range svcs {
		var now corev1.Service
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), &now); err != nil {
			return err
		}
		for _, a := range lab.IngressAddrs(&now) {
			if !inPool(l, a) { // the BGP pool
				got, err := l.RouterNextHops(hostPrefix(a))
				if err != nil {
					return err
				}
				want := nodeAddrsOf(a, allNodeNames()...)
				if !slices.Equal(got, want) {
					return fmt.Errorf("router: %s via %v, want %v", a, got, want)
				}
				continue
			}
			nodes, err := l.Announcers(ctx, &now, a)
			if err != nil {
				return err
			}
			if len(nodes) != 1 {
				return fmt.Errorf("%s announced by %v, want one node", a, nodes)
			}
			n, _ := l.Node(nodes[0])
			if a.Is6() {
				if mac := ndiscMAC(a); mac != n.MAC {
					return fmt.Errorf("%s answered by %q, want the owner %s (%s)", a, mac, n.Name, n.MAC)
				}
				continue
			}
			// Every node that answers, not only the first: two owners must not pass.
			if macs := arpAnswers(l, a); macs != n.MAC {
				return fmt.Errorf("%s answered by %q, want only the owner %s (%s)", a, macs, n.Name, n.MAC)
			}
		}
	}
	return nil
}

// arpAnswers asks for addr from the client and returns every MAC that answered within 200ms
// of the first answer, comma-separated and sorted; "" if none did within 2 s.
func arpAnswers(l *lab.Lab, addr netip.Addr) string {
	out, err := lab.Output(l.ClientNS, filepath.Join(l.BinDir(), "herald-lab"), "arp-wait", "-iface", lab.NodeIf,
		"-addr", addr.String(), "-timeout", "2s", "-linger", "200ms")
	if err != nil {
		return ""
	}
	macs, _, _ := strings.Cut(strings.TrimSpace(out), " ")
	return strings.ToLower(macs)
}

// nodeAddrsOf is nodeAddrs without a test: the named nodes' addresses of a's family, sorted.
func nodeAddrsOf(a netip.Addr, names ...string) []netip.Addr {
	var out []netip.Addr
	for _, name := range names {
		n, _ := theLab.Node(name)
		if a.Is4() {
			out = append(out, n.Addr4)
		} else {
			out = append(out, n.Addr6)
		}
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return out
}

// converge waits until addresses and announcements hold and returns how long that took from
// start; it fails the test with the last problem when they do not within timeout.
func converge(t *testing.T, l *lab.Lab, svcs []*corev1.Service, start time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	var last error
	deadline := start.Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		last = addressesHold(ctx, c)
		if last == nil {
			last = announcedHolds(ctx, l, svcs)
		}
		cancel()
		if last == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged %s after the fault: %v", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addressesOf returns the Services' addresses as they are now.
func addressesOf(t *testing.T, c client.Client, svcs []*corev1.Service) map[string][]netip.Addr {
	t.Helper()
	out := map[string][]netip.Addr{}
	for _, s := range svcs {
		var now corev1.Service
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(s), &now); err != nil {
			t.Fatal(err)
		}
		out[s.Name] = lab.IngressAddrs(&now)
	}
	return out
}

func sameAddresses(t *testing.T, what string, before, after map[string][]netip.Addr) {
	t.Helper()
	for name, a := range before {
		if !slices.Equal(after[name], a) {
			t.Errorf("%s: Service %s has %v, had %v", what, name, after[name], a)
		}
	}
}

// Services churn (created and deleted all the time) in a pool of their own while the
// controller is killed and restarted: no Service changes address, none is left without one,
// no two share one.
func TestChaosControllerKilledWhileServicesChurn(t *testing.T) {
	l := requireLab(t)
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	const ns, pool = "chaos", "chaos"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// 4096 IPv6 addresses that nothing announces: this is about the controller.
	p := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"2001:db8:60::/116"}, AutoAssign: ptr.To(false)}}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	alive := map[string]bool{}
	seq := 0
	create := func() error {
		mu.Lock()
		seq++
		name := fmt.Sprintf("churn-%d", seq)
		mu.Unlock()
		fam := corev1.IPFamilyPolicySingleStack
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{annotationAddressPool: pool}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol}, IPFamilyPolicy: &fam,
				Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}}}
		if err := c.Create(ctx, s); err != nil {
			return err
		}
		mu.Lock()
		alive[name] = true
		mu.Unlock()
		return nil
	}
	remove := func(name string) error {
		err := c.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
		mu.Lock()
		delete(alive, name)
		mu.Unlock()
		return client.IgnoreNotFound(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		names := slices.Collect(maps.Keys(alive))
		mu.Unlock()
		if err := parallel(8, len(names), func(i int) error { return remove(names[i]) }); err != nil {
			t.Errorf("delete the churned Services: %v", err)
		}
		_ = c.Delete(context.Background(), p)
	})
	n := chaosScale(100, 1000)
	if err := parallel(8, n, func(int) error { return create() }); err != nil {
		t.Fatal(err)
	}
	// first is the address each Service was first seen with.
	first := map[string]netip.Addr{}
	settled := func(timeout time.Duration) {
		t.Helper()
		var pending int
		eventually(t, timeout, 100*time.Millisecond, "every churned Service addressed", func() bool {
			var list corev1.ServiceList
			if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return false
			}
			pending = 0
			mu.Lock()
			defer mu.Unlock()
			for _, s := range list.Items {
				a := lab.IngressAddrs(&s)
				if len(a) != 1 {
					if alive[s.Name] {
						pending++
					}
					continue
				}
				if f, ok := first[s.Name]; ok && f != a[0] {
					t.Errorf("Service %s changed address: %s, then %s", s.Name, f, a[0])
				}
				first[s.Name] = a[0]
			}
			return pending == 0
		})
	}
	settled(2 * time.Minute)

	// Churn: delete a random Service and create one, until told to stop.
	stop := make(chan struct{})
	churned := make(chan int)
	go func() {
		ops := 0
		for {
			select {
			case <-stop:
				churned <- ops
				return
			default:
			}
			mu.Lock()
			var victim string
			for name := range alive {
				victim = name
				break
			}
			mu.Unlock()
			if victim != "" {
				_ = remove(victim)
			}
			_ = create()
			ops++
			time.Sleep(20 * time.Millisecond) // the churn's pace
		}
	}()
	kills := chaosScale(2, 5)
	for i := range kills {
		// The fault, at a random moment of the churn: a wait, not a poll.
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
		wait, err := l.Signal("herald-controller", syscall.SIGKILL)
		if err != nil {
			t.Fatal(err)
		}
		if err := wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		// Down for a random while; Services created meanwhile wait for it.
		time.Sleep(time.Duration(200+rand.IntN(1500)) * time.Millisecond)
		restart := time.Now()
		if err := l.Restart("herald-controller"); err != nil {
			t.Fatal(err)
		}
		// Recovery: the Services created while it was down have their addresses.
		settled(2 * time.Minute)
		d := time.Since(restart)
		t.Logf("controller kill %d/%d: every Service addressed %s after the restart", i+1, kills, d.Round(time.Millisecond))
		recordChaos("controller SIGKILL during churn: all Services addressed after restart", d)
	}
	close(stop)
	ops := <-churned
	settled(time.Minute)
	if err := addressesHold(ctx, c); err != nil {
		t.Error(err)
	}
	t.Logf("%d Services, %d churn operations, %d controller kills: no address changed or was shared", n, ops, kills)
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, fn func(int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// Random speakers are killed and restarted: after each, the announcements are whole again.
func TestChaosSpeakersKilledAndRestarted(t *testing.T) {
	l := requireLab(t)
	svcs := chaosServices(t, "chaos-spk")
	converge(t, l, svcs, time.Now(), time.Minute)
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	before := addressesOf(t, c, svcs)
	rounds := chaosScale(2, 8)
	for i := range rounds {
		n := l.Nodes[rand.IntN(len(l.Nodes))]
		wait, err := l.Signal("speaker-"+n.Name, syscall.SIGKILL)
		if err != nil {
			t.Fatal(err)
		}
		if err := wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		// Down for a random while before it restarts.
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		restart := time.Now()
		if err := l.Restart("speaker-" + n.Name); err != nil {
			t.Fatal(err)
		}
		d := converge(t, l, svcs, restart, 2*time.Minute)
		t.Logf("round %d/%d: speaker of %s killed; announcements whole %s after its restart", i+1, rounds, n.Name, d.Round(time.Millisecond))
		recordChaos("speaker SIGKILL and restart: announcements whole after restart", d)
	}
	sameAddresses(t, "after the speaker kills", before, addressesOf(t, c, svcs))
}

// A node's link goes down and comes back (a memberlist partition): another node takes its
// addresses over; after the link returns, the cluster settles on one owner again. The time
// with no owner, and the time after the return until one owner answers again, are measured.
func TestChaosNodeLinkDownAndUp(t *testing.T) {
	l := requireLab(t)
	svcs := chaosServices(t, "chaos-link")
	converge(t, l, svcs, time.Now(), time.Minute)
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	before := addressesOf(t, c, svcs)
	addr := before[svcs[0].Name][0] // layer 2, IPv4
	rounds := chaosScale(1, 3)
	for i := range rounds {
		own := owner(t, svcs[0], addr)
		port := fmt.Sprintf("%s-n%s", lab.Prefix, strings.TrimPrefix(own.Name, "node"))
		down := time.Now()
		if _, err := lab.Output("", "ip", "link", "set", port, "down"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = lab.Output("", "ip", "link", "set", port, "up") })
		eventually(t, 30*time.Second, 10*time.Millisecond, "another node answering for "+addr.String(), func() bool {
			mac := arpingOnce(addr, 1)
			return mac != "" && mac != own.MAC
		})
		none := time.Since(down)
		time.Sleep(3 * time.Second) // the partition lasts 3 s
		up := time.Now()
		if _, err := lab.Output("", "ip", "link", "set", port, "up"); err != nil {
			t.Fatal(err)
		}
		d := converge(t, l, svcs, up, 2*time.Minute)
		t.Logf("round %d/%d: %s's link down: no owner for %s; after it came back, one owner again in %s",
			i+1, rounds, own.Name, none.Round(time.Millisecond), d.Round(time.Millisecond))
		recordChaos("link down: time without an owner answering", none)
		recordChaos("link back up: one owner again (announcements whole)", d)
	}
	sameAddresses(t, "after the partitions", before, addressesOf(t, c, svcs))
}

// FRR is killed and restarted, repeatedly: sessions and routes come back each time.
func TestChaosRouterRestarts(t *testing.T) {
	l := requireLab(t)
	svcs := chaosServices(t, "chaos-router")
	converge(t, l, svcs, time.Now(), time.Minute)
	rounds := chaosScale(1, 3)
	for i := range rounds {
		start := time.Now()
		if err := l.RestartRouter(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := converge(t, l, svcs, start, 2*time.Minute)
		t.Logf("round %d/%d: router restarted; routes whole again in %s", i+1, rounds, d.Round(time.Millisecond))
		recordChaos("router (FRR) killed and restarted: routes whole", d)
	}
}

// etcd and the API server are killed and started again: nothing changes, and a new Service
// gets an address once they are back.
func TestChaosAPIServerAndEtcdRestart(t *testing.T) {
	l := requireLab(t)
	svcs := chaosServices(t, "chaos-api")
	converge(t, l, svcs, time.Now(), time.Minute)
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	before := addressesOf(t, c, svcs)
	for _, name := range []string{"kube-apiserver", "etcd"} {
		wait, err := l.Signal(name, syscall.SIGKILL)
		if err != nil {
			t.Fatal(err)
		}
		if err := wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = l.Restart("etcd"); _ = l.Restart("kube-apiserver") })
	time.Sleep(2 * time.Second) // both stay down for 2 s
	start := time.Now()
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if err := l.Restart(name); err != nil {
			t.Fatal(err)
		}
	}
	var svc *corev1.Service
	eventually(t, 2*time.Minute, 200*time.Millisecond, "a new Service addressed after the restart", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := l.CreateService(ctx, lab.ServiceSpec{Namespace: "e2e", Name: "chaos-api-new"})
		if err != nil {
			return false
		}
		svc = s
		return true
	})
	d := time.Since(start)
	t.Cleanup(func() { _ = l.DeleteService(context.Background(), svc) })
	t.Logf("etcd and kube-apiserver restarted: a new Service had its address %s later", d.Round(time.Millisecond))
	recordChaos("etcd and API server killed and restarted: new Service addressed", d)
	converge(t, l, append(svcs, svc), time.Now(), time.Minute)
	sameAddresses(t, "after the API server restart", before, addressesOf(t, c, svcs))
}

// Malformed ARP, NDP, memberlist datagrams and BGP messages hit the speakers: they keep
// running, answering and announcing, and the broken BGP peer's state says what went wrong.
func TestChaosMalformedInputAtTheSpeakers(t *testing.T) {
	l := requireLab(t)
	svcs := chaosServices(t, "chaos-junk")
	converge(t, l, svcs, time.Now(), time.Minute)
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pids := map[string]int{}
	for _, n := range l.Nodes {
		pids[n.Name] = l.PID("speaker-" + n.Name)
	}
	// A "router" at the segment client that answers every speaker with broken BGP.
	fake := &heraldv1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "chaos-fake", Namespace: lab.HeraldNamespace},
		Spec: heraldv1beta1.BGPPeerSpec{MyASN: int64(l.Router.NodeASN), PeerASN: ptr.To(int64(64502)), PeerAddress: heraldv1beta1.IPAddress(l.ClientAddr4.String())}}
	if err := c.Create(ctx, fake); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), fake) })
	var targets, udp []string
	for _, as := range addressesOf(t, c, svcs) {
		for _, a := range as {
			targets = append(targets, a.String())
		}
	}
	for _, n := range l.Nodes {
		udp = append(udp, netip.AddrPortFrom(n.Addr4, 7946).String())
	}
	out, err := lab.Output(l.ClientNS, filepath.Join(l.BinDir(), "herald-lab"), "garbage", "-iface", lab.NodeIf,
		"-targets", strings.Join(targets, ","), "-frames", fmt.Sprint(chaosScale(600, 6000)),
		"-udp", strings.Join(udp, ","), "-bgp-listen", netip.AddrPortFrom(l.ClientAddr4, 179).String(),
		"-duration", fmt.Sprintf("%ds", chaosScale(12, 30)))
	t.Logf("garbage: %s (%v)", strings.TrimSpace(out), err)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes {
		if pid := l.PID("speaker-" + n.Name); pid != pids[n.Name] || pid == 0 {
			t.Errorf("speaker of %s: pid %d before, %d after the garbage", n.Name, pids[n.Name], pid)
		}
	}
	states, err := l.RouterSessions()
	if err != nil {
		t.Fatal(err)
	}
	for peer, st := range states {
		if st != "Established" {
			t.Errorf("the router's session with %s is %s after the garbage", peer, st)
		}
	}
	converge(t, l, svcs, time.Now(), 30*time.Second)
	// The broken peer's sessions say why they are not up.
	eventually(t, 30*time.Second, 200*time.Millisecond, "BGPSessionStates of chaos-fake with an error", func() bool {
		var ss heraldv1beta1.BGPSessionStateList
		if err := c.List(ctx, &ss, client.InNamespace(lab.HeraldNamespace)); err != nil {
			return false
		}
		n := 0
		for _, s := range ss.Items {
			if s.Spec.Peer == "chaos-fake" && s.Status.SessionState != "Established" && s.Status.LastError != "" {
				n++
			}
		}
		return n == len(l.Nodes)
	})
}

// writeChaosFigures writes docs/chaos.md from chaosFigures.
func writeChaosFigures() error {
	var b strings.Builder
	b.WriteString(`# Chaos in the lab: recovery times

Written by ` + "`make chaos`" + ` (the chaos tests of e2etest/ with HERALD_CHAOS=full and
HERALD_WRITE_FIGURES=1); do not edit by hand. ` + "`make test`" + ` runs the same tests in a reduced
form.

Every scenario ends with the same property check, which passed: every Service has exactly one
address per family, unique unless shared; every layer 2 address has one ServiceL2Status and is
answered (ARP/NDP) by that node's MAC; every BGP address has one next hop per node at the
router; and no Service changed address. The times run from the end of the fault (the restart,
the link back up) until that check passes, except where the row says otherwise.

Scenarios: the controller SIGKILLed repeatedly while 1000 Services churn (created and deleted
every 20ms) and restarted after up to 1.7s; random speakers SIGKILLed and restarted; a node's
link taken down for 3s and brought back (a memberlist partition: the node that lost its link
keeps announcing where nobody hears it, and for the time in the last row after the link returns
two nodes may answer); FRR killed and restarted; etcd and kube-apiserver killed and restarted;
malformed ARP, NDP, memberlist datagrams and BGP messages (random bytes, impossible lengths, an
OPEN of version 9, an UPDATE that overruns itself) sent at the speakers, which must keep their
process, their answers and their sessions.

`)
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), hostDesc())
	b.WriteString("| scenario | samples | p50 | max |\n| --- | --- | --- | --- |\n")
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	for _, name := range slices.Sorted(maps.Keys(chaosFigures)) {
		ds := chaosFigures[name]
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", name, len(ds), ms(percentile(ds, 0.5)), ms(slices.Max(ds)))
	}
	path := filepath.Join(theLab.Root, "docs", "chaos.md")
	fmt.Printf("e2etest: wrote %s\n", path)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
