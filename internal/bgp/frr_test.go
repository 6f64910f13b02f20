package bgp

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/benchdoc"
)

const routerWait = 60 * time.Second

// star is an FRR router namespace with a bridge and n speaker namespaces on it: the router is
// 192.0.2.254 and 2001:db8::254, speaker i (from 1) is 192.0.2.i and 2001:db8::i.
type star struct {
	router   string
	speakers []string
}

func newStar(t *testing.T, n int) *star {
	t.Helper()
	requirePrivileges(t, "ip")
	s := &star{router: newNS(t, "r")}
	inNS(t, s.router, "ip", "link", "add", "br0", "type", "bridge")
	inNS(t, s.router, "ip", "addr", "add", "192.0.2.254/24", "dev", "br0")
	inNS(t, s.router, "ip", "addr", "add", "2001:db8::254/64", "dev", "br0", "nodad")
	inNS(t, s.router, "ip", "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := newNS(t, fmt.Sprintf("s%d", i))
		rif := fmt.Sprintf("r%d", i)
		link(t, s.router, rif, nil, ns, "eth0", []string{fmt.Sprintf("192.0.2.%d/24", i), fmt.Sprintf("2001:db8::%d/64", i)})
		inNS(t, s.router, "ip", "link", "set", rif, "master", "br0")
		s.speakers = append(s.speakers, ns)
	}
	return s
}

// frrConfig is a bgpd.conf for AS 64513 that accepts everything from the given neighbors (all
// in AS 64512), sends them nothing, and installs up to 8 ECMP paths. perNeighbor lines are
// added under the router for each neighbor, with %s replaced by its address.
func frrConfig(neighbors []string, perNeighbor ...string) string {
	var b strings.Builder
	b.WriteString("frr defaults traditional\nhostname r\n!\nrouter bgp 64513\n bgp router-id 192.0.2.254\n no bgp ebgp-requires-policy\n")
	for _, n := range neighbors {
		fmt.Fprintf(&b, " neighbor %s remote-as 64512\n neighbor %s passive\n", n, n)
		for _, l := range perNeighbor {
			fmt.Fprintf(&b, " "+l+"\n", n)
		}
	}
	for _, af := range []string{"ipv4", "ipv6"} {
		fmt.Fprintf(&b, " address-family %s unicast\n  maximum-paths 8\n", af)
		for _, n := range neighbors {
			fmt.Fprintf(&b, "  neighbor %s activate\n  neighbor %s route-map NOTHING out\n", n, n)
		}
		b.WriteString(" exit-address-family\n")
	}
	b.WriteString("!\nroute-map NOTHING deny 10\n!\n")
	return b.String()
}

var (
	vip4 = netip.MustParsePrefix("203.0.113.10/32")
	vip6 = netip.MustParsePrefix("2001:db8:f::10/128")
)

// speakerDesired is speaker i's state: one eBGP session with the router carrying both
// families, and the given prefixes.
func speakerDesired(i int, prefixes ...netip.Prefix) Desired {
	p := Peer{
		Name: "r", Address: netip.MustParseAddr("192.0.2.254"), MyASN: 64512, PeerASN: 64513,
		HoldTime: 9 * time.Second, Families: FamilyIPv4 | FamilyIPv6,
		CrossFamilyNextHop: netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", i)),
	}
	d := Desired{RouterID: netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i)), Peers: []Peer{p}}
	for _, pfx := range prefixes {
		d.Advertisements = append(d.Advertisements, Advertisement{Prefix: pfx, Peers: []string{"r"}})
	}
	return d
}

func (r *frr) waitNextHops(t *testing.T, prefix netip.Prefix, want ...string) {
	t.Helper()
	var got []string
	eventually(t, fmt.Sprintf("FRR to install %v via %v", prefix, want), routerWait, func() bool {
		got = r.installedNextHops(t, prefix.String())
		return slices.Equal(got, sortedStrings(want))
	})
}

func TestFRRInstallsThreeECMPNextHopsAndFollowsWithdrawals(t *testing.T) {
	s := newStar(t, 3)
	r := startFRR(t, s.router, frrConfig([]string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}))
	var hs []*helper
	for i, ns := range s.speakers {
		hs = append(hs, startHelper(t, ns, speakerDesired(i+1, vip4, vip6)))
	}
	r.waitNextHops(t, vip4, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	r.waitNextHops(t, vip6, "2001:db8::1", "2001:db8::2", "2001:db8::3")
	if out := inNS(t, s.router, "ip", "route", "show", vip4.String()); strings.Count(out, "nexthop via") != 3 {
		t.Errorf("kernel route in the router namespace is not a 3-way multipath:\n%s", out)
	}

	// Speaker 2 stops advertising; speaker 1 closes (no graceful restart: withdrawn at once).
	hs[1].set(t, speakerDesired(2))
	r.waitNextHops(t, vip4, "192.0.2.1", "192.0.2.3")
	r.waitNextHops(t, vip6, "2001:db8::1", "2001:db8::3")
	hs[0].close(t)
	r.waitNextHops(t, vip4, "192.0.2.3")
	r.waitNextHops(t, vip6, "2001:db8::3")
}

