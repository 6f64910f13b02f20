package main

import (
	"context"
	"fmt"
	"time"
)

// backlogResult is one run of the backlog: n Services wait without addresses, then the
// controller starts.
type backlogResult struct {
	// wall is from the start of the controller process to the last address.
	wall time.Duration
	// cpu is the controller's CPU time over wall; rss its peak RSS in bytes at the end.
	cpu time.Duration
	rss int64
	// counters are the controller's reconciles and API requests from its start until it is
	// idle.
	counters controllerCounters
	problems []string
}

// restartResult is one run of the restart: the controller stopped with SIGTERM and started
// again while n Services hold addresses, and one Service created at once.
type restartResult struct {
	// stop is from SIGTERM to the exit of the old process.
	stop time.Duration
	// probe is from the return of the new Service's create call to its address; fromStart from
	// the start of the new process to that address.
	probe, fromStart time.Duration
	// moved counts existing Services whose address differs after the restart; rewritten those
	// the restarted controller wrote to at all (a new resourceVersion).
	moved, rewritten int
	problems         []string
}

// runBacklogAndRestart runs the backlog scenario and then, on the Services it addressed, the
// restart scenario.
func runBacklogAndRestart(ctx context.Context, e scenarioEnv, r run) (_ backlogResult, _ restartResult, err error) {
	const scenario = "backlog"
	if err := e.prepare(ctx, r, scenario); err != nil {
		return backlogResult{}, restartResult{}, err
	}
	ns := r.name(scenario)
	defer deleteAfter(ctx, e.cl, ns, r, &err)
	names := serviceNames(r.n)
	if _, err := e.cl.createServices(ctx, ns, r.class(scenario), names, concurrency); err != nil {
		return backlogResult{}, restartResult{}, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w, err := startAddressWatch(wctx, e.cl.kube, ns)
	if err != nil {
		return backlogResult{}, restartResult{}, err
	}

	p, err := e.startController(r, scenario, 1)
	if err != nil {
		return backlogResult{}, restartResult{}, err
	}
	defer p.kill()
	last, err := w.waitAddressed(ctx, names, r.timeout())
	if err != nil {
		return backlogResult{}, restartResult{}, fmt.Errorf("%w\ncontroller logs:\n%s", err, p.logTail(20))
	}
	b := backlogResult{wall: last.Sub(p.started)}
	if b.cpu, err = p.cpu(); err != nil {
		return b, restartResult{}, err
	}
	if b.rss, err = p.peakRSS(); err != nil {
		return b, restartResult{}, err
	}
	// The annotation is written after the address: check once the controller is idle. That is
	// also when the restart starts, so that the restart, not the tail of the backlog, is measured.
	if b.counters, err = p.waitIdle(ctx, r.n, r.timeout()); err != nil {
		return b, restartResult{}, err
	}
	before, problems, err := checkAssignments(ctx, e.cl.kube, ns, poolName, poolBlock, r.n)
	if err != nil {
		return b, restartResult{}, err
	}
	b.problems = problems
	if n := w.changed(); n > 0 {
		b.problems = append(b.problems, fmt.Sprintf("%d Services changed address after getting one", n))
	}
	rs, err := restart(ctx, e, r, scenario, w, p, before)
	return b, rs, err
}

// restart stops old with SIGTERM, starts a new controller, creates one Service as soon as the
// process runs, and measures until it has an address; then it checks that the restarted
// controller moved no existing Service.
func restart(ctx context.Context, e scenarioEnv, r run, scenario string, w *addressWatch, old *controllerProc, before map[string]assignment) (restartResult, error) {
	var res restartResult
	changedBefore := w.changed()
	sent := time.Now()
	if err := old.stop(30 * time.Second); err != nil {
		res.problems = append(res.problems, err.Error())
	}
	res.stop = time.Since(sent)

	p, err := e.startController(r, scenario, 2)
	if err != nil {
		return res, err
	}
	defer p.kill()
	const probe = "restart-probe"
	created, err := e.cl.createServices(ctx, r.name(scenario), r.class(scenario), []string{probe}, 1)
	if err != nil {
		return res, err
	}
	got, err := w.waitAddressed(ctx, []string{probe}, r.timeout())
	if err != nil {
		return res, fmt.Errorf("%w\ncontroller logs:\n%s", err, p.logTail(20))
	}
	res.probe = max(0, got.Sub(created[probe]))
	res.fromStart = got.Sub(p.started)

	// Every Service has been looked at by the new process (the kubernetes Service in default
	// counts too) when it has reconciled n+1 and has nothing queued.
	if _, err := p.waitIdle(ctx, r.n+1, r.timeout()); err != nil {
		return res, err
	}
	after, problems, err := checkAssignments(ctx, e.cl.kube, r.name(scenario), poolName, poolBlock, r.n+1)
	if err != nil {
		return res, err
	}
	res.problems = problems
	for name, a := range before {
		switch b := after[name]; {
		case b.addr != a.addr:
			res.moved++
		case b.resourceVersion != a.resourceVersion:
			res.rewritten++
		}
	}
	if res.moved > 0 {
		res.problems = append(res.problems, fmt.Sprintf("%d existing Services changed address across the restart", res.moved))
	}
	if n := w.changed() - changedBefore; n > 0 && res.moved == 0 {
		res.problems = append(res.problems, fmt.Sprintf("%d existing Services changed address and back during the restart", n))
	}
	if err := p.stop(30 * time.Second); err != nil {
		res.problems = append(res.problems, err.Error())
	}
	return res, nil
}
