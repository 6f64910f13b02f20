package layer2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv6"
)

var (
	ourMAC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	clientIP  = netip.MustParseAddr("192.0.2.100")
	vip4      = netip.MustParseAddr("192.0.2.10")
	other4    = netip.MustParseAddr("192.0.2.11")
	vip6      = netip.MustParseAddr("2001:db8::10")
	client6   = netip.MustParseAddr("fe80::2")
)

func newTestSpeaker(t *testing.T) (*Speaker, *fakeOpener, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	op := newFakeOpener(map[string]net.HardwareAddr{"eth0": ourMAC, "eth1": {0x02, 0, 0, 0, 0, 0x03}})
	s := New(Config{Registerer: reg, Announcements: 3, AnnounceInterval: time.Millisecond, open: op})
	s.Start(context.Background())
	t.Cleanup(func() { _ = s.Close() })
	return s, op, reg
}

func arpRequestFrame(t *testing.T, target netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(arp.OperationRequest, clientMAC, clientIP, ethernet.Broadcast, target)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := p.MarshalBinary()
	fb, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: clientMAC, EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return fb
}

type arpSeen struct {
	dst net.HardwareAddr
	op  arp.Operation
	p   arp.Packet
}

func arpWritten(t *testing.T, f *fakeFrames) []arpSeen {
	t.Helper()
	var out []arpSeen
	for _, b := range f.written() {
		var fr ethernet.Frame
		if err := fr.UnmarshalBinary(b); err != nil {
			t.Fatalf("responder wrote a bad frame: %v", err)
		}
		var p arp.Packet
		if err := p.UnmarshalBinary(fr.Payload); err != nil {
			t.Fatalf("responder wrote a bad ARP packet: %v", err)
		}
		out = append(out, arpSeen{fr.Destination, p.Operation, p})
	}
	return out
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestARPAnnouncesAnswersOwnedOnlyAndStopsAtOnce(t *testing.T) {
	s, op, reg := newTestSpeaker(t)
	if err := s.Set(map[string][]netip.Addr{"eth0": {vip4}}); err != nil {
		t.Fatal(err)
	}
	f := op.framesOf("eth0")
	// Three announcements, each a gratuitous request and a gratuitous reply, broadcast.
	waitFor(t, "6 gratuitous frames", func() bool { return len(f.written()) == 6 })
	for i, w := range arpWritten(t, f) {
		if w.dst.String() != "ff:ff:ff:ff:ff:ff" || w.p.SenderIP != vip4 || w.p.TargetIP != vip4 || w.p.SenderHardwareAddr.String() != ourMAC.String() {
			t.Errorf("frame %d is not a gratuitous ARP for %s from %s: %+v", i, vip4, ourMAC, w)
		}
	}

	f.in <- arpRequestFrame(t, other4) // not ours: no answer
	f.in <- arpRequestFrame(t, vip4)
	waitFor(t, "a reply", func() bool { return len(f.written()) == 7 })
	reply := arpWritten(t, f)[6]
	if reply.op != arp.OperationReply || reply.dst.String() != clientMAC.String() || reply.p.SenderIP != vip4 ||
		reply.p.SenderHardwareAddr.String() != ourMAC.String() || reply.p.TargetIP != clientIP {
		t.Errorf("reply = %+v, want %s is-at %s to %s", reply, vip4, ourMAC, clientMAC)
	}
	if got := counter(t, reg, "herald_layer2_requests_received_total", "address", vip4.String()); got != 1 {
		t.Errorf("requests counter = %v, want 1", got)
	}
	if got := counter(t, reg, "herald_layer2_gratuitous_sent_total", "address", vip4.String()); got != 6 {
		t.Errorf("gratuitous counter = %v, want 6", got)
	}

	// Ownership lost: the very next request goes unanswered, and the address's series go.
	if err := s.Set(map[string][]netip.Addr{"eth0": {other4}}); err != nil {
		t.Fatal(err)
	}
	before := len(f.written())
	f.in <- arpRequestFrame(t, vip4)
	f.in <- arpRequestFrame(t, other4) // answered: proves the vip4 request was processed first
	waitFor(t, "the reply for the new address", func() bool {
		for _, w := range arpWritten(t, f)[before:] {
			if w.op == arp.OperationReply && w.dst.String() == clientMAC.String() {
				return true
			}
		}
		return false
	})
	for _, w := range arpWritten(t, f)[before:] {
		if w.p.SenderIP == vip4 {
			t.Errorf("answered for %s after losing it: %+v", vip4, w)
		}
	}
	if got := counter(t, reg, "herald_layer2_requests_received_total", "address", vip4.String()); got != 0 {
		t.Errorf("series of a released address still present: %v", got)
	}
}

func TestMalformedFramesAreCountedAndDropped(t *testing.T) {
	s, op, reg := newTestSpeaker(t)
	if err := s.Set(map[string][]netip.Addr{"eth0": {vip4}, "eth1": {vip6}}); err != nil {
		t.Fatal(err)
	}
	f, n := op.framesOf("eth0"), op.ndpOf("eth1")
	waitFor(t, "announcements", func() bool { return len(f.written()) == 6 && len(n.written()) == 3 })

	good := arpRequestFrame(t, vip4)
	truncated := good[:20]
	badARP := append([]byte(nil), good...)
	badARP[14+4] = 16 // hardware address length that does not fit the frame
	for _, b := range [][]byte{{}, {1, 2, 3}, truncated, badARP} {
		f.in <- b
	}
	f.in <- good
	waitFor(t, "a reply after garbage", func() bool { return len(f.written()) == 7 })

	n.in <- received{b: []byte{135, 0}, src: client6}                 // truncated solicitation
	n.in <- received{b: []byte{0xff, 0xff, 0xff, 0xff}, src: client6} // unknown type
	ns, _ := ndp.MarshalMessage(&ndp.NeighborSolicitation{TargetAddress: vip6})
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 64}, src: client6} // crossed a router
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 255}, src: client6}
	waitFor(t, "an advertisement after garbage", func() bool { return len(n.written()) == 4 })

	if got := counter(t, reg, "herald_layer2_malformed_received_total", "interface", "eth0", "protocol", "arp"); got != 4 {
		t.Errorf("ARP malformed = %v, want 4", got)
	}
	if got := counter(t, reg, "herald_layer2_malformed_received_total", "interface", "eth1", "protocol", "ndp"); got != 3 {
		t.Errorf("NDP malformed = %v, want 3", got)
	}
}

