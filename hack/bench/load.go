package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldlb/herald/internal/procstat"
)

// cpuSample is the machine's CPU use, and that of this process and its descendants, at one
// moment. Figures from a machine others use too are only as good as its quiet; two samples say
// how quiet it was.
type cpuSample struct {
	at time.Time
	// busy and total are /proc/stat jiffies summed over all CPUs.
	busy, total int64
	// own is the CPU time of this process and of every descendant it has waited for.
	own time.Duration
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		fields := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
		// already in user.
		for i, f := range fields[1:min(len(fields), 9)] {
			n, _ := strconv.ParseInt(f, 10, 64)
			s.total += n
			if i != 3 && i != 4 { // idle, iowait
				s.busy += n
			}
		}
	}
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			s.own += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return s
}

// describeLoadSince says how busy the machine was since before, and how much of that was not the
// benchmark. Call it after every process the benchmark started has been waited for.
func (s cpuSample) describeLoadSince(before cpuSample) string {
	total := s.total - before.total
	if total <= 0 {
		return "the machine's CPU use was not available"
	}
	capacity := float64(total) / procstat.UserHZ
	busy := float64(s.busy-before.busy) / procstat.UserHZ
	own := min((s.own - before.own).Seconds(), busy)
	return fmt.Sprintf("over the %v the measurement took, the CPUs were %.0f%% busy: %.0f points the benchmark and the "+
		"processes it started, %.0f points other processes on the machine",
		s.at.Sub(before.at).Round(time.Second), 100*busy/capacity, 100*own/capacity, 100*(busy-own)/capacity)
}

// loadAverage is the 1-minute load average now.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}
