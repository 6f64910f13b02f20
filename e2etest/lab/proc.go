package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcessMarker is set in the environment of every process the lab starts, to the lab's
// directory: Down finds them by it.
const ProcessMarker = "HERALD_LAB_PROCESS"

// procSpec is how to start one of the lab's processes; it is saved so that a process can be
// started again (Restart) from another program than the one that brought the lab up.
type procSpec struct {
	Namespace string   `json:"namespace,omitempty"`
	Args      []string `json:"args"`
	Env       []string `json:"env,omitempty"`
}

func (l *Lab) specPath(name string) string { return filepath.Join(l.runDir(), name+".json") }
func (l *Lab) pidPath(name string) string  { return filepath.Join(l.runDir(), name+".pid") }

// LogPath is the log file of a lab process ("speaker-node1", "kube-apiserver", ...).
func (l *Lab) LogPath(name string) string { return filepath.Join(l.LogDir(), name+".log") }

// startProcess starts a process that outlives the caller (its own session), logging to its
// log file, and records its pid and how to start it again.
func (l *Lab) startProcess(name string, spec procSpec) (int, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(l.specPath(name), b, 0o644); err != nil {
		return 0, err
	}
	return l.launch(name, spec)
}

func (l *Lab) launch(name string, spec procSpec) (int, error) {
	logf, err := os.OpenFile(l.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	args := spec.Args
	if spec.Namespace != "" {
		// ip netns exec execs the program: the pid is the program's.
		args = append([]string{"ip", "netns", "exec", spec.Namespace}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Env = append(cmd.Env, ProcessMarker+"="+l.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fmt.Fprintf(logf, "=== %s lab: starting %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	// Reap it while this program runs; when it exits, init does.
	go func() { _ = cmd.Wait() }()
	if err := os.WriteFile(l.pidPath(name), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return pid, err
	}
	return pid, nil
}

// running returns the pid of a lab process if it runs.
func (l *Lab) running(name string) (int, bool) {
	b, err := os.ReadFile(l.pidPath(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	return pid, alive(pid) && isMarked(pid, l.Dir)
}

// Signal sends sig to a lab process. It returns a function that waits until that process is
// gone.
func (l *Lab) Signal(name string, sig syscall.Signal) (wait func(timeout time.Duration) error, err error) {
	pid, ok := l.running(name)
	if !ok {
		return nil, fmt.Errorf("lab: %s is not running", name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return nil, fmt.Errorf("lab: signal %s: %w", name, err)
	}
	return func(timeout time.Duration) error { return waitGone(pid, timeout) }, nil
}

// PID returns the pid of a lab process, 0 if it does not run.
func (l *Lab) PID(name string) int {
	pid, ok := l.running(name)
	if !ok {
		return 0
	}
	return pid
}

// Running says whether a lab process runs.
func (l *Lab) Running(name string) bool {
	_, ok := l.running(name)
	return ok
}

// Restart starts a lab process again, as it was started first, if it does not run.
func (l *Lab) Restart(name string) error {
	if _, ok := l.running(name); ok {
		return nil
	}
	b, err := os.ReadFile(l.specPath(name))
	if err != nil {
		return fmt.Errorf("lab: no recorded way to start %s: %w", name, err)
	}
	var spec procSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return err
	}
	_, err = l.launch(name, spec)
	return err
}

// alive says whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func isMarked(pid int, dir string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(append([]byte{0}, env...), []byte("\x00"+ProcessMarker+"="+dir+"\x00"))
}

// markedPIDs lists the processes that carry the marker of the lab in dir.
func markedPIDs(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if isMarked(pid, dir) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// namespacePIDs lists the processes in a network namespace.
func namespacePIDs(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stopPIDs sends SIGTERM, waits up to grace, then SIGKILL and waits again.
func stopPIDs(pids []int, grace time.Duration) error {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	var errs []error
	for _, pid := range pids {
		if waitGone(pid, grace) == nil {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		errs = append(errs, waitGone(pid, 5*time.Second))
	}
	return errors.Join(errs...)
}

func waitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still runs after %s", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