func TestFRRSessionWithMD5PasswordComesUpOnlyWithTheRightPassword(t *testing.T) {
	s := newStar(t, 2)
	r := startFRR(t, s.router, frrConfig([]string{"192.0.2.1", "192.0.2.2"}, "neighbor %s password s3cret"))
	right := speakerDesired(1, vip4)
	right.Peers[0].Password = "s3cret"
	wrong := speakerDesired(2, vip4)
	wrong.Peers[0].Password = "wrong"
	startHelper(t, s.speakers[0], right)
	h2 := startHelper(t, s.speakers[1], wrong)

	r.waitNextHops(t, vip4, "192.0.2.1")
	if st := r.neighborState(t, "192.0.2.1"); st != "Established" {
		t.Errorf("FRR's session with the right password is %s", st)
	}
	var ss []SessionState
	eventually(t, "the wrong password's error in Sessions()", routerWait, func() bool {
		ss = h2.sessions(t)
		return len(ss) == 1 && ss[0].LastError != ""
	})
	t.Logf("session with the wrong password: %+v", ss[0])
	if ss[0].State == StateEstablished {
		t.Errorf("session with the wrong password is Established: %+v", ss[0])
	}
	if st := r.neighborState(t, "192.0.2.2"); st == "Established" {
		t.Errorf("FRR has the session with the wrong password Established")
	}
	if got := r.installedNextHops(t, vip4.String()); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("next hops = %v, want only the speaker with the right password", got)
	}
}

func TestFRRKeepsRoutesThroughARestartWithGracefulRestart(t *testing.T) {
	s := newStar(t, 1)
	r := startFRR(t, s.router, frrConfig([]string{"192.0.2.1"}))
	d := speakerDesired(1, vip4)
	d.Peers[0].GracefulRestart = true
	d.Peers[0].RestartTime = 120 * time.Second
	h := startHelper(t, s.speakers[0], d)
	r.waitNextHops(t, vip4, "192.0.2.1")

	// A crash: the kernel closes the socket, no NOTIFICATION. FRR keeps the route as stale.
	h.kill()
	eventually(t, "FRR to see the session down", routerWait, func() bool { return r.neighborState(t, "192.0.2.1") != "Established" })
	if got := r.installedNextHops(t, vip4.String()); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Fatalf("route dropped during a graceful restart: next hops %v", got)
	}
	h = startHelper(t, s.speakers[0], d)
	eventually(t, "the session back", routerWait, func() bool { return r.neighborState(t, "192.0.2.1") == "Established" })
	r.waitNextHops(t, vip4, "192.0.2.1")

	// Close with graceful restart also leaves the route in place.
	h.close(t)
	eventually(t, "FRR to see the session down after Close", routerWait, func() bool { return r.neighborState(t, "192.0.2.1") != "Established" })
	if got := r.installedNextHops(t, vip4.String()); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Fatalf("route dropped after a graceful Close: next hops %v", got)
	}
}

func TestFRRWithdrawsAtOnceWhenASpeakerWithoutGracefulRestartDies(t *testing.T) {
	s := newStar(t, 1)
	r := startFRR(t, s.router, frrConfig([]string{"192.0.2.1"}))
	h := startHelper(t, s.speakers[0], speakerDesired(1, vip4))
	r.waitNextHops(t, vip4, "192.0.2.1")
	h.kill()
	r.waitNextHops(t, vip4)
}

