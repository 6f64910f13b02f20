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

var (
	detectionRuns  = flag.Int("detection-runs", 10, "rounds of TestFailureDetectionTime per cluster size and kind of stop")
	detectionSizes = flag.String("detection-sizes", "3", "comma-separated cluster sizes for TestFailureDetectionTime")
)

// TestFailureDetectionTime measures, with the default settings, how long after a member stops
// the survivors drop it from Live: abruptly (Close, as when a node dies) and gracefully (Leave).
// Each round builds a fresh cluster. It logs the median and maximum over the rounds of the time
// until the last survivor noticed, and fails only far above the one-second target, so that a
// loaded machine does not make it flaky. For more:
//
//	go test ./internal/membership -run FailureDetection -v -detection-runs 30 -detection-sizes 3,5,10
func TestFailureDetectionTime(t *testing.T) {
	if testing.Short() {
		t.Skip("measures seconds of failure detection")
	}
	var sizes []int
	for _, s := range strings.Split(*detectionSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			t.Fatalf("-detection-sizes: %q is not a cluster size of at least 2", s)
		}
		sizes = append(sizes, n)
	}
	kinds := []struct {
		name  string
		stop  func(*node) error
		limit time.Duration
	}{
		{"abrupt stop", func(n *node) error { return n.Close() }, 3 * time.Second},
		{"graceful leave", func(n *node) error { return n.Leave(time.Second) }, time.Second},
	}
	for _, size := range sizes {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s of 1 in %d", kind.name, size), func(t *testing.T) {
				var firsts, lasts []time.Duration
				for round := range *detectionRuns {
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
				t.Logf("%d rounds: last survivor noticed after p50 %s, max %s; first survivor p50 %s, max %s",
					len(lasts), median(lasts), slices.Max(lasts), median(firsts), slices.Max(firsts))
				if worst := slices.Max(lasts); worst > kind.limit {
					t.Errorf("detection took up to %s, want well under %s", worst, kind.limit)
				}
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}
