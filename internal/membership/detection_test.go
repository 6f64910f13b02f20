package membership

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var detectionSizes = flag.String("detection-sizes", "3", "comma-separated cluster sizes for BenchmarkFailureDetection")

// BenchmarkFailureDetection measures, with the default settings, how long after a member stops
// the survivors drop it from Live: abruptly (Close, as when a node dies) and gracefully (Leave).
// Each iteration builds a fresh cluster; it reports the median and maximum over the iterations
// of the time until the last survivor noticed (p50-ms, max-ms). A measurement, not a pass/fail
// test: detection time depends on how loaded the machine is. For more:
//
//	go test ./internal/membership -run '^$' -bench FailureDetection -benchtime 30x -detection-sizes 3,5,10
func BenchmarkFailureDetection(b *testing.B) {
	t := b
	var sizes []int
	for _, s := range strings.Split(*detectionSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			t.Fatalf("-detection-sizes: %q is not a cluster size of at least 2", s)
		}
		sizes = append(sizes, n)
	}
	kinds := []struct {
		name string
		stop func(*node) error
	}{
		{"abrupt-stop", func(n *node) error { return n.Close() }},
		{"graceful-leave", func(n *node) error { return n.Leave(time.Second) }},
	}
	for _, size := range sizes {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/size=%d", kind.name, size), func(t *testing.B) {
				var firsts, lasts []time.Duration
				for round := 0; round < t.N; round++ {
					nodes := newCluster(t, fmt.Sprintf("r%d", round), size, nil)
					gone := nodes[round%size]
					start := time.Now()
					if err := kind.stop(gone); err != nil {
						t.Fatalf("stop: %v", err)
					}
					first, last := waitGone(t, 10*time.Second, start, gone.name, without(nodes, gone)...)
					firsts, lasts = append(firsts, first), append(lasts, last)
					for _, n := range nodes {
						n.Close()
					}
				}
				t.ReportMetric(float64(median(lasts).Milliseconds()), "p50-ms")
				t.ReportMetric(float64(slices.Max(lasts).Milliseconds()), "max-ms")
				t.ReportMetric(float64(median(firsts).Milliseconds()), "first-p50-ms")
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}
