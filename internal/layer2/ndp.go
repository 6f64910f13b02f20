package layer2

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// ndpConn is the part of *ndp.Conn the responder uses: its I/O seam.
type ndpConn interface {
	ReadRaw(b []byte) (int, *ipv6.ControlMessage, netip.Addr, error)
	WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error
	JoinGroup(group netip.Addr) error
	LeaveGroup(group netip.Addr) error
	Close() error
}

var allNodes = netip.MustParseAddr("ff02::1")

// ndpResponder answers neighbor solicitations for owned IPv6 addresses on one interface.
type ndpResponder struct {
	ifname string
	mac    net.HardwareAddr
	conn   ndpConn
	owned  *ownedSet
	m      *metrics
	// groups counts the owned addresses behind each solicited-node multicast group joined;
	// guarded by the Speaker's mutex.
	groups map[netip.Addr]int
	// yielding, while set, gives an address up when another node advertises it.
	yielding *atomic.Bool
	log      *slog.Logger
}

func (r *ndpResponder) serve() {
	buf := make([]byte, 1500)
	for {
		n, cm, src, err := r.conn.ReadRaw(buf)
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
		r.handle(buf[:n], cm, src)
	}
}

// handle answers one ICMPv6 message if it is a valid solicitation for an owned address.
func (r *ndpResponder) handle(b []byte, cm *ipv6.ControlMessage, src netip.Addr) {
	msg, err := ndp.ParseMessage(b)
	if err != nil {
		r.m.malformed.WithLabelValues(r.ifname, "ndp").Inc()
		return
	}
	if na, ok := msg.(*ndp.NeighborAdvertisement); ok {
		r.handleAdvertisement(na)
		return
	}
	ns, ok := msg.(*ndp.NeighborSolicitation)
	if !ok {
		return
	}
	// RFC 4861 7.1.1: a solicitation that may have crossed a router is invalid.
	if cm != nil && cm.HopLimit != 0 && cm.HopLimit != ndp.HopLimit {
		r.m.malformed.WithLabelValues(r.ifname, "ndp").Inc()
		return
	}
	if !r.owned.has(ns.TargetAddress) {
		return
	}
	r.m.requests.WithLabelValues(ns.TargetAddress.String(), r.ifname).Inc()
	na := &ndp.NeighborAdvertisement{
		Solicited:     true,
		Override:      true,
		TargetAddress: ns.TargetAddress,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: r.mac}},
	}
	dst := src
	if !dst.IsValid() || dst.IsUnspecified() {
		// Duplicate address detection by someone else: answer to all nodes, unsolicited.
		na.Solicited = false
		dst = allNodes
	}
	// Sent from the target address itself, as the kernel does for its own addresses: some
	// clients (ndisc6) drop advertisements for a global target from a link-local source.
	if err := r.conn.WriteTo(na, &ipv6.ControlMessage{Src: ns.TargetAddress.AsSlice()}, dst); err == nil {
		r.m.responses.WithLabelValues(ns.TargetAddress.String(), r.ifname).Inc()
	}
}

// handleAdvertisement gives an owned address up, while yielding, when another node advertises
// it.
func (r *ndpResponder) handleAdvertisement(na *ndp.NeighborAdvertisement) {
	if r.yielding == nil || !r.yielding.Load() {
		return
	}
	for _, o := range na.Options {
		lla, ok := o.(*ndp.LinkLayerAddress)
		if !ok || lla.Direction != ndp.Target || equalMAC(lla.Addr, r.mac) {
			continue
		}
		if r.owned.drop(na.TargetAddress) {
			r.log.Info("another node advertised the address; stopped answering", "address", na.TargetAddress.String(), "interface", r.ifname)
		}
	}
}

// announce sends an unsolicited neighbor advertisement with the override flag to all nodes.
func (r *ndpResponder) announce(addr netip.Addr) error {
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: addr,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: r.mac}},
	}
	if err := r.conn.WriteTo(na, nil, allNodes); err != nil {
		return err
	}
	r.m.gratuitous.WithLabelValues(addr.String(), r.ifname).Inc()
	return nil
}

// join subscribes to the solicited-node group of addr, where solicitations for it are sent.
func (r *ndpResponder) join(addr netip.Addr) error {
	g, err := ndp.SolicitedNodeMulticast(addr)
	if err != nil {
		return err
	}
	if r.groups[g] == 0 {
		if err := r.conn.JoinGroup(g); err != nil {
			return err
		}
	}
	r.groups[g]++
	return nil
}

func (r *ndpResponder) leave(addr netip.Addr) {
	g, err := ndp.SolicitedNodeMulticast(addr)
	if err != nil || r.groups[g] == 0 {
		return
	}
	r.groups[g]--
	if r.groups[g] == 0 {
		delete(r.groups, g)
		_ = r.conn.LeaveGroup(g)
	}
}