func TestNDPJoinsGroupsAnswersAndAnnounces(t *testing.T) {
	s, op, _ := newTestSpeaker(t)
	if err := s.Set(map[string][]netip.Addr{"eth1": {vip6}}); err != nil {
		t.Fatal(err)
	}
	n := op.ndpOf("eth1")
	group, _ := ndp.SolicitedNodeMulticast(vip6)
	if !n.joined()[group] {
		t.Fatalf("solicited-node group %s not joined: %v", group, n.joined())
	}
	waitFor(t, "3 unsolicited advertisements", func() bool { return len(n.written()) == 3 })
	for _, w := range n.written() {
		na, ok := w.msg.(*ndp.NeighborAdvertisement)
		if !ok || w.dst != allNodes || !na.Override || na.Solicited || na.TargetAddress != vip6 {
			t.Errorf("announcement = %+v to %s, want unsolicited NA with override to ff02::1", w.msg, w.dst)
		}
	}
	ns, _ := ndp.MarshalMessage(&ndp.NeighborSolicitation{TargetAddress: vip6})
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 255}, src: client6}
	waitFor(t, "an answer", func() bool { return len(n.written()) == 4 })
	w := n.written()[3]
	na := w.msg.(*ndp.NeighborAdvertisement)
	lla, _ := na.Options[0].(*ndp.LinkLayerAddress)
	if w.dst != client6 || w.src != vip6 || !na.Solicited || !na.Override || lla == nil || lla.Addr.String() != "02:00:00:00:00:03" {
		t.Errorf("answer = %+v from %s to %s, want a solicited NA from the target", na, w.src, w.dst)
	}
	// Duplicate address detection (unspecified source) is answered to all nodes.
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 255}, src: netip.IPv6Unspecified()}
	waitFor(t, "a DAD answer", func() bool { return len(n.written()) == 5 })
	if w := n.written()[4]; w.dst != allNodes || w.msg.(*ndp.NeighborAdvertisement).Solicited {
		t.Errorf("DAD answer = %+v to %s", w.msg, w.dst)
	}

	if err := s.Set(nil); err != nil {
		t.Fatal(err)
	}
	if len(n.joined()) != 0 {
		t.Errorf("groups still joined after release: %v", n.joined())
	}
	select {
	case <-n.closed:
	default:
		t.Error("NDP socket of an interface with nothing to announce left open")
	}
}

