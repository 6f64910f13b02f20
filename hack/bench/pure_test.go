package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBenchOutputKeepsSlashesInParameters(t *testing.T) {
	in := `goos: linux
cpu: Some CPU
BenchmarkAllocate/pool=/24/fill=50-2   	  846082	      1487 ns/op	         0.8045 heap-MiB	      74 B/op	       4 allocs/op
--- BENCH: BenchmarkAllocate/pool=/24/fill=50-2
    allocator_bench_test.go:54: filled 128 Services in 1ms; heap 0 MiB
BenchmarkAllocate/pool=v6-/64/fill=99
BenchmarkAllocate/pool=v6-/64/fill=99-2         	  482497	      2650 ns/op	         9.536 heap-MiB	      81 B/op	       4 allocs/op
BenchmarkAllocateFromReleased/pool=/16/from=aged-2          	  460471	      2521 ns/op	     111 B/op	       2 allocs/op
PASS
`
	var echo strings.Builder
	out, err := parseBenchOutput(strings.NewReader(in), &echo)
	if err != nil {
		t.Fatal(err)
	}
	if echo.String() != in {
		t.Errorf("input not echoed unchanged:\n%s", echo.String())
	}
	want := []benchRow{
		{name: "Allocate", params: []param{{"pool", "/24"}, {"fill", "50"}}, metrics: map[string]float64{"ns/op": 1487, "heap-MiB": 0.8045, "B/op": 74, "allocs/op": 4}},
		{name: "Allocate", params: []param{{"pool", "v6-/64"}, {"fill", "99"}}, metrics: map[string]float64{"ns/op": 2650, "heap-MiB": 9.536, "B/op": 81, "allocs/op": 4}},
		{name: "AllocateFromReleased", params: []param{{"pool", "/16"}, {"from", "aged"}}, metrics: map[string]float64{"ns/op": 2521, "B/op": 111, "allocs/op": 2}},
	}
	if diff := cmp.Diff(want, out.rows, cmp.AllowUnexported(benchRow{}, param{})); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ns/op", "heap-MiB", "B/op", "allocs/op"}, out.units); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if out.cpu != "Some CPU" {
		t.Errorf("cpu = %q", out.cpu)
	}
}

func TestParseBenchOutputFailsOnAFailedBenchmark(t *testing.T) {
	in := "BenchmarkX-2 10 5 ns/op\n--- FAIL: BenchmarkY\nFAIL\n"
	if _, err := parseBenchOutput(strings.NewReader(in), &strings.Builder{}); err == nil {
		t.Error("no error")
	}
	if _, err := parseBenchOutput(strings.NewReader("PASS\n"), &strings.Builder{}); err == nil {
		t.Error("no error without results")
	}
}

func TestParseCountersReadsTheSeriesItNeeds(t *testing.T) {
	in := `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
controller_runtime_reconcile_total{controller="services",result="success"} 2990
controller_runtime_reconcile_total{controller="services",result="error"} 10
controller_runtime_reconcile_total{controller="ipaddresspools",result="success"} 7
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PATCH"} 5990
rest_client_requests_total{code="409",host="127.0.0.1:1",method="PATCH"} 10
rest_client_requests_total{code="201",host="127.0.0.1:1",method="POST"} 3
workqueue_depth{controller="services",name="services"} 4
controller_runtime_active_workers{controller="services"} 2
`
	got, err := parseCounters(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := controllerCounters{reconciles: 3000, requests: map[string]float64{"PATCH": 6000, "POST": 3}, queueDepth: 4, activeWorkers: 2}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(controllerCounters{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{50: 3, 99: 5, 100: 5, 20: 1, 21: 2} {
		if got := percentile(v, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]float64(nil), 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
}

func TestVerdictSaysWhichRunsMissed(t *testing.T) {
	for _, tc := range []struct {
		values []float64
		want   string
		met    bool
	}{
		{[]float64{1.1, 1.2, 1.0}, "met (p50 1.10x, max 1.20x)", true},
		{[]float64{1.1, 1.5, 1.0}, "met at p50, **missed in 1 of 3 runs** (p50 1.10x, max 1.50x)", false},
		{[]float64{1.4, 1.5, 1.0}, "**missed** (p50 1.40x, max 1.50x)", false},
	} {
		got, met := verdict(tc.values, 1.3, "x")
		if got != tc.want || met != tc.met {
			t.Errorf("verdict(%v) = %q, %v; want %q, %v", tc.values, got, met, tc.want, tc.met)
		}
	}
}

func TestWrapKeepsLinesWithinTheWidth(t *testing.T) {
	text := strings.Repeat("word ", 60)
	for _, line := range strings.Split(strings.TrimSuffix(bullet(text), "\n"), "\n") {
		if len(line) > lineWidth {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
		if !strings.HasPrefix(line, "- ") && !strings.HasPrefix(line, "  ") {
			t.Errorf("line not indented: %q", line)
		}
	}
}
