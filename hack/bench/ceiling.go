package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// ceilingResult is one run of the ceiling: a bare client writing what the controller writes.
type ceilingResult struct {
	// wall is from the start of the writer process to its exit.
	wall time.Duration
	// cpu is the writer process's user plus system time.
	cpu time.Duration
	// problems are what checkAssignments found afterwards.
	problems []string
}

// writerReport is what the writer process prints on stdout.
type writerReport struct {
	Writes  int     `json:"writes"`
	Seconds float64 `json:"seconds"`
}

// runCeiling creates n Services without a controller, then runs the writer process (this
// program, re-executed) on them, and checks the result.
func runCeiling(ctx context.Context, cl *cluster, self string, r run) (_ ceilingResult, err error) {
	ns := r.name("ceiling")
	if err := cl.createNamespace(ctx, ns); err != nil {
		return ceilingResult{}, err
	}
	names := serviceNames(r.n)
	if _, err := cl.createServices(ctx, ns, r.class("ceiling"), names, concurrency); err != nil {
		return ceilingResult{}, err
	}
	defer deleteAfter(ctx, cl, ns, r, &err)

	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "ceiling-writer",
		"-kubeconfig", cl.kubeconfig, "-namespace", ns, "-n", fmt.Sprint(r.n),
		"-writers", fmt.Sprint(concurrency), "-pool", poolName, "-block", poolBlock.String())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return ceilingResult{}, fmt.Errorf("ceiling writer: %w\n%s", err, stderr.Bytes())
	}
	res := ceilingResult{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	var rep writerReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return res, fmt.Errorf("ceiling writer printed %q: %w", stdout.Bytes(), err)
	}
	if rep.Writes != 2*r.n {
		return res, fmt.Errorf("ceiling writer made %d writes, want %d", rep.Writes, 2*r.n)
	}
	_, res.problems, _ = checkAssignments(ctx, cl.kube, ns, poolName, poolBlock, r.n)
	return res, nil
}

// ceilingWriter is the writer process: with -writers concurrent writers it gives the Services
// svc-00000... of a namespace one address each, making the two writes herald-controller makes
// (a merge patch of status.loadBalancer.ingress, then a merge patch of the pool annotation), as
// fast as the API server takes them.
func ceilingWriter(args []string) error {
	fs := flag.NewFlagSet("ceiling-writer", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server")
	namespace := fs.String("namespace", "", "namespace of the Services")
	n := fs.Int("n", 0, "number of Services")
	writers := fs.Int("writers", concurrency, "concurrent writers")
	pool := fs.String("pool", poolName, "pool named in the annotation")
	blockFlag := fs.String("block", poolBlock.String(), "addresses are handed out from this prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	block, err := netip.ParsePrefix(*blockFlag)
	if err != nil {
		return fmt.Errorf("-block: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(benchRESTConfig(cfg))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	svcs := kube.CoreV1().Services(*namespace)
	annotation, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotationAllocatedFromPool: *pool}}})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	type job struct {
		name string
		addr netip.Addr
	}
	todo := make(chan job)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		writes int
	)
	start := time.Now()
	for range *writers {
		wg.Go(func() {
			for j := range todo {
				status, err := json.Marshal(map[string]any{"status": map[string]any{"loadBalancer": map[string]any{
					"ingress": []map[string]string{{"ip": j.addr.String(), "ipMode": "VIP"}},
				}}})
				if err != nil {
					cancel(err)
					return
				}
				if _, err := svcs.Patch(ctx, j.name, types.MergePatchType, status, metav1.PatchOptions{}, "status"); err != nil {
					cancel(fmt.Errorf("write status of service %s: %w", j.name, err))
					return
				}
				if _, err := svcs.Patch(ctx, j.name, types.MergePatchType, annotation, metav1.PatchOptions{}); err != nil {
					cancel(fmt.Errorf("annotate service %s: %w", j.name, err))
					return
				}
				mu.Lock()
				writes += 2
				mu.Unlock()
			}
		})
	}
	addr := block.Addr()
feed:
	for i := range *n {
		addr = addr.Next()
		if !block.Contains(addr) {
			cancel(fmt.Errorf("block %s has fewer than %d addresses", block, *n))
			break feed
		}
		select {
		case todo <- job{name: serviceName(i), addr: addr}:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(writerReport{Writes: writes, Seconds: time.Since(start).Seconds()})
}
