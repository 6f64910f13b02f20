// Command herald-bench measures Herald and writes the figures into docs/benchmarks.md.
//
//	herald-bench controller [-n 1000,3000] [-reps 3] [-out docs/benchmarks.md]
//	go test -run '^$' -bench BenchmarkAllocate -benchmem ./internal/allocator/ | herald-bench allocator [-out docs/benchmarks.md]
//
// controller starts a real kube-apiserver and etcd (internal/testenv) and measures
// herald-controller end to end: the ceiling a bare client reaches writing what the controller
// writes, live creation, a backlog, and a restart. allocator turns `go test -bench` output into
// a table. Each rewrites only its own section of the output file.
//
// main.go only wires; the measuring lives in the other files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/heraldlb/herald/internal/benchdoc"
)

const usage = `Usage:
  herald-bench controller [flags]   herald-controller end to end against a real API server
  herald-bench allocator [flags]    turn 'go test -bench' output on stdin into a table

Run 'herald-bench <command> -h' for the flags.
`

// errFindings is returned when the figures were written but a run found a correctness problem.
var errFindings = errors.New("correctness problems found; see the output file")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "controller":
		err = controllerCommand(args)
	case "allocator":
		err = allocatorCommand(args)
	case "ceiling-writer":
		// Hidden: the ceiling's client process, started by the controller command.
		err = ceilingWriter(args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "herald-bench: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-bench:", err)
		os.Exit(1)
	}
}

func controllerCommand(args []string) error {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	nFlag := fs.String("n", "1000,3000", "comma-separated numbers of Services")
	reps := fs.Int("reps", 3, "repetitions of every scenario for each N")
	out := fs.String("out", "docs/benchmarks.md", "Markdown file whose controller section is rewritten")
	bin := fs.String("controller-bin", "", "herald-controller binary (default: build ./controller from the working tree)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ns, err := parseInts(*nFlag)
	if err != nil {
		return fmt.Errorf("-n: %w", err)
	}
	if *reps < 1 {
		return errors.New("-reps must be at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// envtest logs through controller-runtime; its progress lines are the benchmark's own.
	ctrllog.SetLogger(logr.Discard())

	before := sampleCPU()
	results, err := benchController(ctx, controllerOptions{ns: ns, reps: *reps, controllerBin: *bin, self: self, progress: os.Stderr})
	if err != nil {
		return err
	}
	load := sampleCPU().describeLoadSince(before)
	command := fmt.Sprintf("bin/herald-bench controller -n %s -reps %d -out %s", *nFlag, *reps, *out)
	if err := liveCSV(*out, results); err != nil {
		return err
	}
	section, _, correct := controllerSection(results, benchdoc.Describe(), load, *reps, command)
	if err := writeSection(*out, "controller", section); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the controller section of %s\n", *out)
	if !correct {
		return errFindings
	}
	return nil
}

func allocatorCommand(args []string) error {
	fs := flag.NewFlagSet("allocator", flag.ContinueOnError)
	out := fs.String("out", "docs/benchmarks.md", "Markdown file whose allocator section is rewritten")
	command := fs.String("command", "go test -run '^$' -bench BenchmarkAllocate -benchmem ./internal/allocator/", "the command whose output is on stdin, for the documentation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	parsed, err := parseBenchOutput(os.Stdin, os.Stdout)
	if err != nil {
		return err
	}
	load := "1-minute load average when the results were written: " + loadAverage()
	if err := writeSection(*out, "allocator", allocatorSection(parsed, benchdoc.Describe(), load, *command)); err != nil {
		return err
	}
	if err := allocatorCSV(*out, parsed); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the allocator section of %s\n", *out)
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
