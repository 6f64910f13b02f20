package bgp

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// shutdownSession shuts down, in both directions, this process's established TCP connection to
// remote (GoBGP does not report the session's local port, and a Speaker has one session per
// peer address), so the connection ends with a FIN and no BGP NOTIFICATION. GoBGP does not expose its
// sockets, so the socket is found by its inode in /proc/self/net/tcp{,6} and then among this
// process's file descriptors. It works on a duplicate of the descriptor whose inode it checks
// first, so a descriptor closed and reused meanwhile is never shut down by mistake.
func shutdownSession(remote netip.AddrPort) error {
	inode, err := socketInode(remote)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("shut down session to %v: %w", remote, err)
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	for _, e := range entries {
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || link != want {
			continue
		}
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dup, err := unix.Dup(fd)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(dup, &st); err != nil || st.Ino != inode {
			_ = unix.Close(dup)
			continue
		}
		err = unix.Shutdown(dup, unix.SHUT_RDWR)
		_ = unix.Close(dup)
		if err != nil {
			return fmt.Errorf("shut down session to %v: %w", remote, err)
		}
		return nil
	}
	return fmt.Errorf("shut down session to %v: socket inode %d not among this process's descriptors", remote, inode)
}

var errNoSocket = errors.New("socket not found")

// socketInode finds the inode of the established TCP connection to remote in this network
// namespace.
func socketInode(remote netip.AddrPort) (uint64, error) {
	for _, file := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[0] == "sl" {
				continue
			}
			const established = "01"
			r, err := parseProcAddr(fields[2])
			if err != nil || r != remote || fields[3] != established {
				continue
			}
			inode, err := strconv.ParseUint(fields[9], 10, 64)
			if err != nil || inode == 0 {
				continue
			}
			_ = f.Close()
			return inode, nil
		}
		_ = f.Close()
	}
	return 0, fmt.Errorf("shut down session to %v: %w", remote, errNoSocket)
}

// parseProcAddr parses "0100007F:00B3" (IPv4) or a 32-digit IPv6 address and port, as the
// kernel prints them: each 32-bit word of the address in host byte order.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	b, err := hex.DecodeString(hexAddr)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.NativeEndian.Uint32(b[i:]))
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", s)
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}
