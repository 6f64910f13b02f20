package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// controllerOptions configure the end-to-end benchmark.
type controllerOptions struct {
	ns   []int
	reps int
	// controllerBin is a built herald-controller; empty builds one from the working tree.
	controllerBin string
	// self is this program, re-executed as the ceiling's writer process.
	self string
	// progress receives a line per scenario run.
	progress io.Writer
}

// nResults are all runs for one N.
type nResults struct {
	n       int
	ceiling []ceilingResult
	live    []liveResult
	backlog []backlogResult
	restart []restartResult
}

// benchController starts an API server and runs every scenario opts.reps times for each N.
func benchController(ctx context.Context, opts controllerOptions) ([]*nResults, error) {
	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := opts.controllerBin
	if bin == "" {
		fmt.Fprintln(opts.progress, "building herald-controller")
		if bin, err = buildController(ctx, dir); err != nil {
			return nil, err
		}
	}
	fmt.Fprintln(opts.progress, "starting kube-apiserver and etcd")
	cl, err := startCluster(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cl.stop() }()
	env := scenarioEnv{cl: cl, controllerBin: bin, logDir: dir}

	var out []*nResults
	for _, n := range opts.ns {
		res := &nResults{n: n}
		out = append(out, res)
		for rep := 1; rep <= opts.reps; rep++ {
			r := run{n: n, rep: rep}
			say := func(format string, args ...any) {
				fmt.Fprintf(opts.progress, "N=%d run %d/%d: %s\n", n, rep, opts.reps, fmt.Sprintf(format, args...))
			}
			// The backlog is compared with the ceiling: run them back to back, so that both
			// see the same machine.
			c, err := runCeiling(ctx, cl, opts.self, r)
			if err != nil {
				return nil, fmt.Errorf("run %d with N=%d, ceiling: %w", rep, n, err)
			}
			res.ceiling = append(res.ceiling, c)
			say("ceiling %v, %.0f Services/s, CPU %v%s", c.wall.Round(time.Millisecond), rate(n, c.wall), c.cpu, problemNote(c.problems))

			b, rs, err := runBacklogAndRestart(ctx, env, r)
			if err != nil {
				return nil, fmt.Errorf("run %d with N=%d, backlog and restart: %w", rep, n, err)
			}
			res.backlog = append(res.backlog, b)
			res.restart = append(res.restart, rs)
			say("backlog %v (%.2fx the ceiling), CPU %v (%.2fx)%s", b.wall.Round(time.Millisecond), ratio(b.wall, c.wall), b.cpu, ratio(b.cpu, c.cpu), problemNote(b.problems))
			say("restart: new Service addressed %v after its creation, %v after the process started; %d moved, %d rewritten%s",
				rs.probe.Round(time.Millisecond), rs.fromStart.Round(time.Millisecond), rs.moved, rs.rewritten, problemNote(rs.problems))

			l, err := runLive(ctx, env, r)
			if err != nil {
				return nil, fmt.Errorf("run %d with N=%d, live creation: %w", rep, n, err)
			}
			res.live = append(res.live, l)
			say("live creation %v, p50 %v, p99 %v, CPU %v%s", l.total.Round(time.Millisecond), percentile(l.latencies, 50).Round(time.Millisecond),
				percentile(l.latencies, 99).Round(time.Millisecond), l.cpu, problemNote(l.problems))
		}
	}
	return out, nil
}

func problemNote(problems []string) string {
	switch len(problems) {
	case 0:
		return ""
	case 1:
		return "; PROBLEM: " + problems[0]
	default:
		return fmt.Sprintf("; %d PROBLEMS, first: %s", len(problems), problems[0])
	}
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
