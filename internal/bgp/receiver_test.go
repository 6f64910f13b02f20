package bgp

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// receiver is a minimal, passive BGP router on loopback, built on GoBGP's message codec only:
// it accepts sessions, answers OPEN and KEEPALIVE, records the UPDATEs it receives and never
// sends routes. (In-process GoBGP servers as receivers would race with the speaker's servers on
// GoBGP's package-level route-selection variables; see the package doc.)
type receiver struct {
	addr netip.Addr
	port uint16
	asn  uint32

	mu      sync.Mutex
	rib     map[netip.Prefix]receivedPath
	conns   []net.Conn
	openASN uint32 // the ASN in the speaker's last OPEN
}

// receivedPath is what a receiver holds for one prefix.
type receivedPath struct {
	NextHop     netip.Addr
	Communities []string // standard and large, sorted
	LocalPref   uint32   // 0: absent
	ASPath      []uint32
}

// newReceiver starts a router listening on a free port of addr.
func newReceiver(t testing.TB, addr netip.Addr, asn, _ uint32, _ netip.Addr) *receiver {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: addr, asn: asn, port: uint16(l.Addr().(*net.TCPAddr).Port), rib: map[netip.Prefix]receivedPath{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.serve(c)
			}()
		}
	}()
	return r
}

func readMessage(c net.Conn) (*bgp.BGPMessage, error) {
	hdr := make([]byte, bgp.BGP_HEADER_LENGTH)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return nil, err
	}
	length := int(binary.BigEndian.Uint16(hdr[16:18]))
	if length < bgp.BGP_HEADER_LENGTH {
		return nil, fmt.Errorf("bad length %d", length)
	}
	buf := make([]byte, length)
	copy(buf, hdr)
	if _, err := io.ReadFull(c, buf[bgp.BGP_HEADER_LENGTH:]); err != nil {
		return nil, err
	}
	return bgp.ParseBGPMessage(buf)
}

func writeMessage(c net.Conn, m *bgp.BGPMessage) error {
	b, err := m.Serialize()
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// serve runs one session until it ends; the routes of a session are dropped when it ends, as
// a router without graceful restart does.
func (r *receiver) serve(c net.Conn) {
	defer func() {
		_ = c.Close()
		r.mu.Lock()
		r.rib = map[netip.Prefix]receivedPath{}
		r.mu.Unlock()
	}()
	m, err := readMessage(c)
	if err != nil {
		return
	}
	if open, ok := m.Body.(*bgp.BGPOpen); ok {
		asn := uint32(open.MyAS)
		for _, p := range open.OptParams {
			if pc, ok := p.(*bgp.OptionParameterCapability); ok {
				for _, c := range pc.Capability {
					if c4, ok := c.(*bgp.CapFourOctetASNumber); ok {
						asn = c4.CapValue
					}
				}
			}
		}
		r.mu.Lock()
		r.openASN = asn
		r.mu.Unlock()
	}
	caps := []bgp.ParameterCapabilityInterface{
		bgp.NewCapMultiProtocol(bgp.RF_IPv4_UC), bgp.NewCapMultiProtocol(bgp.RF_IPv6_UC), bgp.NewCapFourOctetASNumber(r.asn),
	}
	open := bgp.NewBGPOpenMessage(uint16(r.asn), 9, "192.0.2.250", []bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)})
	if writeMessage(c, open) != nil || writeMessage(c, bgp.NewBGPKeepAliveMessage()) != nil {
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if writeMessage(c, bgp.NewBGPKeepAliveMessage()) != nil {
					return
				}
			}
		}
	}()
	for {
		m, err := readMessage(c)
		if err != nil {
			return
		}
		switch body := m.Body.(type) {
		case *bgp.BGPNotification:
			return
		case *bgp.BGPUpdate:
			r.apply(body)
		}
	}
}

func (r *receiver) apply(u *bgp.BGPUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rp receivedPath
	var reach []netip.Prefix
	for _, n := range u.NLRI {
		reach = append(reach, netip.MustParsePrefix(n.String()))
	}
	for _, n := range u.WithdrawnRoutes {
		delete(r.rib, netip.MustParsePrefix(n.String()))
	}
	for _, a := range u.PathAttributes {
		switch v := a.(type) {
		case *bgp.PathAttributeNextHop:
			rp.NextHop, _ = netip.AddrFromSlice(v.Value.To4())
		case *bgp.PathAttributeMpReachNLRI:
			rp.NextHop, _ = netip.AddrFromSlice(v.Nexthop.To16())
			for _, n := range v.Value {
				reach = append(reach, netip.MustParsePrefix(n.String()))
			}
		case *bgp.PathAttributeMpUnreachNLRI:
			for _, n := range v.Value {
				delete(r.rib, netip.MustParsePrefix(n.String()))
			}
		case *bgp.PathAttributeCommunities:
			for _, c := range v.Value {
				rp.Communities = append(rp.Communities, strconv.Itoa(int(c>>16))+":"+strconv.Itoa(int(c&0xffff)))
			}
		case *bgp.PathAttributeLargeCommunities:
			for _, c := range v.Values {
				rp.Communities = append(rp.Communities, LargeCommunity(c.ASN, c.LocalData1, c.LocalData2).String())
			}
		case *bgp.PathAttributeLocalPref:
			rp.LocalPref = v.Value
		case *bgp.PathAttributeAsPath:
			for _, seg := range v.Value {
				rp.ASPath = append(rp.ASPath, seg.GetAS()...)
			}
		}
	}
	sort.Strings(rp.Communities)
	for _, p := range reach {
		r.rib[p] = rp
	}
}

func (r *receiver) speakerASN() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.openASN
}

// paths returns a copy of the received paths by prefix, both families.
func (r *receiver) paths(testing.TB) map[netip.Prefix]receivedPath {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.rib)
}

// peer returns a Peer of the speaker that connects to r from src.
func (r *receiver) peer(name string, myASN uint32, src netip.Addr) Peer {
	return Peer{Name: name, Address: r.addr, Port: r.port, MyASN: myASN, PeerASN: r.asn, SourceAddress: src, HoldTime: 9 * time.Second}
}

// eventually polls cond until it holds, and fails the test if the deadline passes first.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// poll reports whether cond held before timeout, checking every 50ms.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func sessionOf(s *Speaker, name string) (SessionState, bool) {
	i := slices.IndexFunc(s.Sessions(), func(ss SessionState) bool { return ss.Peer == name })
	if i < 0 {
		return SessionState{}, false
	}
	return s.Sessions()[i], true
}

func established(s *Speaker, names ...string) func() bool {
	return func() bool {
		for _, n := range names {
			if ss, ok := sessionOf(s, n); !ok || ss.State != StateEstablished {
				return false
			}
		}
		return true
	}
}
