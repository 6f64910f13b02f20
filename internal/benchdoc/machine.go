package benchdoc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where and from what figures were measured.
type Machine struct {
	CPUModel  string
	CPUs      int
	Memory    string
	Kernel    string
	GoVersion string
	// Date is the UTC day of the measurement; Commit the revision of the working tree.
	Date   string
	Commit string
}

// Describe describes this machine and the working tree now.
func Describe() Machine {
	return Machine{
		CPUModel:  procField("/proc/cpuinfo", "model name"),
		CPUs:      runtime.NumCPU(),
		Memory:    memTotal(),
		Kernel:    strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		GoVersion: runtime.Version(),
		Date:      time.Now().UTC().Format("2006-01-02"),
		Commit:    commit(),
	}
}

// String is one sentence for the documentation.
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d CPUs (nproc), %s RAM, Linux %s, %s; commit %s", m.CPUModel, m.CPUs, m.Memory, m.Kernel, m.GoVersion, m.Commit)
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return string(b)
}

// procField returns the value of the first "key: value" line with key in a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	v := strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB")
	kb, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

// commit is the revision of the working tree, and whether it has uncommitted changes.
func commit() string {
	rev, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	out := strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		out += " with uncommitted changes"
	}
	return out
}
