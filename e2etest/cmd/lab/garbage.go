package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// garbage sends malformed input at the speakers, for the chaos tests: ARP and NDP frames that
// are truncated, inconsistent or random on an interface, random datagrams at memberlist ports,
// and, as a fake BGP router, broken messages to every speaker that connects.
//
//	herald-lab garbage -iface eth0 -targets 203.0.113.160,2001:db8:10::200 -frames 500
//	    -udp 203.0.113.141:7946,... -bgp-listen 203.0.113.190:179 -duration 10s
func garbage(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("garbage", flag.ExitOnError)
	iface := fs.String("iface", "eth0", "interface to send ARP and NDP frames on")
	targets := fs.String("targets", "", "comma-separated addresses the ARP/NDP frames ask about")
	frames := fs.Int("frames", 500, "malformed ARP and NDP frames to send")
	udp := fs.String("udp", "", "comma-separated host:port to send random datagrams to")
	bgpListen := fs.String("bgp-listen", "", "address:port to accept BGP connections at and answer with broken messages")
	duration := fs.Duration("duration", 10*time.Second, "how long to keep the fake BGP router up")
	_ = fs.Parse(args)

	var addrs []netip.Addr
	for _, s := range strings.Split(*targets, ",") {
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		addrs = append(addrs, a)
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	bgpDone := make(chan error, 1)
	if *bgpListen != "" {
		go func() { bgpDone <- fakeBGPRouter(ctx, *bgpListen) }()
	} else {
		bgpDone <- nil
	}
	if *frames > 0 {
		n, err := sendFrames(*iface, addrs, *frames)
		if err != nil {
			return err
		}
		fmt.Printf("sent %d malformed ARP/NDP frames on %s\n", n, *iface)
	}
	if *udp != "" {
		n := 0
		for _, hp := range strings.Split(*udp, ",") {
			c, err := net.Dial("udp", hp)
			if err != nil {
				return err
			}
			for range 200 {
				if _, err := c.Write(random(1 + randN(1400))); err == nil {
					n++
				}
			}
			c.Close()
		}
		fmt.Printf("sent %d random datagrams\n", n)
	}
	<-ctx.Done()
	return <-bgpDone
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randN(n int) int {
	b := random(4)
	return int(binary.BigEndian.Uint32(b) % uint32(n))
}

// sendFrames writes count malformed frames, ARP and NDP alternately, on iface.
func sendFrames(iface string, targets []netip.Addr, count int) (int, error) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return 0, fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	mac := ifc.HardwareAddr
	srcIP, err := ifaceIPv4(ifc)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range count {
		var frame []byte
		var a netip.Addr
		if len(targets) > 0 {
			a = targets[i%len(targets)]
		}
		if a.Is6() || (!a.IsValid() && i%2 == 1) {
			frame = badNDP(mac, a, i)
		} else {
			frame = badARP(mac, srcIP, a, i)
		}
		ll := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
		copy(ll.Addr[:], frame[:6])
		if err := unix.Sendto(fd, frame, 0, ll); err == nil {
			sent++
		}
	}
	return sent, nil
}

func ethernet(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f, dst)
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], etherType)
	return append(f, payload...)
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// arpPacket is an ARP packet: hardware and protocol types and lengths, operation, then the
// sender's MAC and IPv4 address and an empty target MAC with the target's IPv4 address.
func arpPacket(htype, ptype uint16, hlen, plen uint8, op uint16, sha net.HardwareAddr, spa, tpa netip.Addr) []byte {
	p := make([]byte, 8, 28)
	binary.BigEndian.PutUint16(p, htype)
	binary.BigEndian.PutUint16(p[2:], ptype)
	p[4], p[5] = hlen, plen
	binary.BigEndian.PutUint16(p[6:], op)
	s4, t4 := spa.As4(), tpa.As4()
	p = append(p, sha...)
	p = append(p, s4[:]...)
	p = append(p, make([]byte, 6)...)
	return append(p, t4[:]...)
}

// arpRequest is a well-formed Ethernet/IPv4 ARP request.
func arpRequest(sha net.HardwareAddr, spa, tpa netip.Addr) []byte {
	return arpPacket(1, 0x0800, 6, 4, 1, sha, spa, tpa)
}

// ifaceIPv4 returns the first IPv4 address of ifc.
func ifaceIPv4(ifc *net.Interface) (netip.Addr, error) {
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 address", ifc.Name)
}

