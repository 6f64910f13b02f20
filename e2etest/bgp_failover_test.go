package e2etest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2etest/lab"
)

// bgpFigures are the BGP times measured by the tests, by name, written to docs/bgp-failover.md
// with HERALD_WRITE_FIGURES=1.
var bgpFigures = map[string][]time.Duration{}

func recordFigure(name string, ds ...time.Duration) {
	figuresMu.Lock()
	defer figuresMu.Unlock()
	bgpFigures[name] = append(bgpFigures[name], ds...)
}

// editRouterPeers changes every BGPPeer of the router and puts them back when the test ends;
// it waits until the sessions are up again with every node's routes for addrs.
func editRouterPeers(t *testing.T, addrs []netip.Addr, edit func(*heraldv1beta1.BGPPeerSpec)) {
	t.Helper()
	c, err := theLab.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apply := func(edit func(*heraldv1beta1.BGPPeerSpec)) {
		t.Helper()
		for _, want := range theLab.RouterPeers() {
			var p heraldv1beta1.BGPPeer
			if err := c.Get(ctx, client.ObjectKeyFromObject(want), &p); err != nil {
				t.Fatal(err)
			}
			patch := client.MergeFrom(p.DeepCopy())
			p.Spec = want.Spec
			edit(&p.Spec)
			if err := c.Patch(ctx, &p, patch); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range addrs {
			waitNextHops(t, a, nodeAddrs(t, a), 60*time.Second)
		}
	}
	apply(edit)
	t.Cleanup(func() { apply(func(*heraldv1beta1.BGPPeerSpec) {}) })
}

// waitWithout waits until the router's next hops for every address lack node's and returns
// how long that took from start.
func waitWithout(t *testing.T, addrs []netip.Addr, node string, start time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	eventually(t, timeout, 5*time.Millisecond, "the router to drop "+node, func() bool {
		for _, a := range addrs {
			got, err := theLab.RouterNextHops(hostPrefix(a))
			if err != nil || slices.Contains(got, nodeAddrs(t, a, node)[0]) || len(got) != len(theLab.Nodes)-1 {
				return false
			}
		}
		return true
	})
	return time.Since(start)
}

// The speaker of a node is killed: without graceful restart the router drops that node's next
// hops (the kernel closes the speaker's connections, so the router learns at once, whatever the
// hold time); then the node's link is cut without a word, and only the hold time tells the
// router. HERALD_FAILOVER_RUNS sets the runs.
func TestBGPFailoverRouterDropsADeadNode(t *testing.T) {
	l := requireLab(t)
	_, addrs := bgpServiceEverywhere(t, "bgp-failover")
	runs := failoverRuns(t)
	const victim = "node2"
	kill := func(figure string) {
		t.Helper()
		for i := range runs {
			start := time.Now()
			wait, err := l.Signal("speaker-"+victim, syscall.SIGKILL)
			if err != nil {
				t.Fatal(err)
			}
			d := waitWithout(t, addrs, victim, start, 30*time.Second)
			if err := wait(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s run %d/%d: the router dropped %s %s after SIGKILL", figure, i+1, runs, victim, d.Round(time.Millisecond))
			recordFigure(figure, d)
			if err := l.Restart("speaker-" + victim); err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				waitNextHops(t, a, nodeAddrs(t, a), 60*time.Second)
			}
		}
	}
	kill("bgp-kill-default")

	editRouterPeers(t, addrs, func(s *heraldv1beta1.BGPPeerSpec) {
		s.HoldTime = &metav1.Duration{Duration: 3 * time.Second}
		s.KeepaliveTime = &metav1.Duration{Duration: time.Second}
	})
	kill("bgp-kill-hold3s")

	// The node disappears without closing anything: its port on the segment goes down.
	port := fmt.Sprintf("%s-n2", lab.Prefix)
	for i := range runs {
		start := time.Now()
		if _, err := lab.Output("", "ip", "link", "set", port, "down"); err != nil {
			t.Fatal(err)
		}
		up := func() { _, _ = lab.Output("", "ip", "link", "set", port, "up") }
		d := waitWithout(t, addrs, victim, start, 30*time.Second)
		up()
		t.Logf("link cut run %d/%d: the router dropped %s %s after its link went down (hold time 3s)", i+1, runs, victim, d.Round(time.Millisecond))
		recordFigure("bgp-silent-hold3s", d)
		for _, a := range addrs {
			waitNextHops(t, a, nodeAddrs(t, a), 60*time.Second)
		}
	}
}

// With graceful restart, the router keeps a killed speaker's routes (marked stale) while it
// restarts, traffic keeps reaching the node, and the restarted speaker takes them over.
func TestBGPGracefulRestartKeepsRoutesThroughASpeakerRestart(t *testing.T) {
	l := requireLab(t)
	svc := createBGPService(t, lab.ServiceSpec{Namespace: "e2e", Name: "bgp-gr", Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	addrs := lab.IngressAddrs(svc)
	editRouterPeers(t, addrs, func(s *heraldv1beta1.BGPPeerSpec) {
		s.GracefulRestart = &heraldv1beta1.GracefulRestart{RestartTime: &metav1.Duration{Duration: 60 * time.Second}}
	})
	const victim = "node2"
	wait, err := l.Signal("speaker-"+victim, syscall.SIGKILL)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Restart("speaker-" + victim) })
	// The router saw the session go; it keeps the routes. Watch for a while: they must stay.
	eventually(t, 20*time.Second, 50*time.Millisecond, "the router to notice the session is gone", func() bool {
		states, err := l.RouterSessions()
		return err == nil && states[nodeAddrs(t, addrs[0], victim)[0]] != "Established"
	})
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, a := range addrs {
			if got, err := l.RouterNextHops(hostPrefix(a)); err != nil || !slices.Equal(got, nodeAddrs(t, a)) {
				t.Fatalf("while %s's speaker restarts the router's next hops for %s are %v (%v), want all of %v", victim, a, got, err, nodeAddrs(t, a))
			}
		}
	}
	for _, a := range addrs {
		if count := spread(l.RoutedClientNS, a, 30); count[""] > 0 || count[victim] == 0 {
			t.Errorf("connections to %s while %s's speaker is down: %v, want some on %s and no failure", a, victim, count, victim)
		}
	}
	if err := l.Restart("speaker-" + victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, 100*time.Millisecond, "the restarted speaker's sessions Established", func() bool {
		states, err := l.RouterSessions()
		if err != nil {
			return false
		}
		for _, a := range addrs {
			if states[nodeAddrs(t, a, victim)[0]] != "Established" {
				return false
			}
		}
		return true
	})
	for _, a := range addrs {
		waitNextHops(t, a, nodeAddrs(t, a), 30*time.Second)
		eventually(t, 30*time.Second, 100*time.Millisecond, "no stale path for "+a.String(), func() bool {
			out, err := l.Vtysh(fmt.Sprintf("show bgp %s json", hostPrefix(a)))
			return err == nil && !containsStale(out)
		})
	}
}

