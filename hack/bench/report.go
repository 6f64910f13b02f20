package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/heraldlb/herald/internal/benchdoc"
)

// Targets the controller is held to.
const (
	targetBacklogWall = 1.3             // backlog wall time / ceiling wall time
	targetBacklogCPU  = 2.0             // backlog controller CPU / ceiling CPU
	targetRestart     = 2 * time.Second // restart: a new Service's create call to its address
)

// figure is one row of the figures table: a value per run.
type figure struct {
	scenario, name string
	// digits after the decimal point.
	digits int
	values func(r *nResults) []float64
}

func seconds(d time.Duration) float64 { return d.Seconds() }
func millis(d time.Duration) float64  { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64             { return float64(b) / (1 << 20) }

func perRun[T any](runs []T, f func(i int, x T) float64) []float64 {
	out := make([]float64, len(runs))
	for i, x := range runs {
		out[i] = f(i, x)
	}
	return out
}

func perService(r *nResults, v float64) float64 { return v / float64(r.n) }

// figures are the rows of the table, in order.
var figures = []figure{
	{"ceiling", "wall time (s)", 2, func(r *nResults) []float64 {
		return perRun(r.ceiling, func(_ int, c ceilingResult) float64 { return seconds(c.wall) })
	}},
	{"ceiling", "Services/s", 0, func(r *nResults) []float64 {
		return perRun(r.ceiling, func(_ int, c ceilingResult) float64 { return rate(r.n, c.wall) })
	}},
	{"ceiling", "CPU of the client process (s)", 2, func(r *nResults) []float64 {
		return perRun(r.ceiling, func(_ int, c ceilingResult) float64 { return seconds(c.cpu) })
	}},
	{"backlog", "time from process start until all have addresses (s)", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return seconds(b.wall) })
	}},
	{"backlog", "Services/s", 0, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return rate(r.n, b.wall) })
	}},
	{"backlog", "wall time / ceiling wall time", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(i int, b backlogResult) float64 { return ratio(b.wall, r.ceiling[i].wall) })
	}},
	{"backlog", "controller CPU (s)", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return seconds(b.cpu) })
	}},
	{"backlog", "controller CPU / ceiling CPU", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(i int, b backlogResult) float64 { return ratio(b.cpu, r.ceiling[i].cpu) })
	}},
	{"backlog", "controller peak RSS (MiB)", 0, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return mib(b.rss) })
	}},
	{"backlog", "Service reconciles per Service", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return perService(r, b.counters.reconciles) })
	}},
	{"backlog", "PATCH requests per Service", 2, func(r *nResults) []float64 {
		return perRun(r.backlog, func(_ int, b backlogResult) float64 { return perService(r, b.counters.requests["PATCH"]) })
	}},
	{"restart", "SIGTERM to exit of the old process (s)", 2, func(r *nResults) []float64 {
		return perRun(r.restart, func(_ int, x restartResult) float64 { return seconds(x.stop) })
	}},
	{"restart", "new Service: create to address (s)", 2, func(r *nResults) []float64 {
		return perRun(r.restart, func(_ int, x restartResult) float64 { return seconds(x.probe) })
	}},
	{"restart", "new Service: process start to address (s)", 2, func(r *nResults) []float64 {
		return perRun(r.restart, func(_ int, x restartResult) float64 { return seconds(x.fromStart) })
	}},
	{"restart", "existing Services that changed address", 0, func(r *nResults) []float64 {
		return perRun(r.restart, func(_ int, x restartResult) float64 { return float64(x.moved) })
	}},
	{"restart", "existing Services written to", 0, func(r *nResults) []float64 {
		return perRun(r.restart, func(_ int, x restartResult) float64 { return float64(x.rewritten) })
	}},
	{"live creation", "latency p50 (ms)", 0, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return millis(percentile(l.latencies, 50)) })
	}},
	{"live creation", "latency p99 (ms)", 0, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return millis(percentile(l.latencies, 99)) })
	}},
	{"live creation", "latency max (ms)", 0, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return millis(percentile(l.latencies, 100)) })
	}},
	{"live creation", "time until all have addresses (s)", 2, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return seconds(l.total) })
	}},
	{"live creation", "Services/s", 0, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return rate(r.n, l.total) })
	}},
	{"live creation", "controller CPU (s)", 2, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return seconds(l.cpu) })
	}},
	{"live creation", "controller peak RSS (MiB)", 0, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return mib(l.rss) })
	}},
	{"live creation", "Service reconciles per Service", 2, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return perService(r, l.counters.reconciles) })
	}},
	{"live creation", "PATCH requests per Service", 2, func(r *nResults) []float64 {
		return perRun(r.live, func(_ int, l liveResult) float64 { return perService(r, l.counters.requests["PATCH"]) })
	}},
}

