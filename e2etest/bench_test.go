package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
	"github.com/heraldlb/herald/internal/benchdoc"
	"github.com/heraldlb/herald/internal/procstat"
)

// BenchmarkSpeakers measures the speakers in the lab: CPU and memory idle and with many
// announced addresses, and the reaction time from a Service's creation to its address
// answering ARP and to its route at the router. Run with `make bench-speaker`
// (-benchtime=1x); HERALD_WRITE_FIGURES=1 writes the speaker section of docs/benchmarks.md.
// HERALD_BENCH_SERVICES sets the number of announced addresses (default 5000).
func BenchmarkSpeakers(b *testing.B) {
	if skipReason != "" {
		b.Skip(skipReason)
	}
	l := theLab
	n := 5000
	if s := os.Getenv("HERALD_BENCH_SERVICES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 0x10000 {
			b.Fatalf("HERALD_BENCH_SERVICES=%q: want 1 to 65536", s)
		}
		n = v
	}
	var r speakerBench
	for range b.N {
		r = runSpeakerBench(b, l, n)
	}
	b.ReportMetric(r.reactionL2.p50().Seconds()*1000, "ms-to-ARP-p50")
	b.ReportMetric(r.reactionBGP.p50().Seconds()*1000, "ms-to-route-p50")
	if os.Getenv("HERALD_WRITE_FIGURES") != "1" {
		return
	}
	path, err := benchdoc.DefaultPath()
	if err != nil {
		b.Fatal(err)
	}
	if err := benchdoc.WriteSection(path, "speaker", r.markdown(n), benchdoc.Intro); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("e2etest: wrote the speaker section of %s\n", path)
}

type durations []time.Duration

func (d durations) p50() time.Duration { return percentile(d, 0.5) }
func (d durations) max() time.Duration { return slices.Max(d) }

// usage is one process's resources over a window.
type usage struct {
	cpuPercent float64 // of one CPU
	rssMiB     float64
	peakMiB    float64
}

type speakerBench struct {
	idle, converging, loaded []usage
	reactionL2, reactionBGP  durations
	converge, withdraw       time.Duration
	create                   time.Duration
}

