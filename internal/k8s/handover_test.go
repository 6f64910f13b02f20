package k8s

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// controllerProcess is a herald-controller binary run by a test.
type controllerProcess struct {
	*testenv.Process
	metricsAddr string
}

func startControllerProcess(t *testing.T, f *fixture, extra ...string) *controllerProcess {
	t.Helper()
	bin := programs.Build(t, "controller")
	metricsAddr := testenv.FreePort(t)
	args := append([]string{
		"--kubeconfig=" + testenv.WriteKubeconfig(t, sharedEnv.Config),
		"--namespace=" + f.install,
		"--load-balancer-class=" + f.class,
		"--metrics-bind-address=" + metricsAddr,
		"--health-probe-bind-address=" + testenv.FreePort(t),
		"--log-format=text",
		"--webhook-port=" + strings.TrimPrefix(testenv.FreePort(t), "127.0.0.1:"),
	}, extra...)
	return &controllerProcess{Process: testenv.StartProcess(t, bin, args...), metricsAddr: metricsAddr}
}

// isLeader reads the leader election gauge from the process's metrics.
func (p *controllerProcess) isLeader() bool {
	resp, err := http.Get("http://" + p.metricsAddr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `leader_election_master_status{name="herald-controller"} 1`)
}

func (f *fixture) allAddresses(names []string) map[string]netip.Addr {
	out := map[string]netip.Addr{}
	for _, n := range names {
		out[n] = f.addresses(n, 1)[0]
	}
	return out
}

func assertUnique(t *testing.T, got map[string]netip.Addr) {
	t.Helper()
	holder := map[netip.Addr]string{}
	for name, a := range got {
		if other, dup := holder[a]; dup {
			t.Errorf("%s and %s both hold %s", name, other, a)
		}
		holder[a] = name
	}
}

func TestLeaderHandOverAfterSIGKILLKeepsAddressesUnique(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/26")
	fast := []string{"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=250ms"}
	procs := []*controllerProcess{startControllerProcess(t, f, fast...), startControllerProcess(t, f, fast...)}

	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("before-%d", i))
		f.service(names[i])
	}
	before := f.allAddresses(names)

	var leader, standby *controllerProcess
	eventually(t, "one leader", func() string {
		l0, l1 := procs[0].isLeader(), procs[1].isLeader()
		switch {
		case l0 && !l1:
			leader, standby = procs[0], procs[1]
		case l1 && !l0:
			leader, standby = procs[1], procs[0]
		default:
			return fmt.Sprintf("leader flags %v %v", l0, l1)
		}
		return ""
	})
	if err := leader.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-leader.Exited()

	var after []string
	for i := range 10 {
		after = append(after, fmt.Sprintf("after-%d", i))
		f.service(after[i])
	}
	got := f.allAddresses(append(names, after...))
	if !standby.isLeader() {
		t.Error("the standby did not become leader")
	}
	for _, n := range names {
		if got[n] != before[n] {
			t.Errorf("%s changed from %s to %s across the hand-over", n, before[n], got[n])
		}
	}
	assertUnique(t, got)
}

func TestSIGTERMWhileBusyStopsPromptlyAndLosesNothing(t *testing.T) {
	f := newFixture(t)
	f.pool("blue", nil, "192.0.2.0/24")
	p := startControllerProcess(t, f, "--leader-elect=false")
	const n = 150
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	f.service(names[0])
	created := make(chan error, 1)
	go func() {
		// Keep creating while the controller is stopped: f.service would call t.Fatal off the
		// test goroutine, so create directly and report.
		for _, name := range names[1:] {
			svc := f.newService(name)
			if err := sharedClient.Create(context.Background(), svc); err != nil {
				created <- err
				return
			}
		}
		created <- nil
	}()
	f.addresses(names[0], 1)
	sent := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
		t.Logf("stopped %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
		if err := p.Err(); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM (the shutdown timeout is 5s)")
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	startControllerProcess(t, f, "--leader-elect=false")
	assertUnique(t, f.allAddresses(names))
}
