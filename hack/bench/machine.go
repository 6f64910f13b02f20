package main

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

	"github.com/heraldlb/herald/internal/testenv"
)

// machine describes where and from what figures were measured.
type machine struct {
	cpuModel string
	cpus     int
	memory   string
	kernel   string
	goVer    string
	date     string
	commit   string
}

func describeMachine() machine {
	return machine{
		cpuModel: procField("/proc/cpuinfo", "model name"),
		cpus:     runtime.NumCPU(),
		memory:   memTotal(),
		kernel:   strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		goVer:    runtime.Version(),
		date:     time.Now().UTC().Format("2006-01-02"),
		commit:   commit(),
	}
}

// String is one sentence for the documentation.
func (m machine) String() string {
	return fmt.Sprintf("%s, %d CPUs (nproc), %s RAM, Linux %s, %s; commit %s", m.cpuModel, m.cpus, m.memory, m.kernel, m.goVer, m.commit)
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
	root, err := testenv.RepoRoot()
	if err != nil {
		return "unknown"
	}
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	out := strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		out += " with uncommitted changes"
	}
	return out
}