// target is one line of the targets table.
type target struct {
	name string
	// limit is the largest value that meets the target.
	limit  float64
	unit   string
	values func(r *nResults) []float64
}

var targets = []target{
	{fmt.Sprintf("backlog: all addressed within %.1fx the ceiling's wall time", targetBacklogWall), targetBacklogWall, "x", figureValues("backlog", "wall time / ceiling wall time")},
	{fmt.Sprintf("backlog: controller CPU within %.0fx the ceiling's CPU", targetBacklogCPU), targetBacklogCPU, "x", figureValues("backlog", "controller CPU / ceiling CPU")},
	{fmt.Sprintf("restart: the new Service addressed in under %v", targetRestart), targetRestart.Seconds(), " s", figureValues("restart", "new Service: create to address (s)")},
}

func figureValues(scenario, name string) func(r *nResults) []float64 {
	for _, f := range figures {
		if f.scenario == scenario && f.name == name {
			return f.values
		}
	}
	panic("no figure " + scenario + ": " + name)
}

// verdict says whether values (one per run) meet limit: in every run, at the median only, or not.
func verdict(values []float64, limit float64, unit string) (string, bool) {
	missed := 0
	for _, v := range values {
		if v > limit {
			missed++
		}
	}
	p50, worst := percentile(values, 50), percentile(values, 100)
	figs := fmt.Sprintf("p50 %.2f%s, max %.2f%s", p50, unit, worst, unit)
	switch {
	case missed == 0:
		return "met (" + figs + ")", true
	case p50 <= limit:
		return fmt.Sprintf("met at p50, **missed in %d of %d runs** (%s)", missed, len(values), figs), false
	default:
		return "**missed** (" + figs + ")", false
	}
}

// problems lists the correctness problems of every run of r, labelled.
func (r *nResults) problems() []string {
	var out []string
	add := func(scenario string, run int, ps []string) {
		for _, p := range ps {
			out = append(out, fmt.Sprintf("N=%d run %d, %s: %s", r.n, run+1, scenario, p))
		}
	}
	for i, c := range r.ceiling {
		add("ceiling", i, c.problems)
	}
	for i, l := range r.live {
		add("live creation", i, l.problems)
	}
	for i, b := range r.backlog {
		add("backlog", i, b.problems)
	}
	for i, x := range r.restart {
		add("restart", i, x.problems)
	}
	return out
}

