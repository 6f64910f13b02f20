package bgp

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAdvertise10000Prefixes measures one Set of 10,000 prefixes to one peer until the
// loopback receiver holds them all, then one Set withdrawing them until it holds none.
// TestFRRReceives10000Prefixes logs the same against FRR.
func BenchmarkAdvertise10000Prefixes(b *testing.B) {
	const n = 10000
	recv := newReceiver(b, netip.MustParseAddr("127.0.0.8"), 64513, 0, netip.Addr{})
	s := New(Config{ConnectRetry: time.Second})
	s.Start(context.Background())
	b.Cleanup(func() { _ = s.Close() })
	d := Desired{RouterID: routerID, Peers: []Peer{recv.peer("r", 64512, speakerAddr)}}
	if err := s.Set(context.Background(), d); err != nil {
		b.Fatal(err)
	}
	if !poll(convergence, established(s, "r")) {
		b.Fatal("session not Established")
	}
	all := d
	for i := range n {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x20, 14: byte(i >> 8), 15: byte(i)})
		all.Advertisements = append(all.Advertisements, Advertisement{Prefix: netip.PrefixFrom(a, 128), Peers: []string{"r"}})
	}
	all.Peers[0].Families = FamilyIPv4 | FamilyIPv6
	all.Peers[0].CrossFamilyNextHop = netip.MustParseAddr("2001:db8::1")
	d.Peers = all.Peers
	b.ResetTimer()
	for range b.N {
		if err := s.Set(context.Background(), all); err != nil {
			b.Fatal(err)
		}
		if !poll(5*time.Minute, func() bool { return len(recv.paths(b)) == n }) {
			b.Fatal("receiver did not get all prefixes")
		}
		if err := s.Set(context.Background(), d); err != nil {
			b.Fatal(err)
		}
		if !poll(5*time.Minute, func() bool { return len(recv.paths(b)) == 0 }) {
			b.Fatal("receiver did not drop all prefixes")
		}
	}
}
