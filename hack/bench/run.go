package main

import (
	"fmt"
	"net/netip"
	"time"
)

const (
	// concurrency is the number of concurrent writers of the ceiling and of creators in every
	// scenario; herald-controller's default --workers is the same.
	concurrency = 8
	// poolName is the one IPAddressPool of every run.
	poolName = "bench"
)

// poolBlock is the pool's addresses: IPv6, because the largest N does not fit in the IPv4
// documentation ranges, and out of the test API server's cluster IP ranges.
var poolBlock = netip.MustParsePrefix("2001:db8:1::/112")

// run names one repetition of the scenarios for one N; its objects are named after it.
type run struct {
	n   int
	rep int
}

// name is the namespace of a scenario's Services in this run.
func (r run) name(scenario string) string {
	return fmt.Sprintf("bench-%s-n%d-r%d", scenario, r.n, r.rep)
}

// installNamespace holds the scenario's pool and the controller's Lease.
func (r run) installNamespace(scenario string) string { return "herald-" + r.name(scenario) }

// class is the load balancer class of the scenario's Services and controller.
func (r run) class(scenario string) string { return "herald.io/" + r.name(scenario) }

// timeout bounds every wait of the run: generous, so that only a stuck controller or API
// server reaches it.
func (r run) timeout() time.Duration {
	return 2*time.Minute + time.Duration(r.n)*50*time.Millisecond
}

func serviceNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = serviceName(i)
	}
	return out
}
