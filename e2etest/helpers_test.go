package e2etest

import (
	"bytes"
	"context"
	"net/netip"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/heraldlb/herald/e2etest/lab"
)

// requireLab skips when the lab cannot run here, and dumps the lab's state when the test fails.
func requireLab(t *testing.T) *lab.Lab {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			theLab.Dump(ctx, &b)
			t.Log("\n" + b.String())
		}
	})
	return theLab
}

// createService makes a LoadBalancer Service with an endpoint on every node, deleted when the
// test ends.
func createService(t *testing.T, name string, fams ...corev1.IPFamily) *corev1.Service {
	t.Helper()
	return createServiceFrom(t, lab.ServiceSpec{Namespace: "e2e", Name: name, Families: fams})
}

// createServiceFrom makes a LoadBalancer Service as spec says, deleted when the test ends.
func createServiceFrom(t *testing.T, spec lab.ServiceSpec) *corev1.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc, err := theLab.CreateService(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := theLab.DeleteService(ctx, svc); err != nil {
			t.Errorf("delete Service %s: %v", svc.Name, err)
		}
	})
	return svc
}

// eventually polls cond every interval until it holds or timeout passes.
func eventually(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

// owner waits until exactly one node's ServiceL2Status announces addr, and returns that node.
func owner(t *testing.T, svc *corev1.Service, addr netip.Addr) lab.Node {
	t.Helper()
	var nodes []string
	eventually(t, 30*time.Second, 50*time.Millisecond, "one ServiceL2Status announcing "+addr.String(), func() bool {
		var err error
		nodes, err = theLab.Announcers(context.Background(), svc, addr)
		return err == nil && len(nodes) == 1
	})
	n, ok := theLab.Node(nodes[0])
	if !ok {
		t.Fatalf("ServiceL2Status names node %q, which the lab does not have", nodes[0])
	}
	return n
}

func clientExec(args ...string) (string, error) {
	return lab.Output(theLab.ClientNS, args...)
}

var macRE = regexp.MustCompile(`(?i)([0-9a-f]{2}(:[0-9a-f]{2}){5})`)

// arpingMAC asks for addr once with arping from the client; "" when nobody answered.
func arpingMAC(addr netip.Addr) string { return arpingOnce(addr, 2) }

// arpingOnce sends one ARP request for addr from the client and waits up to wait seconds.
func arpingOnce(addr netip.Addr, wait int) string {
	out, err := clientExec("arping", "-c", "1", "-w", strconv.Itoa(wait), "-I", lab.NodeIf, addr.String())
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(out, "reply from")
	if !ok {
		return ""
	}
	return strings.ToLower(macRE.FindString(after))
}

// ndiscMAC asks for addr once with ndisc6 from the client; "" when nobody answered.
func ndiscMAC(addr netip.Addr) string {
	out, err := clientExec("ndisc6", "-1", "-r", "2", "-w", "1000", addr.String(), lab.NodeIf)
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(strings.ToLower(out), "target link-layer address:")
	if !ok {
		return ""
	}
	return macRE.FindString(after)
}

// curl fetches http://addr/ from the client and returns the body (a node name) or "".
func curl(addr netip.Addr, timeout time.Duration) string {
	out, err := clientExec("curl", "-sS", "-g", "--max-time", strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64), "http://"+netip.AddrPortFrom(addr, 80).String()+"/")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// neighMAC returns the MAC of the client's neighbour entry for addr, "" without one.
func neighMAC(addr netip.Addr) string {
	out, err := exec.Command("ip", "netns", "exec", theLab.ClientNS, "ip", "neigh", "show", addr.String(), "dev", lab.NodeIf).Output()
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(string(out), "lladdr")
	if !ok {
		return ""
	}
	return strings.ToLower(macRE.FindString(after))
}

// interfaceMAC reads the MAC of the node's segment interface from inside its namespace.
func interfaceMAC(t *testing.T, n lab.Node) string {
	t.Helper()
	out, err := lab.Output(n.Namespace, "cat", "/sys/class/net/"+lab.NodeIf+"/address")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(strings.TrimSpace(out))
}

func numCPU() int { return runtime.NumCPU() }