func TestSetReportsABadInterfaceAndServesTheOthers(t *testing.T) {
	s, _, _ := newTestSpeaker(t)
	err := s.Set(map[string][]netip.Addr{"eth0": {vip4}, "nope0": {other4}})
	if err == nil || !strings.Contains(err.Error(), "interface nope0") {
		t.Fatalf("err = %v, want one naming nope0", err)
	}
	if got := fmt.Sprint(s.Owned()); got != "map[eth0:[192.0.2.10]]" {
		t.Errorf("owned = %s", got)
	}
}

func TestSetBeforeStartAndAfterClose(t *testing.T) {
	s := New(Config{open: newFakeOpener(nil)})
	if err := s.Set(nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Set before Start = %v", err)
	}
	s.Start(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.Set(nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Set after Close = %v", err)
	}
}

func garpFrame(t *testing.T, mac net.HardwareAddr, addr netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(arp.OperationRequest, mac, addr, ethernet.Broadcast, addr)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := p.MarshalBinary()
	fb, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return fb
}

func TestYieldStopsGratuitousAnnouncementsInProgress(t *testing.T) {
	reg := prometheus.NewRegistry()
	op := newFakeOpener(map[string]net.HardwareAddr{"eth0": ourMAC})
	// One announcement now, the next ones an hour apart: only Yield can end them early.
	s := New(Config{Registerer: reg, Announcements: 3, AnnounceInterval: time.Hour, open: op})
	s.Start(context.Background())
	defer func() { _ = s.Close() }()
	if err := s.Set(map[string][]netip.Addr{"eth0": {vip4}}); err != nil {
		t.Fatal(err)
	}
	f := op.framesOf("eth0")
	waitFor(t, "the first announcement", func() bool { return len(f.written()) == 2 })
	s.Yield()
	s.mu.Lock()
	left := len(s.ifaces["eth0"].announcing)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d announcements still scheduled after Yield", left)
	}
	if got := len(f.written()); got != 2 {
		t.Errorf("%d frames written, want only the first announcement", got)
	}
}

func TestYieldingSpeakerStopsAnsweringOnceAnotherNodeAnnounces(t *testing.T) {
	s, op, _ := newTestSpeaker(t)
	if err := s.Set(map[string][]netip.Addr{"eth0": {vip4, other4}, "eth1": {vip6}}); err != nil {
		t.Fatal(err)
	}
	f, n := op.framesOf("eth0"), op.ndpOf("eth1")
	waitFor(t, "announcements", func() bool { return len(f.written()) == 12 && len(n.written()) == 3 })

	// Before the hand-over, another node's announcement changes nothing.
	f.in <- garpFrame(t, clientMAC, vip4)
	f.in <- arpRequestFrame(t, vip4)
	waitFor(t, "an answer", func() bool { return len(f.written()) == 13 })

	s.Yield()
	f.in <- garpFrame(t, clientMAC, vip4)
	f.in <- arpRequestFrame(t, vip4)   // given up: no answer
	f.in <- arpRequestFrame(t, other4) // not announced by anyone else: still answered
	waitFor(t, "the answer for the address not taken over", func() bool { return len(f.written()) == 14 })
	if got := arpWritten(t, f)[13]; got.p.SenderIP != other4 {
		t.Errorf("answered for %s after another node announced it", got.p.SenderIP)
	}

	na, _ := ndp.MarshalMessage(&ndp.NeighborAdvertisement{Override: true, TargetAddress: vip6,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: clientMAC}}})
	n.in <- received{b: na, src: client6}
	ns, _ := ndp.MarshalMessage(&ndp.NeighborSolicitation{TargetAddress: vip6})
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 255}, src: client6}
	waitFor(t, "the NDP responder to give the address up", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.ifaces["eth1"].owned.has(vip6)
	})
	// The solicitation was read after the advertisement: once the address is given up, wait
	// for the responder to have read it too by sending one more for an address never owned.
	n.in <- received{b: ns, cm: &ipv6.ControlMessage{HopLimit: 255}, src: client6}
	if got := len(n.written()); got != 3 {
		t.Errorf("NDP wrote %d messages, want only the 3 announcements: the solicitation after the take-over must go unanswered", got)
	}
}