func TestFRRTwoHopsAwayWithEBGPMultiHop(t *testing.T) {
	requirePrivileges(t, "ip")
	rns, mid, spk := newNS(t, "r"), newNS(t, "m"), newNS(t, "s")
	link(t, rns, "eth0", []string{"198.51.100.1/30"}, mid, "eth0", []string{"198.51.100.2/30"})
	link(t, mid, "eth1", []string{"203.0.113.129/30"}, spk, "eth0", []string{"203.0.113.130/30"})
	inNS(t, mid, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	inNS(t, rns, "ip", "route", "add", "203.0.113.128/30", "via", "198.51.100.2")
	inNS(t, spk, "ip", "route", "add", "default", "via", "203.0.113.129")
	r := startFRR(t, rns, frrConfig([]string{"203.0.113.130"}, "neighbor %s ebgp-multihop 255"))
	d := Desired{
		RouterID: netip.MustParseAddr("203.0.113.130"),
		Peers: []Peer{{Name: "r", Address: netip.MustParseAddr("198.51.100.1"), MyASN: 64512, PeerASN: 64513,
			HoldTime: 9 * time.Second, EBGPMultiHop: true}},
		Advertisements: []Advertisement{{Prefix: vip4, Peers: []string{"r"}}},
	}
	startHelper(t, spk, d)
	eventually(t, "FRR to install the route via the speaker two hops away", routerWait, func() bool {
		return slices.Contains(r.installedNextHops(t, vip4.String()), "203.0.113.130")
	})
}

// TestFRRReceives10000Prefixes measures how long one speaker takes from Set until FRR holds
// 10,000 prefixes (IPv6 /128s: the IPv4 documentation ranges hold only 768 /32s), and until FRR
// holds none after they are withdrawn. HERALD_BGP_RUNS sets the runs (default 1);
// HERALD_WRITE_FIGURES=1 writes the bgp section of docs/benchmarks.md (make bench-bgp).
func TestFRRReceives10000Prefixes(t *testing.T) {
	runs := 1
	if s := os.Getenv("HERALD_BGP_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("HERALD_BGP_RUNS=%q: want a positive number", s)
		}
		runs = n
	}
	s := newStar(t, 1)
	r := startFRR(t, s.router, frrConfig([]string{"192.0.2.1"}))
	h := startHelper(t, s.speakers[0], speakerDesired(1))
	eventually(t, "the session", routerWait, func() bool { return r.neighborState(t, "192.0.2.1") == "Established" })

	const n = 10000
	prefixes := make([]netip.Prefix, 0, n)
	for i := range n {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x10, 14: byte(i >> 8), 15: byte(i)})
		prefixes = append(prefixes, netip.PrefixFrom(a, 128))
	}
	var adv, wd []time.Duration
	for i := range runs {
		start := time.Now()
		h.set(t, speakerDesired(1, prefixes...))
		eventually(t, "FRR to hold 10,000 prefixes", 5*time.Minute, func() bool {
			return r.receivedPrefixes(t, "ipv6", "192.0.2.1") == n
		})
		adv = append(adv, time.Since(start))
		start = time.Now()
		h.set(t, speakerDesired(1))
		eventually(t, "FRR to hold none", 5*time.Minute, func() bool {
			return r.receivedPrefixes(t, "ipv6", "192.0.2.1") == 0
		})
		wd = append(wd, time.Since(start))
		t.Logf("run %d/%d: FRR held all %d prefixes %v after Set, none %v after they were withdrawn", i+1, runs, n, adv[i], wd[i])
	}
	if os.Getenv("HERALD_WRITE_FIGURES") != "1" {
		return
	}
	path, err := benchdoc.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	m := benchdoc.Describe()
	ms := func(ds []time.Duration, q float64) string {
		ds = slices.Sorted(slices.Values(ds))
		return ds[int(q*float64(len(ds)-1))].Round(time.Millisecond).String()
	}
	body := fmt.Sprintf(`## BGP: 10,000 prefixes to FRR

Measured %s (UTC) on: %s, with `+"`make bench-bgp`"+` (TestFRRReceives10000Prefixes in internal/bgp,
HERALD_BGP_RUNS=%d). One speaker (GoBGP in a network namespace) and FRR 8.4 (bgpd and zebra) in
another, over a veth pair, one eBGP session carrying IPv6. The time runs from the speaker's Set
of 10,000 /128 routes (or of none) until FRR's `+"`show bgp ipv6 unicast summary`"+` counts all of them
(or none).

| | runs | p50 | max |
| --- | --- | --- | --- |
| advertise 10,000 prefixes until FRR holds all | %d | %s | %s |
| withdraw them until FRR holds none | %d | %s | %s |
`, m.Date, m, runs, runs, ms(adv, 0.5), ms(adv, 1), runs, ms(wd, 0.5), ms(wd, 1))
	if err := benchdoc.WriteSection(path, "bgp", body, benchdoc.Intro); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the bgp section of %s", path)
}

func (r *frr) receivedPrefixes(t *testing.T, af, neighbor string) int {
	t.Helper()
	var sum struct {
		Peers map[string]struct {
			PfxRcd int `json:"pfxRcd"`
		} `json:"peers"`
	}
	if err := jsonUnmarshal(r.vtysh(t, "show bgp "+af+" unicast summary json"), &sum); err != nil {
		t.Fatal(err)
	}
	return sum.Peers[neighbor].PfxRcd
}