// badARP returns one of several malformed ARP frames about target, from src at srcIP.
func badARP(src net.HardwareAddr, srcIP, target netip.Addr, i int) []byte {
	if !target.Is4() {
		target = srcIP
	}
	var p []byte
	switch i % 6 {
	case 0: // truncated
		p = arpRequest(src, srcIP, target)[:10]
	case 1: // hardware length that does not fit the packet
		p = arpPacket(1, 0x0800, 9, 4, 1, src, srcIP, target)
	case 2: // unknown operation
		p = arpPacket(1, 0x0800, 6, 4, 7, src, srcIP, target)
	case 3: // not Ethernet/IPv4
		p = arpPacket(6, 0x86dd, 6, 16, 1, src, srcIP, target)
	case 4: // a request from 0.0.0.0 with a multicast sender
		p = arpRequest(net.HardwareAddr{0x01, 0x00, 0x5e, 0, 0, 1}, netip.IPv4Unspecified(), target)
	default:
		p = random(1 + randN(60))
	}
	return ethernet(broadcast, src, 0x0806, p)
}

// badNDP returns one of several malformed neighbour solicitations about target.
func badNDP(src net.HardwareAddr, target netip.Addr, i int) []byte {
	if !target.Is6() {
		target = netip.MustParseAddr("2001:db8:10::200")
	}
	t := target.As16()
	solicited := netip.AddrFrom16([16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: t[13], 14: t[14], 15: t[15]})
	srcIP := netip.MustParseAddr("2001:db8:10::100")
	hop := uint8(255)
	body := make([]byte, 4, 32) // type, code, checksum
	body[0] = 135
	body = append(body, 0, 0, 0, 0)
	body = append(body, t[:]...)
	switch i % 6 {
	case 0: // truncated before the target
		body = body[:12]
	case 1: // an option of length zero, which must be dropped
		body = append(body, 1, 0, 0, 0, 0, 0, 0, 0)
	case 2: // a link-layer option too short for a MAC
		body = append(body, 1, 1, 0xde, 0xad)
	case 3: // hop limit that is not 255
		hop = 64
		body = append(body, 1, 1)
		body = append(body, src...)
	case 4: // multicast target
		mc := netip.MustParseAddr("ff02::1").As16()
		copy(body[8:], mc[:])
	default:
		body = append(body[:8], random(randN(40))...)
	}
	// IPv6 header, then the checksum over the pseudo-header.
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(body)))
	ip[6], ip[7] = 58, hop
	s, d := srcIP.As16(), solicited.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	binary.BigEndian.PutUint16(body[2:], icmp6Checksum(s, d, body))
	dst := net.HardwareAddr{0x33, 0x33, 0xff, t[13], t[14], t[15]}
	return ethernet(dst, src, 0x86dd, append(ip, body...))
}

func icmp6Checksum(src, dst [16]byte, body []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(body)))
	l[7] = 58
	add(l[:])
	add(body)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// fakeBGPRouter accepts BGP connections and answers each with one kind of broken input: random
// bytes, a header with an impossible length, an OPEN of an unknown version, or a valid OPEN and
// KEEPALIVE followed by an UPDATE whose attributes overrun it.
func fakeBGPRouter(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	n := 0
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				fmt.Printf("fake BGP router: %d connections answered with broken messages\n", n)
				return nil
			}
			return err
		}
		n++
		go func(c net.Conn, kind int) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			marker := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			msg := func(typ byte, body []byte) []byte {
				m := append(append([]byte{}, marker...), 0, 0, typ)
				binary.BigEndian.PutUint16(m[16:], uint16(19+len(body)))
				return append(m, body...)
			}
			open := func(version byte) []byte {
				// version, AS 64502, hold time 90, BGP identifier 203.0.113.190, no options
				return msg(1, []byte{version, 0xfb, 0xf6, 0, 90, 203, 0, 113, 190, 0})
			}
			var out []byte
			switch kind % 4 {
			case 0:
				out = random(19 + randN(200))
			case 1:
				out = append(append([]byte{}, marker...), 0xff, 0xff, 2)
			case 2:
				out = open(9)
			default:
				upd := []byte{0, 0, 0, 40, 0x40, 1, 1, 0} // attributes said to be 40 bytes: only 4 follow
				out = append(append(open(4), msg(4, nil)...), msg(2, upd)...)
			}
			_, _ = c.Write(out)
			_, _ = c.Read(make([]byte, 4096))
		}(c, n)
	}
}
