// Package e2etest runs Herald end to end in the lab (package lab): real kube-apiserver and etcd,
// the real herald-controller and one real herald-speaker per node namespace, a client on the
// nodes' layer 2 segment using arping, ndisc6, curl and its own neighbour table.
//
// The tests need root (network namespaces, raw sockets) and skip without it. TestMain brings a
// three-node dual-stack lab up once and removes it after the last test, passed or failed; a lab
// brought up with `make lab-up` is replaced.
package e2etest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/e2etest/lab"
)

var (
	theLab *lab.Lab
	// skipReason is why the tests cannot run; empty when the lab is up.
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "privileged test: needs root to create network namespaces and raw sockets (run make e2e as root)"
		return m.Run()
	}
	for _, tool := range []string{"ip", "arping", "ndisc6", "curl", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "e2etest: %s not found: `make e2e` installs it (make lab-deps)\n", tool)
			return 1
		}
	}
	root, dir, err := lab.DefaultDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2etest:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logf := func(format string, args ...any) { fmt.Printf("lab: "+format+"\n", args...) }
	start := time.Now()
	// A fresh lab: one left up by `make lab-up` may hold other pools and Services.
	if err := lab.Down(dir, logf); err != nil {
		fmt.Fprintln(os.Stderr, "e2etest: lab down:", err)
		return 1
	}
	theLab, err = lab.Up(ctx, root, dir, lab.Options{Nodes: 3, Family: lab.DualStack}, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2etest: lab up:", err)
		return 1
	}
	// The lab goes whatever happens to the tests, a panic included.
	defer func() {
		if err := lab.Down(dir, logf); err != nil {
			fmt.Fprintln(os.Stderr, "e2etest: lab down:", err)
		}
	}()
	fmt.Printf("lab: up in %s\n", time.Since(start).Round(time.Millisecond))
	if err := theLab.ApplyL2Pool(ctx, "e2e"); err != nil {
		fmt.Fprintln(os.Stderr, "e2etest: pool:", err)
		return 1
	}
	if err := theLab.ApplyBGPPool(ctx, bgpPool); err != nil {
		fmt.Fprintln(os.Stderr, "e2etest: BGP pool:", err)
		return 1
	}
	code := m.Run()
	// The programs run with the chart's RBAC (lab/rbac.go): after every test, none of their
	// requests may have been refused.
	if code == 0 {
		if refused := theLab.RefusedRequests(); len(refused) > 0 {
			fmt.Fprintf(os.Stderr, "e2etest: the API server refused requests of the programs, which run with the chart's RBAC:\n%s\n", strings.Join(refused, "\n"))
			code = 1
		}
	}
	if code == 0 {
		if err := writeFigures(); err != nil {
			fmt.Fprintln(os.Stderr, "e2etest: figures:", err)
			code = 1
		}
	}
	return code
}
