package layer2

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
)

// arpResponder answers ARP requests for owned IPv4 addresses on one interface. Its I/O seam is a
// net.PacketConn carrying whole Ethernet frames (an AF_PACKET socket in production).
type arpResponder struct {
	ifname string
	mac    net.HardwareAddr
	conn   net.PacketConn
	owned  *ownedSet
	m      *metrics
	// yielding, while set, gives an address up when another node announces it.
	yielding *atomic.Bool
	log      *slog.Logger
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// serve reads frames until the connection is closed.
func (r *arpResponder) serve() {
	buf := make([]byte, 1500)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		r.handle(buf[:n])
	}
}

// handle answers one frame if it is an ARP request for an owned address.
func (r *arpResponder) handle(frame []byte) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil {
		r.m.malformed.WithLabelValues(r.ifname, "arp").Inc()
		return
	}
	if f.EtherType != ethernet.EtherTypeARP {
		return
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil || !p.SenderIP.Is4() || !p.TargetIP.Is4() {
		r.m.malformed.WithLabelValues(r.ifname, "arp").Inc()
		return
	}
	if p.SenderIP == p.TargetIP {
		// A gratuitous ARP announces, it does not ask: never answered. While handing over,
		// another node's announcement of an owned address means it has taken the address.
		if r.yielding != nil && r.yielding.Load() && !equalMAC(p.SenderHardwareAddr, r.mac) && r.owned.drop(p.SenderIP) {
			r.log.Info("another node announced the address; stopped answering", "address", p.SenderIP.String(), "interface", r.ifname)
		}
		return
	}
	if p.Operation != arp.OperationRequest || !r.owned.has(p.TargetIP) {
		return
	}
	// A request from ourselves (our own gratuitous announcement looped back) needs no answer.
	if equalMAC(p.SenderHardwareAddr, r.mac) {
		return
	}
	r.m.requests.WithLabelValues(p.TargetIP.String(), r.ifname).Inc()
	reply, err := arp.NewPacket(arp.OperationReply, r.mac, p.TargetIP, p.SenderHardwareAddr, p.SenderIP)
	if err != nil {
		r.m.malformed.WithLabelValues(r.ifname, "arp").Inc()
		return
	}
	if err := r.write(reply, f.Source); err == nil {
		r.m.responses.WithLabelValues(p.TargetIP.String(), r.ifname).Inc()
	}
}

// announce sends a gratuitous ARP request and a gratuitous ARP reply for addr, so that hosts
// and switches that honour either update their tables.
func (r *arpResponder) announce(addr netip.Addr) error {
	req, err := arp.NewPacket(arp.OperationRequest, r.mac, addr, ethernet.Broadcast, addr)
	if err != nil {
		return err
	}
	// A gratuitous request carries a zero target hardware address.
	req.TargetHardwareAddr = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	if err := r.write(req, broadcast); err != nil {
		return err
	}
	rep, err := arp.NewPacket(arp.OperationReply, r.mac, addr, ethernet.Broadcast, addr)
	if err != nil {
		return err
	}
	if err := r.write(rep, broadcast); err != nil {
		return err
	}
	r.m.gratuitous.WithLabelValues(addr.String(), r.ifname).Add(2)
	return nil
}

func (r *arpResponder) write(p *arp.Packet, dst net.HardwareAddr) error {
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	f := ethernet.Frame{Destination: dst, Source: r.mac, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = r.conn.WriteTo(fb, &packet.Addr{HardwareAddr: dst})
	return err
}

func equalMAC(a, b net.HardwareAddr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
