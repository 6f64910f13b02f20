package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldlb/herald/internal/procstat"
	"github.com/heraldlb/herald/internal/testenv"
)

// buildController compiles herald-controller from the working tree into dir, as `make build`
// does.
func buildController(ctx context.Context, dir string) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "herald-controller")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./controller")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./controller: %w\n%s", err, b)
	}
	return out, nil
}

// controllerProc is one running herald-controller process.
type controllerProc struct {
	cmd         *exec.Cmd
	started     time.Time
	metricsAddr string
	logPath     string
	logFile     *os.File
	exited      chan struct{}
	waitErr     error
}

// startController starts herald-controller with its defaults (8 workers, leader election on)
// for one install namespace and class; its logs go to logPath.
func startController(bin, kubeconfig, namespace, class, logPath string) (*controllerProc, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	healthAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create controller log: %w", err)
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--namespace="+namespace,
		"--load-balancer-class="+class,
		"--metrics-bind-address="+metricsAddr,
		"--health-probe-bind-address="+healthAddr,
		"--log-format=json",
		"--webhook-port=0",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The controller dies with the benchmark, even when the benchmark is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &controllerProc{cmd: cmd, metricsAddr: metricsAddr, logPath: logPath, logFile: logFile, exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start herald-controller: %w", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (p *controllerProc) pid() int { return p.cmd.Process.Pid }

// cpu is the CPU time the process has used since it started.
func (p *controllerProc) cpu() (time.Duration, error) { return procstat.CPU(p.pid()) }

// peakRSS is the process's peak resident set size in bytes.
func (p *controllerProc) peakRSS() (int64, error) {
	m, err := procstat.ReadMemory(p.pid())
	return m.Peak, err
}

// stop sends SIGTERM and waits for the process to exit, killing it after timeout.
func (p *controllerProc) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.exitError()
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop herald-controller %d: %w", p.pid(), err)
	}
	select {
	case <-p.exited:
		return p.exitError()
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("herald-controller %d still ran %v after SIGTERM; killed", p.pid(), timeout)
	}
}

// kill ends the process at once, if it still runs, and waits for it. It may be called more
// than once.
func (p *controllerProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *controllerProc) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("herald-controller %d: %w", p.pid(), p.waitErr)
	}
	return nil
}

// checkRunning returns an error, with the end of the logs, when the process has exited.
func (p *controllerProc) checkRunning() error {
	select {
	case <-p.exited:
		status := "status 0"
		if p.waitErr != nil {
			status = p.waitErr.Error()
		}
		return fmt.Errorf("herald-controller %d exited (%s); last logs:\n%s", p.pid(), status, p.logTail(20))
	default:
		return nil
	}
}

// logTail returns the last n lines of the process's log.
func (p *controllerProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// controllerCounters are the counters of the controller's /metrics that explain its cost.
type controllerCounters struct {
	// reconciles of the Service reconciler, any result.
	reconciles float64
	// requests to the API server by method (GET, POST, PATCH, PUT, DELETE).
	requests map[string]float64
	// queueDepth is the Service work queue's length now, activeWorkers the Service reconciles
	// running now.
	queueDepth, activeWorkers float64
}

// counters scrapes the controller's /metrics.
func (p *controllerProc) counters(ctx context.Context) (controllerCounters, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metricsAddr+"/metrics", nil)
	if err != nil {
		return controllerCounters{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return controllerCounters{}, fmt.Errorf("scrape herald-controller metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return controllerCounters{}, fmt.Errorf("scrape herald-controller metrics: %s", resp.Status)
	}
	return parseCounters(resp.Body)
}

// parseCounters reads the few series it needs from the Prometheus text format.
func parseCounters(r io.Reader) (controllerCounters, error) {
	c := controllerCounters{requests: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, value, ok := splitSample(line)
		if !ok {
			continue
		}
		switch {
		case name == "controller_runtime_reconcile_total" && labels["controller"] == "services":
			c.reconciles += value
		case name == "rest_client_requests_total":
			c.requests[labels["method"]] += value
		case name == "workqueue_depth" && labels["name"] == "services":
			c.queueDepth = value
		case name == "controller_runtime_active_workers" && labels["controller"] == "services":
			c.activeWorkers = value
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read herald-controller metrics: %w", err)
	}
	return c, nil
}

// splitSample splits `name{k="v",...} value` (label values without commas or escaped quotes,
// which holds for the series read here).
func splitSample(line string) (string, map[string]string, float64, bool) {
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", nil, 0, false
	}
	value, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", nil, 0, false
	}
	head := line[:sp]
	name, rest, hasLabels := strings.Cut(head, "{")
	labels := map[string]string{}
	if hasLabels {
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
	}
	return name, labels, value, true
}

// sub returns c minus before, per counter.
func (c controllerCounters) sub(before controllerCounters) controllerCounters {
	out := controllerCounters{reconciles: c.reconciles - before.reconciles, requests: map[string]float64{}, queueDepth: c.queueDepth, activeWorkers: c.activeWorkers}
	for k, v := range c.requests {
		out.requests[k] = v - before.requests[k]
	}
	return out
}

// waitIdle waits until the controller has reconciled at least minReconciles Services, its Service
// queue is empty and no Service reconcile runs: every write it decided on has returned.
func (p *controllerProc) waitIdle(ctx context.Context, minReconciles int, timeout time.Duration) (controllerCounters, error) {
	var last controllerCounters
	err := poll(ctx, timeout, "herald-controller idle", func() (string, error) {
		if err := p.checkRunning(); err != nil {
			return "", err
		}
		c, err := p.counters(ctx)
		if err != nil {
			return err.Error(), nil
		}
		last = c
		if c.reconciles < float64(minReconciles) || c.queueDepth > 0 || c.activeWorkers > 0 {
			return fmt.Sprintf("%.0f reconciles (want %d), %.0f queued, %.0f running", c.reconciles, minReconciles, c.queueDepth, c.activeWorkers), nil
		}
		return "", nil
	})
	return last, err
}