// controllerSection renders the results as the controller section of docs/benchmarks.md. It
// returns whether every target was met and whether every run was correct.
func controllerSection(results []*nResults, m benchdoc.Machine, load string, reps int, command string) (string, bool, bool) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var ns []string
	for _, r := range results {
		ns = append(ns, fmt.Sprintf("N=%d", r.n))
	}
	p("## herald-controller end to end\n\n")
	p("%s", paragraph(fmt.Sprintf("Measured %s (UTC) on: %s.", m.Date, m)))
	p("%s", paragraph("kube-apiserver and etcd (from `make tools`), herald-controller (built from the working "+
		"tree, default flags: 8 workers, leader election on, JSON logs at info) and the benchmark's own clients "+
		"and watch share the machine. Reproduce with `make bench-controller` (part of `make bench`), which runs:"))
	p("    %s\n\n", command)
	p("%s", paragraph(fmt.Sprintf("Every scenario ran %d times for each N (the runs), each in fresh namespaces with a fresh "+
		"pool and load balancer class; the Services of a run are deleted before the next run starts. For each run "+
		"the order is: ceiling, backlog, restart, live creation. Services are IPv6 single stack with one TCP port and "+
		"no node ports; the pool is %s. Creators and writers are %d concurrent clients, as many as the "+
		"controller's workers; all clients speak protobuf and have no client-side rate limit, like the controller's.",
		reps, poolBlock, concurrency)))
	p("%s", paragraph("Load: "+load+". On a machine shared with other work the runs vary; each ratio compares a "+
		"backlog with the ceiling measured just before it."))

	p("### Targets\n\n")
	p("| target | %s |\n", strings.Join(ns, " | "))
	p("| --- |%s\n", strings.Repeat(" --- |", len(results)))
	allMet := true
	for _, t := range targets {
		var cells []string
		for _, r := range results {
			v, ok := verdict(t.values(r), t.limit, t.unit)
			allMet = allMet && ok
			cells = append(cells, v)
		}
		p("| %s | %s |\n", t.name, strings.Join(cells, " | "))
	}
	correct := true
	var cells []string
	var problems []string
	for _, r := range results {
		ps := r.problems()
		problems = append(problems, ps...)
		if len(ps) == 0 {
			cells = append(cells, fmt.Sprintf("met in all %d runs", reps))
			continue
		}
		correct = false
		cells = append(cells, fmt.Sprintf("**%d problems** (below)", len(ps)))
	}
	p("| correctness: every Service one distinct address from the pool, with ipMode VIP and the pool annotation; no address changed, none across the restart; clean exit on SIGTERM | %s |\n\n", strings.Join(cells, " | "))
	if len(problems) > 0 {
		p("Problems found:\n\n")
		for i, pr := range problems {
			if i == 20 {
				p("- and %d more\n", len(problems)-i)
				break
			}
			p("- %s\n", pr)
		}
		p("\n")
	}

	p("![share of Services addressed within a latency, live creation, every run of each N](img/live-latency.png)\n\n")
	p("### Figures\n\n")
	p("p50 and max over the %d runs. Latency percentiles are taken over the Services of one run first.\n\n", reps)
	p("| scenario | figure |")
	for _, n := range ns {
		p(" %s p50 | %s max |", n, n)
	}
	p("\n| --- | --- |%s\n", strings.Repeat(" ---: |", 2*len(results)))
	for _, f := range figures {
		p("| %s | %s |", f.scenario, f.name)
		for _, r := range results {
			v := f.values(r)
			p(" %.*f | %.*f |", f.digits, percentile(v, 50), f.digits, percentile(v, 100))
		}
		p("\n")
	}
	p("\n")
	p("### What the figures mean\n\n")
	p("%s", bullet(fmt.Sprintf("**ceiling**: what the API server allows. N Services exist without addresses and no "+
		"controller runs; a bare client process (this benchmark re-executed: client-go, nothing cached) with %d "+
		"concurrent writers makes, per Service, exactly the two writes herald-controller makes: a merge patch of "+
		"`status.loadBalancer.ingress` `[{ip, ipMode: VIP}]`, then a merge patch of the `%s` annotation. Wall "+
		"time is from the start of that process to its exit; CPU is its user plus system time (rusage).",
		concurrency, annotationAllocatedFromPool)))
	p("%s", bullet("**backlog**: N Services exist without addresses, then the controller process starts. The "+
		"time runs from the process start (so it includes start-up, leader election and cache sync) to the "+
		"receipt, by a watch on the Services, of the last address; the CPU is the process's whole CPU time "+
		"(utime+stime from `/proc/<pid>/stat`) until then, peak RSS its `VmHWM`. Both are compared with the "+
		"same run's ceiling."))
	p("%s", bullet("**restart**: with the backlog's N Services addressed and the controller idle, the controller "+
		"gets SIGTERM and, once it has exited, a new process starts; as soon as it is started one new Service is "+
		"created. The figure is from that create call's return to its address. Once the new process has "+
		"reconciled every Service and is idle, every existing Service must hold the address it held before; "+
		"\"written to\" counts existing Services whose resourceVersion changed (0: the restarted controller "+
		"wrote nothing to them)."))
	p("%s", bullet(fmt.Sprintf("**live creation**: the controller runs and has served one warm-up Service; N "+
		"Services are created by %d concurrent creators as fast as the API server accepts them. A Service's "+
		"latency is from the return of its create call to the receipt, by the watch, of the event showing its "+
		"address. The time until all have addresses runs from the first create call; controller CPU is taken "+
		"over that time.", concurrency)))
	p("%s", bullet("**reconciles and PATCH requests per Service** come from the controller's own metrics "+
		"(`controller_runtime_reconcile_total{controller=\"services\"}`, `rest_client_requests_total`), counted "+
		"until the controller is idle (Service queue empty, no reconcile running). The ceiling makes one pass "+
		"and exactly 2 PATCH requests per Service. The controller also records one Event per assigned Service, "+
		"written asynchronously and not counted here."))
	return b.String(), allMet, correct
}
