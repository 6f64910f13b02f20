package e2etest

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/e2etest/lab"
)

// outage is how long the API server stays down.
const outage = 30 * time.Second

// With the API server gone, the speakers keep answering for what they own, keep their BGP
// sessions (whose password they read from a Secret) and routes, and traffic keeps flowing; when
// it returns, nothing has changed.
func TestAPIServerOutageKeepsTrafficFlowing(t *testing.T) {
	l := requireLab(t)
	svc := createService(t, "outage", corev1.IPv4Protocol)
	addr := lab.IngressAddrs(svc)[0]
	checkL2(t, l, svc, addr, arpingMAC)
	own := owner(t, svc, addr)
	_, baddrs := bgpServiceEverywhere(t, "outage-bgp")

	wait, err := l.Signal("kube-apiserver", syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Restart("kube-apiserver"); err != nil {
			t.Errorf("restart kube-apiserver: %v", err)
		}
	})
	if err := wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(outage)
	checks := 0
	for time.Now().Before(end) {
		// Each check may take a few tries on a loaded machine; a speaker that stopped answering
		// would fail all of them.
		eventually(t, 5*time.Second, 100*time.Millisecond, "the owner answering while the API server is down", func() bool {
			return arpingMAC(addr) == own.MAC && curl(addr, 2*time.Second) == own.Name
		})
		// Sessions must not flap: every check sees them all Established and every route.
		states, err := l.RouterSessions()
		if err != nil {
			t.Fatal(err)
		}
		for peer, st := range states {
			if st != "Established" {
				t.Fatalf("during the outage the router's session with %s is %s", peer, st)
			}
		}
		for _, a := range baddrs {
			if got, err := l.RouterNextHops(hostPrefix(a)); err != nil || !slices.Equal(got, nodeAddrs(t, a)) {
				t.Fatalf("during the outage the router's next hops for %s are %v (%v)", a, got, err)
			}
			eventually(t, 5*time.Second, 100*time.Millisecond, "the routed client reaching "+a.String(), func() bool {
				return curlFrom(l.RoutedClientNS, a, 2*time.Second) != ""
			})
		}
		checks++
		time.Sleep(500 * time.Millisecond) // pace the checks over the outage
	}
	t.Logf("%d checks over %s of API server outage: %s kept answering for %s", checks, outage, own.Name, addr)

	if err := l.Restart("kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	var after corev1.Service
	eventually(t, 90*time.Second, 500*time.Millisecond, "the API server back", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.Get(ctx, client.ObjectKeyFromObject(svc), &after) == nil
	})
	if got := lab.IngressAddrs(&after); len(got) != 1 || got[0] != addr {
		t.Errorf("the Service's address changed across the outage: %v, want %s", got, addr)
	}
	if again := owner(t, &after, addr); again.Name != own.Name {
		t.Errorf("the owner changed across the outage: %s, want %s", again.Name, own.Name)
	}
	if mac := arpingMAC(addr); mac != own.MAC {
		t.Errorf("after the outage %s answers for %s, want %s", mac, addr, own.MAC)
	}
}
