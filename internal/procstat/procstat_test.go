package procstat

import (
	"os"
	"testing"
	"time"
)

func TestStatsOfThisProcess(t *testing.T) {
	before, err := CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's 10ms accounting shows it.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		if now, err := CPU(os.Getpid()); err != nil || now > before {
			break
		}
	}
	if after, err := CPU(os.Getpid()); err != nil || after <= before {
		t.Errorf("CPU time did not grow while busy: %v then %v (%v)", before, after, err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS < 1<<20 || m.Peak < m.RSS {
		t.Errorf("memory %+v: implausible", m)
	}
	if _, err := CPU(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
