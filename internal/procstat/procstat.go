// Package procstat reads a Linux process's CPU time and memory from /proc, for the benchmarks.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// UserHZ is the unit of utime and stime in /proc/<pid>/stat. The kernel exports clock ticks to
// user space at a fixed 100 Hz whatever its internal HZ (USER_HZ), on every architecture Herald
// runs on.
const UserHZ = 100

// CPU returns the CPU time (user plus system) the process has used so far.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces; count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("read CPU time of process %d: malformed stat %q", pid, b)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("read CPU time of process %d: stat has %d fields", pid, len(fields)+2)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / UserHZ, nil
}

// Memory is a process's resident set size now (VmRSS) and at its peak (VmHWM), in bytes.
type Memory struct {
	RSS, Peak int64
}

// ReadMemory returns the process's resident set sizes.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	var m Memory
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("read memory of process %d: %s: %w", pid, key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	if seen != 2 {
		return Memory{}, fmt.Errorf("read memory of process %d: no VmRSS and VmHWM lines", pid)
	}
	return m, nil
}
