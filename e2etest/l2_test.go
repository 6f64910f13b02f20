package e2etest

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/e2etest/lab"
)

func TestL2IPv4ClientReachesTheServiceThroughTheOwnersMAC(t *testing.T) {
	l := requireLab(t)
	svc := createService(t, "l2-v4", corev1.IPv4Protocol)
	addr := lab.IngressAddrs(svc)[0]
	checkL2(t, l, svc, addr, arpingMAC)

	// Only the owner's speaker answers: every reply carries its MAC, and nobody answers for a
	// pool address no Service has (the nodes' kube-proxy emulation owns no address).
	own := owner(t, svc, addr)
	out, err := clientExec("arping", "-b", "-c", "3", "-w", "3", "-I", lab.NodeIf, addr.String())
	if err != nil {
		t.Fatalf("arping %s: %v", addr, err)
	}
	for _, line := range strings.Split(out, "\n") {
		if _, after, ok := strings.Cut(line, "reply from"); ok && !strings.EqualFold(macRE.FindString(after), own.MAC) {
			t.Errorf("a node other than the owner %s answered ARP for %s: %s", own.MAC, addr, line)
		}
	}
	_, unused, err := cut(l.PoolRanges[0]) // the pool's last address; the tests use the first few
	if err != nil {
		t.Fatal(err)
	}
	if mac := arpingMAC(unused); mac != "" {
		t.Errorf("%s answered ARP for %s, which no Service has", mac, unused)
	}
}

func TestL2IPv6ClientReachesTheServiceThroughTheOwnersMAC(t *testing.T) {
	l := requireLab(t)
	svc := createService(t, "l2-v6", corev1.IPv6Protocol)
	addr := lab.IngressAddrs(svc)[0]
	checkL2(t, l, svc, addr, ndiscMAC)
}

// checkL2 checks that the address is in the lab's pool, that the node its ServiceL2Status
// names answers address resolution with its interface's MAC, and that HTTP reaches that node.
func checkL2(t *testing.T, l *lab.Lab, svc *corev1.Service, addr netip.Addr, resolve func(netip.Addr) string) {
	t.Helper()
	if !addr.IsValid() || !inPool(l, addr) {
		t.Fatalf("Service address %s is not in the lab's pool %v", addr, l.PoolRanges)
	}
	own := owner(t, svc, addr)
	want := interfaceMAC(t, own)
	if want != own.MAC {
		t.Fatalf("%s's interface has MAC %s, the lab says %s", own.Namespace, want, own.MAC)
	}
	var got string
	eventually(t, 15*time.Second, 100*time.Millisecond, "an answer for "+addr.String(), func() bool {
		got = resolve(addr)
		return got != ""
	})
	if got != want {
		n, _ := l.NodeByMAC(got)
		t.Fatalf("address resolution of %s answered by %s (node %q), want %s of %s, the owner in ServiceL2Status", addr, got, n.Name, want, own.Name)
	}
	var body string
	eventually(t, 15*time.Second, 100*time.Millisecond, "curl http://"+addr.String()+"/", func() bool {
		body = curl(addr, 2*time.Second)
		return body != ""
	})
	if body != own.Name {
		t.Fatalf("curl http://%s/ answered by %q, want the owner %s", addr, body, own.Name)
	}
	if neigh := neighMAC(addr); neigh != want {
		t.Fatalf("the client's neighbour entry for %s is %q, want %s", addr, neigh, want)
	}
	t.Logf("%s: owner %s (%s) answered address resolution and HTTP", addr, own.Name, want)
}

func inPool(l *lab.Lab, addr netip.Addr) bool {
	for _, r := range l.PoolRanges {
		first, last, _ := cut(r)
		if addr.Compare(first) >= 0 && addr.Compare(last) <= 0 {
			return true
		}
	}
	return false
}

// cut parses a "first-last" range.
func cut(r string) (first, last netip.Addr, err error) {
	a, b, _ := strings.Cut(r, "-")
	if first, err = netip.ParseAddr(a); err != nil {
		return first, last, err
	}
	last, err = netip.ParseAddr(b)
	return first, last, err
}
