package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldlb/herald/internal/benchdoc"
)

// benchRow is one result line of `go test -bench`.
type benchRow struct {
	// name is the top-level benchmark without "Benchmark", e.g. "Allocate".
	name string
	// params are the sub-benchmark's key=value parts, e.g. pool=/24, fill=50, in order.
	params []param
	// metrics are the value per unit, e.g. "ns/op" -> 1234.
	metrics map[string]float64
}

type param struct{ key, value string }

// benchOutput is what a `go test -bench` run printed.
type benchOutput struct {
	rows []benchRow
	// cpu is the "cpu:" header line, pkg the "pkg:" one.
	cpu, pkg string
	// units are the metric units in order of first appearance.
	units []string
}

// procsSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBenchOutput reads `go test -bench` output, copying every line to echo as it goes. It fails
// when a benchmark or the package failed, or when no result was printed.
func parseBenchOutput(r io.Reader, echo io.Writer) (benchOutput, error) {
	var out benchOutput
	seenUnit := map[string]bool{}
	var failed []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		switch {
		case strings.HasPrefix(line, "cpu: "):
			out.cpu = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "pkg: "):
			out.pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "panic:"):
			failed = append(failed, line)
		case strings.HasPrefix(line, "Benchmark"):
			row, ok := parseBenchLine(line)
			if !ok {
				continue // a benchmark's name printed before its result, or its log
			}
			for _, u := range row.unitsInOrder {
				if !seenUnit[u] {
					seenUnit[u] = true
					out.units = append(out.units, u)
				}
			}
			out.rows = append(out.rows, row.benchRow)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read benchmark output: %w", err)
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("benchmarks failed: %s", strings.Join(failed, "; "))
	}
	if len(out.rows) == 0 {
		return out, errors.New("no benchmark results in the input")
	}
	return out, nil
}

type parsedLine struct {
	benchRow
	unitsInOrder []string
}

// parseBenchLine parses "BenchmarkX/a=1/b=2-8  1000  123 ns/op  4.0 heap-MiB ...".
func parseBenchLine(line string) (parsedLine, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || len(fields)%2 != 0 {
		return parsedLine{}, false
	}
	if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
		return parsedLine{}, false
	}
	full := procsSuffix.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
	name, sub, _ := strings.Cut(full, "/")
	row := parsedLine{benchRow: benchRow{name: name, metrics: map[string]float64{}}}
	// Parameter values may hold slashes ("pool=/24"): a segment without "=" continues the value
	// before it.
	if sub != "" {
		for _, seg := range strings.Split(sub, "/") {
			k, v, ok := strings.Cut(seg, "=")
			switch {
			case ok:
				row.params = append(row.params, param{k, v})
			case len(row.params) > 0:
				row.params[len(row.params)-1].value += "/" + seg
			default:
				row.params = append(row.params, param{"case", seg})
			}
		}
	}
	for i := 2; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return parsedLine{}, false
		}
		row.metrics[fields[i+1]] = v
		row.unitsInOrder = append(row.unitsInOrder, fields[i+1])
	}
	return row, true
}

// allocatorSection renders the benchmark output as the allocator section of docs/benchmarks.md.
func allocatorSection(out benchOutput, m benchdoc.Machine, load, command string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Allocator micro-benchmarks\n\n")
	measured := fmt.Sprintf("Measured %s (UTC) on: %s", m.Date, m)
	if out.cpu != "" && out.cpu != m.CPUModel {
		measured += fmt.Sprintf(" (go test reports `%s`)", out.cpu)
	}
	p("%s", paragraph(measured+". "+load+"."))
	p("Reproduce with `make bench-allocator` (part of `make bench`), which runs:\n\n    %s\n\n", command)
	p("%s", paragraph("Each row is one Assign plus one Release of a new Service (`BenchmarkAllocate`: in a pool "+
		"already filled to the given percentage; `BenchmarkAllocateFromReleased`: when only released addresses "+
		"are left), as the benchmarks' doc comments in `internal/allocator/allocator_bench_test.go` describe. "+
		"`heap-MiB` is the live heap after filling the pool: it grows with the Services held, not with the "+
		"pool's size. The package doc's contract is that ns/op does not depend on the pool's size or fill."))

	var keys []string
	seenKey := map[string]bool{}
	for _, r := range out.rows {
		for _, pr := range r.params {
			if !seenKey[pr.key] {
				seenKey[pr.key] = true
				keys = append(keys, pr.key)
			}
		}
	}
	p("| benchmark |")
	for _, k := range keys {
		p(" %s |", k)
	}
	for _, u := range out.units {
		p(" %s |", u)
	}
	p("\n| --- |%s%s\n", strings.Repeat(" --- |", len(keys)), strings.Repeat(" ---: |", len(out.units)))
	for _, r := range out.rows {
		p("| %s |", r.name)
		vals := map[string]string{}
		for _, pr := range r.params {
			vals[pr.key] = pr.value
		}
		for _, k := range keys {
			p(" %s |", vals[k])
		}
		for _, u := range out.units {
			v, ok := r.metrics[u]
			if !ok {
				p("  |")
				continue
			}
			p(" %s |", formatMetric(v))
		}
		p("\n")
	}
	if len(out.rows) > 0 {
		var ns []float64
		for _, r := range out.rows {
			if v, ok := r.metrics["ns/op"]; ok && r.name == "Allocate" {
				ns = append(ns, v)
			}
		}
		if len(ns) > 0 {
			lo, hi := slices.Min(ns), slices.Max(ns)
			p("\nAcross the %d `BenchmarkAllocate` rows, ns/op ranges from %s to %s (%.1fx).\n", len(ns), formatMetric(lo), formatMetric(hi), hi/lo)
		}
	}
	p("\n![ns per Assign+Release against the pool's size, one line per fill: flat](img/allocator.png)\n")
	return b.String()
}

// formatMetric prints v with at most one decimal, more only for small values.
func formatMetric(v float64) string {
	switch {
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
