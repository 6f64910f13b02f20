package layer2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// sysNDPConn is an ICMPv6 socket on one interface, bound to its link-local address, that may
// also send from addresses the interface does not hold (IPV6_FREEBIND): neighbor
// advertisements for a Service address are sent from that address. mdlayher/ndp provides the
// message encoding; its Conn cannot set that option, so the socket is opened here.
type sysNDPConn struct {
	pc  *ipv6.PacketConn
	c   net.PacketConn
	ifi *net.Interface
	ll  netip.Addr
}

func openNDP(ifi *net.Interface) (*sysNDPConn, error) {
	ll, err := linkLocal(ifi)
	if err != nil {
		return nil, err
	}
	var sockErr error
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		if err := rc.Control(func(fd uintptr) {
			sockErr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return sockErr
	}}
	c, err := lc.ListenPacket(context.Background(), "ip6:ipv6-icmp", ll.WithZone(ifi.Name).String())
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeNeighborSolicitation)
	f.Accept(ipv6.ICMPTypeNeighborAdvertisement) // another node taking an address over
	for _, step := range []error{
		pc.SetHopLimit(ndp.HopLimit),
		pc.SetMulticastHopLimit(ndp.HopLimit),
		pc.SetChecksum(true, 2), // the kernel fills the ICMPv6 checksum at offset 2
		pc.SetICMPFilter(&f),    // only solicitations and advertisements reach the responder
		pc.SetControlMessage(ipv6.FlagHopLimit, true),
	} {
		if step != nil {
			_ = c.Close()
			return nil, step
		}
	}
	return &sysNDPConn{pc: pc, c: c, ifi: ifi, ll: ll}, nil
}

func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, errors.New("no IPv6 link-local address (is IPv6 enabled on the interface?)")
}

func (s *sysNDPConn) ReadRaw(b []byte) (int, *ipv6.ControlMessage, netip.Addr, error) {
	n, cm, src, err := s.pc.ReadFrom(b)
	if err != nil {
		return 0, nil, netip.Addr{}, err
	}
	ipa, ok := src.(*net.IPAddr)
	if !ok {
		return n, cm, netip.Addr{}, nil
	}
	a, _ := netip.AddrFromSlice(ipa.IP)
	return n, cm, a.WithZone(ipa.Zone), nil
}

func (s *sysNDPConn) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return err
	}
	out := ipv6.ControlMessage{HopLimit: ndp.HopLimit, IfIndex: s.ifi.Index, Src: s.ll.AsSlice()}
	if cm != nil && cm.Src != nil {
		out.Src = cm.Src
	}
	_, err = s.pc.WriteTo(b, &out, &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()})
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", m.Type(), dst, err)
	}
	return nil
}

func (s *sysNDPConn) JoinGroup(g netip.Addr) error {
	return s.pc.JoinGroup(s.ifi, &net.IPAddr{IP: g.AsSlice()})
}

func (s *sysNDPConn) LeaveGroup(g netip.Addr) error {
	return s.pc.LeaveGroup(s.ifi, &net.IPAddr{IP: g.AsSlice()})
}

func (s *sysNDPConn) Close() error { return s.c.Close() }
