package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// arpWait asks for an IPv4 address every interval until someone answers, and prints the
// answering MAC and the time it took: a finer probe than arping's one-second wait, for the
// reaction-time benchmark.
//
//	herald-lab arp-wait -iface eth0 -addr 203.0.113.170 -interval 10ms -timeout 30s
func arpWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("arp-wait", flag.ExitOnError)
	iface := fs.String("iface", "eth0", "interface to ask on")
	addrFlag := fs.String("addr", "", "IPv4 address to resolve")
	interval := fs.Duration("interval", 10*time.Millisecond, "pause between requests")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	linger := fs.Duration("linger", 0, "after the first answer, keep listening this long and print every MAC that answered")
	_ = fs.Parse(args)
	target, err := netip.ParseAddr(*addrFlag)
	if err != nil || !target.Is4() {
		return fmt.Errorf("-addr %q: want an IPv4 address", *addrFlag)
	}
	ifc, err := net.InterfaceByName(*iface)
	if err != nil {
		return err
	}
	src, err := ifaceIPv4(ifc)
	if err != nil {
		return err
	}
	const ethPARP = 0x0806
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(ethPARP)))
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethPARP), Ifindex: ifc.Index}); err != nil {
		return err
	}
	// A short receive timeout: the loop sends again every interval.
	tv := unix.NsecToTimeval(interval.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	frame := ethernet(broadcast, ifc.HardwareAddr, ethPARP, arpRequest(ifc.HardwareAddr, src, target))
	dst := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
	copy(dst.Addr[:], broadcast)
	start := time.Now()
	buf := make([]byte, 1500)
	for time.Since(start) < *timeout {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := unix.Sendto(fd, frame, 0, dst); err != nil {
			return err
		}
		for deadline := time.Now().Add(*interval); time.Now().Before(deadline); {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				break // timeout: ask again
			}
			// Ethernet header, then ARP: a reply (2) whose sender is the target.
			if n >= 42 && binary.BigEndian.Uint16(buf[20:]) == 2 && netip.AddrFrom4([4]byte(buf[28:32])) == target {
				took := time.Since(start)
				macs := []string{net.HardwareAddr(buf[22:28]).String()}
				if *linger > 0 {
					macs = append(macs, listenARP(fd, buf, target, *linger)...)
				}
				fmt.Printf("%s %s\n", strings.Join(slices.Compact(slices.Sorted(slices.Values(macs))), ","), took)
				return nil
			}
		}
	}
	return fmt.Errorf("no answer for %s within %s", target, *timeout)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// listenARP returns the MACs of the ARP replies for target read from fd for d.
func listenARP(fd int, buf []byte, target netip.Addr, d time.Duration) []string {
	var macs []string
	for end := time.Now().Add(d); time.Now().Before(end); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // the receive timeout: listen on until d has passed
		}
		if n >= 42 && binary.BigEndian.Uint16(buf[20:]) == 2 && netip.AddrFrom4([4]byte(buf[28:32])) == target {
			macs = append(macs, net.HardwareAddr(buf[22:28]).String())
		}
	}
	return macs
}