func runSpeakerBench(b *testing.B, l *lab.Lab, n int) speakerBench {
	b.Helper()
	ctx := context.Background()
	c, err := l.Client()
	if err != nil {
		b.Fatal(err)
	}
	var r speakerBench
	r.idle = speakerUsage(b, l, 20*time.Second)

	// Reaction: an address asked for by annotation, polled from the moment the Service is made.
	first4, _, _ := cut(l.PoolRanges[0])
	firstBGP, _, _ := cut(l.BGPPoolRanges[0])
	for i := range 10 {
		a := first4
		for range 10 + i {
			a = a.Next()
		}
		r.reactionL2 = append(r.reactionL2, reaction(b, l, fmt.Sprintf("react-l2-%d", i), a, "", func() bool {
			// Asks every 10ms until answered (arping waits a whole second for each answer).
			_, err := lab.Output(l.ClientNS, filepath.Join(l.BinDir(), "herald-lab"), "arp-wait", "-iface", lab.NodeIf, "-addr", a.String(), "-timeout", "30s")
			return err == nil
		}))
		ab := firstBGP
		for range 10 + i {
			ab = ab.Next()
		}
		want := nodeAddrsOf(ab, allNodeNames()...)
		r.reactionBGP = append(r.reactionBGP, reaction(b, l, fmt.Sprintf("react-bgp-%d", i), ab, bgpPool, func() bool {
			got, err := l.RouterNextHops(hostPrefix(ab))
			return err == nil && slices.Equal(got, want)
		}))
	}

	// n Services of one IPv6 pool on the segment, advertised in layer 2 and over BGP, each with
	// an endpoint on every node.
	const pool, ns = "bench", "bench"
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: lab.HeraldNamespace},
			Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"2001:db8:10::1:0/112"}, AutoAssign: ptr.To(false)}},
		&heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: lab.HeraldNamespace},
			Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{pool}}},
		&heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: lab.HeraldNamespace},
			Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{pool}}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, o := range objs[1:] {
			_ = c.Delete(context.Background(), o)
		}
	})
	cpu0 := speakerCPU(b, l)
	start := time.Now()
	if err := parallel(8, n, func(i int) error { return createBenchService(ctx, l, c, ns, pool, i) }); err != nil {
		b.Fatal(err)
	}
	r.create = time.Since(start)
	routerHolds := func(want int) func() bool {
		return func() bool {
			counts, err := routerPrefixCounts(l, "ipv6")
			if err != nil {
				return false
			}
			for _, node := range l.Nodes {
				if counts[node.Addr6] != want {
					return false
				}
			}
			return true
		}
	}
	// The router counts the lab's e2e BGP Services too: none are left when the benchmark runs.
	eventually(b, 10*time.Minute, 50*time.Millisecond, fmt.Sprintf("the router holding %d IPv6 prefixes from every node", n), routerHolds(n))
	r.converge = time.Since(start)
	cpu1 := speakerCPU(b, l)
	for i, node := range l.Nodes {
		u := readUsage(b, l.PID("speaker-"+node.Name))
		u.cpuPercent = 100 * (cpu1[i] - cpu0[i]).Seconds() / r.converge.Seconds()
		r.converging = append(r.converging, u)
	}
	r.loaded = speakerUsage(b, l, 20*time.Second)

	start = time.Now()
	if err := parallel(8, n, func(i int) error {
		return client.IgnoreNotFound(c.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bench-%d", i)}}))
	}); err != nil {
		b.Fatal(err)
	}
	eventually(b, 10*time.Minute, 50*time.Millisecond, "the router holding no prefix after every Service was deleted", routerHolds(0))
	r.withdraw = time.Since(start)
	_ = parallel(8, n, func(i int) error {
		return client.IgnoreNotFound(c.Delete(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bench-%d", i)}}))
	})
	return r
}

// reaction creates a Service asking for addr (from pool, or the default pool) and returns the
// time from the start of its creation until ready holds; the Service is deleted after.
func reaction(b *testing.B, l *lab.Lab, name string, addr netip.Addr, pool string, ready func() bool) time.Duration {
	b.Helper()
	ann := map[string]string{annotationLoadBalancerIPs: addr.String()}
	if pool != "" {
		ann[annotationAddressPool] = pool
	}
	done := make(chan *corev1.Service, 1)
	start := time.Now()
	go func() {
		svc, err := l.CreateService(context.Background(), lab.ServiceSpec{Namespace: "e2e", Name: name, Annotations: ann})
		if err != nil {
			b.Error(err)
		}
		done <- svc
	}()
	eventually(b, 30*time.Second, 5*time.Millisecond, fmt.Sprintf("%s reachable (%s)", addr, name), ready)
	d := time.Since(start)
	if svc := <-done; svc != nil {
		if err := l.DeleteService(context.Background(), svc); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// createBenchService makes Service bench-i in ns from pool, IPv6, with an endpoint on every
// node; no kube-proxy emulation (nothing connects).
func createBenchService(ctx context.Context, l *lab.Lab, c client.Client, ns, pool string, i int) error {
	name := fmt.Sprintf("bench-%d", i)
	policy := corev1.IPFamilyPolicySingleStack
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{annotationAddressPool: pool}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol}, IPFamilyPolicy: &policy,
			// Thousands of Services: the node port range (2768 ports) would run out.
			AllocateLoadBalancerNodePorts: ptr.To(false),
			Selector:                      map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}}}
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv6}
	for _, n := range l.Nodes {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{n.Addr6.String()}, NodeName: ptr.To(n.Name),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	if err := c.Create(ctx, es); err != nil {
		return err
	}
	return c.Create(ctx, svc)
}

