package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// scenarioEnv is what every controller scenario needs.
type scenarioEnv struct {
	cl *cluster
	// controllerBin is the herald-controller binary.
	controllerBin string
	// logDir receives the controller logs.
	logDir string
}

// prepare creates the install namespace with the pool, and the Services' namespace.
func (e scenarioEnv) prepare(ctx context.Context, r run, scenario string) error {
	if err := e.cl.createNamespace(ctx, r.installNamespace(scenario)); err != nil {
		return err
	}
	if err := e.cl.createPool(ctx, r.installNamespace(scenario), poolName, poolBlock.String()); err != nil {
		return err
	}
	return e.cl.createNamespace(ctx, r.name(scenario))
}

func (e scenarioEnv) startController(r run, scenario string, nth int) (*controllerProc, error) {
	log := filepath.Join(e.logDir, fmt.Sprintf("%s-%d.log", r.name(scenario), nth))
	return startController(e.controllerBin, e.cl.kubeconfig, r.installNamespace(scenario), r.class(scenario), log)
}

// liveResult is one run of live creation: Services created while the controller runs.
type liveResult struct {
	// latencies are, per Service, from the return of its create call to the watch event that
	// showed its address.
	latencies []time.Duration
	// total is from the first create call to the last address.
	total time.Duration
	// cpu is the controller's CPU time over total; rss its peak RSS in bytes at the end.
	cpu time.Duration
	rss int64
	// counters are the controller's reconciles and API requests from the first create call
	// until it is idle.
	counters controllerCounters
	problems []string
}

// runLive starts the controller, waits until it has served a warm-up Service, then creates n
// Services with concurrency creators and waits until all have addresses.
func runLive(ctx context.Context, e scenarioEnv, r run) (_ liveResult, err error) {
	const scenario = "live"
	if err := e.prepare(ctx, r, scenario); err != nil {
		return liveResult{}, err
	}
	ns := r.name(scenario)
	defer deleteAfter(ctx, e.cl, ns, r, &err)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w, err := startAddressWatch(wctx, e.cl.kube, ns)
	if err != nil {
		return liveResult{}, err
	}
	p, err := e.startController(r, scenario, 1)
	if err != nil {
		return liveResult{}, err
	}
	defer p.kill()

	// Leader election, cache sync and the first reconcile are the backlog scenario's business:
	// here the controller is measured at work.
	if _, err := e.cl.createServices(ctx, ns, r.class(scenario), []string{"warmup"}, 1); err != nil {
		return liveResult{}, err
	}
	if _, err := w.waitAddressed(ctx, []string{"warmup"}, r.timeout()); err != nil {
		return liveResult{}, fmt.Errorf("%w\ncontroller logs:\n%s", err, p.logTail(20))
	}
	cpu0, err := p.cpu()
	if err != nil {
		return liveResult{}, err
	}
	c0, err := p.counters(ctx)
	if err != nil {
		return liveResult{}, err
	}

	names := serviceNames(r.n)
	start := time.Now()
	created, err := e.cl.createServices(ctx, ns, r.class(scenario), names, concurrency)
	if err != nil {
		return liveResult{}, err
	}
	last, err := w.waitAddressed(ctx, names, r.timeout())
	if err != nil {
		return liveResult{}, fmt.Errorf("%w\ncontroller logs:\n%s", err, p.logTail(20))
	}
	res := liveResult{total: last.Sub(start)}
	cpu1, err := p.cpu()
	if err != nil {
		return res, err
	}
	res.cpu = cpu1 - cpu0
	if res.rss, err = p.peakRSS(); err != nil {
		return res, err
	}
	seen := w.firstSeen()
	for _, name := range names {
		// The address can arrive before the create call returns; that is no latency at all.
		res.latencies = append(res.latencies, max(0, seen[name].Sub(created[name])))
	}
	// The annotation is written after the address: count and check once the controller is idle.
	c1, err := p.waitIdle(ctx, 0, r.timeout())
	if err != nil {
		return res, err
	}
	res.counters = c1.sub(c0)
	if _, res.problems, err = checkAssignments(ctx, e.cl.kube, ns, poolName, poolBlock, r.n+1); err != nil {
		return res, err
	}
	if n := w.changed(); n > 0 {
		res.problems = append(res.problems, fmt.Sprintf("%d Services changed address after getting one", n))
	}
	if err := p.stop(30 * time.Second); err != nil {
		res.problems = append(res.problems, err.Error())
	}
	return res, nil
}
