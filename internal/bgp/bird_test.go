package bgp

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bird is a BIRD 2 daemon in a namespace with its own config and control socket.
type bird struct {
	ns, sock string
}

func startBIRD(t *testing.T, ns, conf string) *bird {
	t.Helper()
	requirePrivileges(t, "ip", "bird", "birdc")
	dir := daemonDir(t)
	cfile := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(cfile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &bird{ns: ns, sock: filepath.Join(dir, "bird.ctl")}
	// -f: foreground, so the test owns the process and stops it.
	startProcess(t, ns, filepath.Join(dir, "bird.log"), "bird", "-f", "-c", cfile, "-s", b.sock, "-P", filepath.Join(dir, "bird.pid"))
	eventually(t, "BIRD's control socket", 15*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "birdc", "-s", b.sock, "show", "status").Run() == nil
	})
	return b
}

func (b *bird) birdc(t *testing.T, args ...string) string {
	t.Helper()
	return inNS(t, b.ns, append([]string{"birdc", "-s", b.sock}, args...)...)
}

// TestBIRDReceivesBothFamiliesWithCommunities checks the speaker against a second, independent
// implementation: an IPv6 session carrying IPv6 and IPv4 prefixes with standard and large
// communities merged from two Advertisements.
func TestBIRDReceivesBothFamiliesWithCommunities(t *testing.T) {
	requirePrivileges(t, "ip")
	rns, spk := newNS(t, "b"), newNS(t, "s")
	link(t, rns, "eth0", []string{"192.0.2.254/24", "2001:db8::254/64"}, spk, "eth0", []string{"192.0.2.1/24", "2001:db8::1/64"})
	b := startBIRD(t, rns, `
router id 192.0.2.254;
protocol device {}
protocol bgp speaker {
  local 2001:db8::254 as 64513;
  neighbor 2001:db8::1 as 64512;
  passive on;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
`)
	d := Desired{
		RouterID: netip.MustParseAddr("192.0.2.1"),
		Peers: []Peer{{Name: "bird", Address: netip.MustParseAddr("2001:db8::254"), MyASN: 64512, PeerASN: 64513,
			HoldTime: 9 * time.Second, Families: FamilyIPv4 | FamilyIPv6, CrossFamilyNextHop: netip.MustParseAddr("192.0.2.1")}},
		Advertisements: []Advertisement{
			{Prefix: vip6, Peers: []string{"bird"}, Communities: []Community{StandardCommunity(64512, 100)}},
			{Prefix: vip6, Peers: []string{"bird"}, Communities: []Community{LargeCommunity(4200000000, 1, 2)}},
			{Prefix: vip4, Peers: []string{"bird"}, Communities: []Community{StandardCommunity(64512, 200)}},
		},
	}
	h := startHelper(t, spk, d)
	var out string
	eventually(t, "BIRD to hold both prefixes", routerWait, func() bool {
		out = b.birdc(t, "show", "route", "all")
		return strings.Contains(out, vip6.String()) && strings.Contains(out, vip4.String())
	})
	// birdc lists the IPv4 table, then the IPv6 one.
	v4, v6, _ := strings.Cut(out, "Table master6:")
	for _, want := range []string{"via 2001:db8::1", "(64512,100)", "(4200000000, 1, 2)"} {
		if !strings.Contains(v6, want) {
			t.Errorf("BIRD's route to %v lacks %q:\n%s", vip6, want, out)
		}
	}
	for _, want := range []string{"via 192.0.2.1", "(64512,200)"} {
		if !strings.Contains(v4, want) {
			t.Errorf("BIRD's route to %v lacks %q:\n%s", vip4, want, out)
		}
	}
	if ss := h.sessions(t); len(ss) != 1 || ss[0].State != StateEstablished || ss[0].PrefixesSent != 2 {
		t.Errorf("Sessions() = %+v, want one Established session with 2 prefixes sent", ss)
	}

	// Withdraw the IPv6 prefix.
	d.Advertisements = d.Advertisements[2:]
	h.set(t, d)
	eventually(t, "BIRD to drop "+vip6.String(), routerWait, func() bool {
		return !strings.Contains(b.birdc(t, "show", "route", "all"), vip6.String())
	})
}