// containsStale says whether FRR's JSON of a prefix marks a path stale (graceful restart).
func containsStale(vtyshJSON []byte) bool {
	s := strings.ReplaceAll(string(vtyshJSON), " ", "")
	return strings.Contains(s, `"stale":true`)
}

// writeBGPFigures writes docs/bgp-failover.md from bgpFigures.
func writeBGPFigures() error {
	var b strings.Builder
	b.WriteString(`# BGP in the lab: how fast routes follow

Written by ` + "`make e2e-figures`" + ` (the BGP figure tests of e2etest/ with HERALD_FAILOVER_RUNS
runs and HERALD_WRITE_FIGURES=1); do not edit by hand.

Three node namespaces run the real herald-speaker, each with one session per family to an FRR
router (bgpd and zebra) in a namespace of its own, which installs a dual-stack Service's /32 and
/128 with one ECMP next hop per node. Times run from the event to the moment FRR's FIB (` + "`show ip route json`" + `,
polled every 5-10ms) shows the change for both families:

- **SIGKILL, default timers**: a node's speaker is killed (hold time 90s, no graceful restart).
  The kernel closes the speaker's TCP connections, so the router learns at once: the hold time
  does not matter here.
- **SIGKILL, hold time 3s**: the same with the shortest hold time BGP allows (keepalive 1s).
- **silent loss, hold time 3s**: the node's port on the segment goes down, nothing is closed, and
  only the hold timer tells the router. With default timers this is the hold time, 90s.
- **ETP Local endpoint change**: an ` + "`externalTrafficPolicy: Local`" + ` Service's EndpointSlices are
  updated (moved, grown, emptied); the router's next hops are those of the endpoint nodes.
- **router restart**: FRR is killed and started again (routes flushed); every node's route is
  back (FRR's connect retry is 2s, the speakers' 5s).

`)
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), hostDesc())
	b.WriteString("| event | samples | p50 | max |\n| --- | --- | --- | --- |\n")
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	for _, row := range []struct{ key, name string }{
		{"bgp-kill-default", "SIGKILL, default timers"},
		{"bgp-kill-hold3s", "SIGKILL, hold time 3s"},
		{"bgp-silent-hold3s", "silent loss, hold time 3s"},
		{"etp-local-follow", "ETP Local endpoint change"},
		{"router-restart", "router restart"},
	} {
		ds := bgpFigures[row.key]
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", row.name, len(ds), ms(percentile(ds, 0.5)), ms(slices.Max(ds)))
	}
	path := filepath.Join(theLab.Root, "docs", "bgp-failover.md")
	fmt.Printf("e2etest: wrote %s\n", path)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
