package bgp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	speakerAddr = netip.MustParseAddr("127.0.0.1")
	routerID    = netip.MustParseAddr("192.0.2.1")
)

const convergence = 30 * time.Second

func u32(v uint32) *uint32 { return &v }

func startSpeaker(t *testing.T, reg prometheus.Registerer) *Speaker {
	t.Helper()
	s := New(Config{ConnectRetry: time.Second, Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	t.Cleanup(func() {
		cancel()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestAnnouncesMergedAttributesToTheSelectedPeersOnly(t *testing.T) {
	ebgp := newReceiver(t, netip.MustParseAddr("127.0.0.2"), 64513, 64512, speakerAddr)
	ibgp := newReceiver(t, netip.MustParseAddr("127.0.0.3"), 64512, 64512, speakerAddr)
	s := startSpeaker(t, nil)

	ip := ibgp.peer("ibgp", 64512, speakerAddr)
	ip.Families = FamilyIPv4 | FamilyIPv6
	ip.CrossFamilyNextHop = netip.MustParseAddr("2001:db8::1")
	vip := netip.MustParsePrefix("203.0.113.10/32")
	d := Desired{
		RouterID: routerID,
		Peers:    []Peer{ebgp.peer("ebgp", 64512, speakerAddr), ip},
		Advertisements: []Advertisement{
			{Prefix: vip, Peers: []string{"ebgp", "ibgp"}, Communities: []Community{StandardCommunity(64512, 100), LargeCommunity(4200000000, 1, 2)}},
			{Prefix: vip, Peers: []string{"ebgp", "ibgp"}, Communities: []Community{StandardCommunity(64512, 200), StandardCommunity(64512, 100)}, LocalPref: u32(200)},
			{Prefix: netip.MustParsePrefix("203.0.113.11/32"), Peers: []string{"ebgp"}},
			{Prefix: netip.MustParsePrefix("2001:db8:1::10/128"), Peers: []string{"ibgp"}, LocalPref: u32(50)},
		},
	}
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	merged := []string{"4200000000:1:2", "64512:100", "64512:200"}
	wantE := map[netip.Prefix]receivedPath{
		vip:                                      {NextHop: speakerAddr, Communities: merged, ASPath: []uint32{64512}},
		netip.MustParsePrefix("203.0.113.11/32"): {NextHop: speakerAddr, ASPath: []uint32{64512}},
	}
	wantI := map[netip.Prefix]receivedPath{
		vip: {NextHop: speakerAddr, Communities: merged, LocalPref: 200},
		netip.MustParsePrefix("2001:db8:1::10/128"): {NextHop: netip.MustParseAddr("2001:db8::1"), LocalPref: 50},
	}
	for _, c := range []struct {
		r    *receiver
		want map[netip.Prefix]receivedPath
	}{{ebgp, wantE}, {ibgp, wantI}} {
		var diff string
		if !poll(convergence, func() bool {
			diff = cmp.Diff(c.want, c.r.paths(t), cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty())
			return diff == ""
		}) {
			t.Fatalf("paths at %v (-want +got):\n%s", c.r.addr, diff)
		}
	}
	eventually(t, "prefix counters", convergence, func() bool {
		e, _ := sessionOf(s, "ebgp")
		i, _ := sessionOf(s, "ibgp")
		return e.PrefixesSent == 2 && i.PrefixesSent == 2
	})
}

func TestRemovingAnAdvertisementWithdrawsItAndChangingOnePeerLeavesTheOtherUp(t *testing.T) {
	a := newReceiver(t, netip.MustParseAddr("127.0.0.4"), 64513, 64512, speakerAddr)
	b := newReceiver(t, netip.MustParseAddr("127.0.0.5"), 64514, 64512, speakerAddr)
	reg := prometheus.NewPedanticRegistry()
	s := startSpeaker(t, reg)

	p1, p2 := netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("198.51.100.2/32")
	d := Desired{
		RouterID: routerID,
		Peers:    []Peer{a.peer("a", 64512, speakerAddr), b.peer("b", 64512, speakerAddr)},
		Advertisements: []Advertisement{
			{Prefix: p1, Peers: []string{"a", "b"}},
			{Prefix: p2, Peers: []string{"a", "b"}},
		},
	}
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both sessions Established", convergence, established(s, "a", "b"))
	for _, r := range []*receiver{a, b} {
		eventually(t, "two prefixes at "+r.addr.String(), convergence, func() bool { return len(r.paths(t)) == 2 })
	}
	bBefore, _ := sessionOf(s, "b")
	for _, m := range []struct {
		name string
		want func(float64) bool
	}{
		{"herald_bgp_session_up", func(v float64) bool { return v == 1 }},
		{"herald_bgp_prefixes_announced", func(v float64) bool { return v == 2 }},
		{"herald_bgp_updates_sent_total", func(v float64) bool { return v >= 1 }},
	} {
		if got := metricValue(t, reg, m.name, "a"); !m.want(got) {
			t.Errorf("%s{peer=a} = %v", m.name, got)
		}
	}

	// Withdraw p2 everywhere and change peer a (its hold time): b's session is not reset.
	d.Advertisements = d.Advertisements[:1]
	d.Peers[0].HoldTime = 12 * time.Second
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*receiver{a, b} {
		eventually(t, "p2 withdrawn at "+r.addr.String(), convergence, func() bool {
			got := r.paths(t)
			_, has1 := got[p1]
			_, has2 := got[p2]
			return has1 && !has2
		})
	}
	eventually(t, "a Established again", convergence, established(s, "a"))
	bAfter, _ := sessionOf(s, "b")
	if bAfter.State != StateEstablished || !bAfter.EstablishedSince.Equal(bBefore.EstablishedSince) {
		t.Errorf("peer b was reset by a change of peer a: before %+v, after %+v", bBefore, bAfter)
	}

	// Removing peer a deletes its series.
	d.Peers = d.Peers[1:]
	d.Advertisements[0].Peers = []string{"b"}
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if n := seriesFor(t, reg, "a"); n != 0 {
		t.Errorf("%d series left for removed peer a", n)
	}
	if n := seriesFor(t, reg, "b"); n != 3 {
		t.Errorf("%d series for peer b, want 3", n)
	}
	eventually(t, "the session with a to end", convergence, func() bool {
		return len(a.paths(t)) == 0
	})
}

// metricValue returns the value of the gauge or counter name for peer.
func metricValue(t *testing.T, g prometheus.Gatherer, name, peer string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "peer" && l.GetValue() == peer {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s for peer %s", name, peer)
	return 0
}

func seriesFor(t *testing.T, g prometheus.Gatherer, peer string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "herald_bgp_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "peer" && l.GetValue() == peer {
					n++
				}
			}
		}
	}
	return n
}

func TestAReusedServerTakesTheNewPeersLocalASNAndSessionType(t *testing.T) {
	a := newReceiver(t, netip.MustParseAddr("127.0.0.6"), 64513, 0, netip.Addr{})
	c := newReceiver(t, netip.MustParseAddr("127.0.0.7"), 64600, 0, netip.Addr{})
	s := startSpeaker(t, nil)
	pfx := netip.MustParsePrefix("192.0.2.100/32")
	d := Desired{RouterID: routerID, Peers: []Peer{a.peer("a", 64512, speakerAddr)},
		Advertisements: []Advertisement{{Prefix: pfx, Peers: []string{"a"}, LocalPref: u32(300)}}}
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the path at a", convergence, func() bool { return len(a.paths(t)) == 1 })

	// a goes and c (iBGP in AS 64600) comes: c gets a's GoBGP server, started with AS 64512.
	d.Peers = []Peer{c.peer("c", 64600, speakerAddr)}
	d.Advertisements[0].Peers = []string{"c"}
	if err := s.Set(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	want := map[netip.Prefix]receivedPath{pfx: {NextHop: speakerAddr, LocalPref: 300}}
	var diff string
	if !poll(convergence, func() bool {
		diff = cmp.Diff(want, c.paths(t), cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty())
		return diff == ""
	}) {
		t.Fatalf("paths at c (-want +got):\n%s", diff)
	}
	if got := c.speakerASN(); got != 64600 {
		t.Errorf("OPEN to c carried AS %d, want 64600", got)
	}
	eventually(t, "a's session to end", convergence, func() bool { return len(a.paths(t)) == 0 })
}

func TestSetRejectsInvalidDesiredStateAndAppliesNothing(t *testing.T) {
	good := Peer{Name: "r", Address: netip.MustParseAddr("192.0.2.254"), MyASN: 64512, PeerASN: 64513}
	v6 := netip.MustParsePrefix("2001:db8::1/128")
	for _, tc := range []struct {
		name string
		d    Desired
		want string
	}{
		{"router ID must be IPv4", Desired{RouterID: netip.MustParseAddr("2001:db8::1")}, "router ID"},
		{"peer names are unique", Desired{RouterID: routerID, Peers: []Peer{good, good}}, "name used twice"},
		{"our ASN is required", Desired{RouterID: routerID, Peers: []Peer{{Name: "x", Address: good.Address, PeerASN: 64512}}}, "MyASN"},
		{"advertisements name known peers", Desired{RouterID: routerID, Peers: []Peer{good}, Advertisements: []Advertisement{{Prefix: netip.MustParsePrefix("203.0.113.1/32"), Peers: []string{"nope"}}}}, "unknown peer"},
		{"prefixes are masked", Desired{RouterID: routerID, Peers: []Peer{good}, Advertisements: []Advertisement{{Prefix: netip.MustParsePrefix("203.0.113.1/24"), Peers: []string{"r"}}}}, "masked"},
		{"a peer carries the prefix's family", Desired{RouterID: routerID, Peers: []Peer{good}, Advertisements: []Advertisement{{Prefix: v6, Peers: []string{"r"}}}}, "does not carry"},
		{"the other family needs a next hop", Desired{RouterID: routerID, Peers: []Peer{func() Peer { p := good; p.Families = FamilyIPv4 | FamilyIPv6; return p }()}, Advertisements: []Advertisement{{Prefix: v6, Peers: []string{"r"}}}}, "CrossFamilyNextHop"},
		{"restart time fits the capability", Desired{RouterID: routerID, Peers: []Peer{func() Peer { p := good; p.GracefulRestart, p.RestartTime = true, time.Hour+time.Hour; return p }()}}, "restart time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSpeaker(t, nil)
			err := s.Set(context.Background(), tc.d)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Set = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
			if n := len(s.Sessions()); n != 0 {
				t.Errorf("%d sessions configured by an invalid Set", n)
			}
		})
	}
}

func TestSetBeforeStartAndAfterCloseFails(t *testing.T) {
	s := New(Config{})
	if err := s.Set(context.Background(), Desired{RouterID: routerID}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Set before Start = %v, want ErrNotStarted", err)
	}
	s.Start(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.Set(context.Background(), Desired{RouterID: routerID}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Set after Close = %v, want ErrNotStarted", err)
	}
}

func TestParseCommunity(t *testing.T) {
	for in, want := range map[string]Community{
		"64512:100":        StandardCommunity(64512, 100),
		"4200000000:1:2":   LargeCommunity(4200000000, 1, 2),
		"65535:65535":      StandardCommunity(65535, 65535),
		"0:0:0":            LargeCommunity(0, 0, 0),
		"4294967295:0:123": LargeCommunity(4294967295, 0, 123),
	} {
		got, err := ParseCommunity(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseCommunity(%q) = %v (%v), %v; want %v", in, got, got.String(), err, want)
		}
	}
	for _, bad := range []string{"", "1", "65536:1", "1:2:3:4", "a:b", "4294967296:0:0"} {
		if _, err := ParseCommunity(bad); err == nil {
			t.Errorf("ParseCommunity(%q) succeeded", bad)
		}
	}
}

// A peer ASN of 0 takes the router's AS from its OPEN message (dynamicASN: external).
func TestAnUnsetPeerASNIsLearnedFromTheRoutersOpen(t *testing.T) {
	r := newReceiver(t, netip.MustParseAddr("127.0.0.9"), 4200000007, 64512, speakerAddr)
	s := startSpeaker(t, nil)
	p := r.peer("dyn", 64512, speakerAddr)
	p.PeerASN = 0
	vip := netip.MustParsePrefix("203.0.113.12/32")
	if err := s.Set(context.Background(), Desired{RouterID: routerID, Peers: []Peer{p},
		Advertisements: []Advertisement{{Prefix: vip, Peers: []string{"dyn"}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the session with a learned ASN", convergence, established(s, "dyn"))
	want := map[netip.Prefix]receivedPath{vip: {NextHop: speakerAddr, ASPath: []uint32{64512}}}
	var diff string
	if !poll(convergence, func() bool {
		diff = cmp.Diff(want, r.paths(t), cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty())
		return diff == ""
	}) {
		t.Fatalf("paths (-want +got):\n%s", diff)
	}
}