// routerPrefixCounts returns how many prefixes of a family the router received from each
// neighbour.
func routerPrefixCounts(l *lab.Lab, af string) (map[netip.Addr]int, error) {
	out, err := l.Vtysh("show bgp " + af + " unicast summary json")
	if err != nil {
		return nil, err
	}
	var sum struct {
		Peers map[string]struct {
			PfxRcd int `json:"pfxRcd"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		return nil, err
	}
	counts := map[netip.Addr]int{}
	for a, p := range sum.Peers {
		if addr, err := netip.ParseAddr(a); err == nil {
			counts[addr] = p.PfxRcd
		}
	}
	return counts, nil
}

// speakerCPU returns each node's speaker CPU time so far, in node order.
func speakerCPU(b *testing.B, l *lab.Lab) []time.Duration {
	b.Helper()
	var out []time.Duration
	for _, n := range l.Nodes {
		out = append(out, processCPU(b, l.PID("speaker-"+n.Name)))
	}
	return out
}

// speakerUsage measures each speaker over window.
func speakerUsage(b *testing.B, l *lab.Lab, window time.Duration) []usage {
	b.Helper()
	before := speakerCPU(b, l)
	time.Sleep(window)
	after := speakerCPU(b, l)
	var out []usage
	for i, n := range l.Nodes {
		u := readUsage(b, l.PID("speaker-"+n.Name))
		u.cpuPercent = 100 * (after[i] - before[i]).Seconds() / window.Seconds()
		out = append(out, u)
	}
	return out
}

func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	d, err := procstat.CPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func readUsage(b *testing.B, pid int) usage {
	b.Helper()
	m, err := procstat.ReadMemory(pid)
	if err != nil {
		b.Fatal(err)
	}
	return usage{rssMiB: float64(m.RSS) / (1 << 20), peakMiB: float64(m.Peak) / (1 << 20)}
}

func (r speakerBench) markdown(n int) string {
	m := benchdoc.Describe()
	var s strings.Builder
	fmt.Fprintf(&s, `## herald-speaker in the lab

Measured %s (UTC) on: %s. Reproduce with `+"`make bench-speaker`"+` (part of `+"`make bench`"+`):
the lab (three node namespaces, FRR, the real programs, everything on this machine) and
BenchmarkSpeakers in e2etest/.

- **idle**: the lab up, its pools and BGP sessions configured, no Service; CPU over 20 s.
- **%d addresses**: %d IPv6 Services of one pool on the segment, advertised in layer 2 (NDP) and
  over BGP, each with an endpoint on every node: every speaker announces all %d to the router and
  answers NDP for its share. *Converging* is from the first create call until the router holds
  all %d prefixes from every node (CPU averaged over that time; the Services and EndpointSlices
  were being created meanwhile); *loaded* is the next 20 s.
- **reaction**: a Service asking for an address by annotation, created with its endpoints; from
  the start of its creation until the address answers ARP (arping from the client, polled) or
  until the router has it with every node as next hop. 10 of each.

Per speaker, p50 and max over the three nodes:

| state | CPU p50 (%% of one CPU) | max | RSS p50 (MiB) | max | peak RSS max (MiB) |
| --- | ---: | ---: | ---: | ---: | ---: |
`, m.Date, m, n, n, n, n)
	for _, row := range []struct {
		name string
		us   []usage
	}{{"idle", r.idle}, {fmt.Sprintf("%d addresses, converging", n), r.converging}, {fmt.Sprintf("%d addresses, loaded", n), r.loaded}} {
		var cpu, rss, peak []float64
		for _, u := range row.us {
			cpu, rss, peak = append(cpu, u.cpuPercent), append(rss, u.rssMiB), append(peak, u.peakMiB)
		}
		fmt.Fprintf(&s, "| %s | %.1f | %.1f | %.0f | %.0f | %.0f |\n", row.name, median(cpu), slices.Max(cpu), median(rss), slices.Max(rss), slices.Max(peak))
	}
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Fprintf(&s, `
| figure | value |
| --- | --- |
| create %d Services and EndpointSlices (8 clients) | %s |
| first create until the router holds all %d prefixes from every node | %s |
| delete them until the router holds none | %s |
| reaction: create until the address answers ARP, p50 / max | %s / %s |
| reaction: create until the route is at the router via every node, p50 / max | %s / %s |
`, n, ms(r.create), n, ms(r.converge), ms(r.withdraw), ms(r.reactionL2.p50()), ms(r.reactionL2.max()), ms(r.reactionBGP.p50()), ms(r.reactionBGP.max()))
	return s.String()
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
