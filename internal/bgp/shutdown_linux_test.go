package bgp

import (
	"net"
	"net/netip"
	"testing"
)

func TestParseProcAddrReadsTheKernelsNotation(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:00B3":                         "127.0.0.1:179",
		"010200C0:0050":                         "192.0.2.1:80",
		"B80D0120000000000000000054020000:00B3": "[2001:db8::254]:179",
		"0000000000000000FFFF00000100007F:1F90": "127.0.0.1:8080", // IPv4-mapped, unmapped
	} {
		got, err := parseProcAddr(in)
		if err != nil || got != netip.MustParseAddrPort(want) {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestShutdownSessionEndsTheConnectionWithoutClosingTheDescriptor(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	if err := shutdownSession(netip.MustParseAddrPort(l.Addr().String())); err != nil {
		t.Fatal(err)
	}
	// The other end reads EOF: a FIN, not a message.
	if n, err := srv.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("peer read %d bytes, %v; want EOF", n, err)
	}
	// Our writes fail: the socket is shut down, though its descriptor is still open.
	if _, err := c.Write([]byte("x")); err == nil {
		t.Errorf("write after shutdown succeeded")
	}
}
