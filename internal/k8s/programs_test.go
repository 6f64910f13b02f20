package k8s

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/heraldlb/herald/internal/testenv"
)

var (
	// sharedEnv is one API server for every test of the package; tests keep apart by using
	// their own namespaces and load balancer classes.
	sharedEnv    *testenv.Env
	sharedClient client.Client

	binDir   string
	builtMu  sync.Mutex
	builtBin = map[string]string{}
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dir, err := os.MkdirTemp("", "herald-programs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	sharedEnv, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = sharedEnv.Stop() }()
	sharedClient, err = client.New(sharedEnv.Config, client.Options{Scheme: sharedEnv.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildProgram compiles one of the Herald programs, once per test run.
func buildProgram(t *testing.T, pkg string) string {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if bin, ok := builtBin[pkg]; ok {
		return bin
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builtBin[pkg] = out
	return out
}

// writeKubeconfig writes a kubeconfig for cfg and returns its path.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a goroutine-safe log sink for a child process.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls get until it returns a body containing want, or fails at the deadline.
func waitFor(t *testing.T, url, want string, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200 with %q; last answer: %s\nlogs:\n%s", url, want, last, logs)
}

func TestProgramsServeHealthAndMetricsAndStopOnSIGTERM(t *testing.T) {
	ns := createNamespace(t, "programs", nil)
	kubeconfig := writeKubeconfig(t, sharedEnv.Config)

	webhookAddr := freePort(t)
	for _, tc := range []struct {
		pkg  string
		args []string
	}{
		{pkg: "controller", args: []string{"--namespace=" + ns, "--load-balancer-class=programs-test",
			"--webhook-port=" + strings.TrimPrefix(webhookAddr, "127.0.0.1:")}},
		{pkg: "speaker", args: []string{"--namespace=" + ns, "--node-name=node-1", "--memberlist-bind-address=127.0.0.1",
			"--memberlist-port=" + strings.TrimPrefix(freePort(t), "127.0.0.1:")}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			bin := buildProgram(t, tc.pkg)

			help, err := exec.Command(bin, "--help").CombinedOutput()
			if err != nil {
				t.Fatalf("--help: %v\n%s", err, help)
			}
			if !strings.Contains(string(help), "-kubeconfig") || !strings.Contains(string(help), "-metrics-bind-address") {
				t.Errorf("--help does not list the flags:\n%s", help)
			}

			metricsAddr, healthAddr := freePort(t), freePort(t)
			args := append([]string{"--kubeconfig=" + kubeconfig, "--metrics-bind-address=" + metricsAddr,
				"--health-probe-bind-address=" + healthAddr, "--log-format=text"}, tc.args...)
			cmd := exec.Command(bin, args...)
			logs := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			exited := make(chan struct{})
			go func() {
				waitErr = cmd.Wait()
				close(exited)
			}()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})

			waitFor(t, "http://"+healthAddr+"/healthz", "ok", logs)
			waitFor(t, "http://"+healthAddr+"/readyz", "ok", logs)
			waitFor(t, "http://"+metricsAddr+"/metrics", fmt.Sprintf(`herald_build_info{commit="unknown",component="%s",version="dev"} 1`, tc.pkg), logs)
			waitFor(t, "http://"+metricsAddr+"/metrics", "herald_config_loaded 1", logs)
			if tc.pkg == "controller" {
				// Ready means the webhook serves a certificate for its Service's name.
				conn, err := tls.Dial("tcp", webhookAddr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					t.Fatalf("webhook: %v\nlogs:\n%s", err, logs)
				}
				cert := conn.ConnectionState().PeerCertificates[0]
				conn.Close()
				if err := cert.VerifyHostname("herald-webhook." + ns + ".svc"); err != nil {
					t.Errorf("webhook certificate: %v", err)
				}
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
				if waitErr != nil {
					t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", waitErr, logs)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after SIGTERM\nlogs:\n%s", logs)
			}
			if !strings.Contains(logs.String(), "msg=stopped") {
				t.Errorf("no clean stop in the logs:\n%s", logs)
			}
		})
	}
}

func TestSpeakerRequiresNodeName(t *testing.T) {
	bin := buildProgram(t, "speaker")
	cmd := exec.Command(bin, "--kubeconfig=/nonexistent")
	cmd.Env = append(os.Environ(), "NODE_NAME=")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "--node-name") {
		t.Errorf("output does not say how to set the node name:\n%s", out)
	}
}

// Without the CRDs, the controller says what is missing instead of a discovery error alone.
func TestControllerWithoutCRDsSaysSo(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	t.Cleanup(func() { _ = env.Stop() })
	if err != nil {
		t.Fatal(err)
	}
	bin := buildProgram(t, "controller")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--kubeconfig="+writeKubeconfig(t, cfg), "--metrics-bind-address=0",
		"--health-probe-bind-address="+freePort(t), "--log-format=text").CombinedOutput()
	if err == nil {
		t.Fatalf("controller ran without its CRDs:\n%s", out)
	}
	if !strings.Contains(string(out), "CRDs (group herald.io) are not installed") {
		t.Errorf("the error does not name the missing CRDs:\n%s", out)
	}
}
