package k8s

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
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

	// programs builds the Herald binaries once for every test of the package.
	programs testenv.Builder
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
	programs.Dir = dir
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

func TestProgramsServeHealthAndMetricsAndStopOnSIGTERM(t *testing.T) {
	ns := createNamespace(t, "programs", nil)
	kubeconfig := testenv.WriteKubeconfig(t, sharedEnv.Config)

	webhookAddr := testenv.FreePort(t)
	for _, tc := range []struct {
		pkg  string
		args []string
	}{
		{pkg: "controller", args: []string{"--namespace=" + ns, "--load-balancer-class=programs-test",
			"--webhook-port=" + strings.TrimPrefix(webhookAddr, "127.0.0.1:")}},
		{pkg: "speaker", args: []string{"--namespace=" + ns, "--node-name=node-1", "--memberlist-bind-address=127.0.0.1",
			"--memberlist-port=" + strings.TrimPrefix(testenv.FreePort(t), "127.0.0.1:")}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			bin := programs.Build(t, tc.pkg)

			help, err := exec.Command(bin, "--help").CombinedOutput()
			if err != nil {
				t.Fatalf("--help: %v\n%s", err, help)
			}
			if !strings.Contains(string(help), "-kubeconfig") || !strings.Contains(string(help), "-metrics-bind-address") {
				t.Errorf("--help does not list the flags:\n%s", help)
			}

			metricsAddr, healthAddr := testenv.FreePort(t), testenv.FreePort(t)
			args := append([]string{"--kubeconfig=" + kubeconfig, "--metrics-bind-address=" + metricsAddr,
				"--health-probe-bind-address=" + healthAddr, "--log-format=text"}, tc.args...)
			proc := testenv.StartProcess(t, bin, args...)
			logs := proc.Logs

			testenv.WaitHTTP(t, "http://"+healthAddr+"/healthz", "ok", logs)
			testenv.WaitHTTP(t, "http://"+healthAddr+"/readyz", "ok", logs)
			testenv.WaitHTTP(t, "http://"+metricsAddr+"/metrics", fmt.Sprintf(`herald_build_info{commit="unknown",component="%s",version="dev"} 1`, tc.pkg), logs)
			testenv.WaitHTTP(t, "http://"+metricsAddr+"/metrics", "herald_config_loaded 1", logs)
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

			if err := proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-proc.Exited():
				if err := proc.Err(); err != nil {
					t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", err, logs)
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
	bin := programs.Build(t, "speaker")
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
	bin := programs.Build(t, "controller")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--kubeconfig="+testenv.WriteKubeconfig(t, cfg), "--metrics-bind-address=0",
		"--health-probe-bind-address="+testenv.FreePort(t), "--log-format=text").CombinedOutput()
	if err == nil {
		t.Fatalf("controller ran without its CRDs:\n%s", out)
	}
	if !strings.Contains(string(out), "CRDs (group herald.io) are not installed") {
		t.Errorf("the error does not name the missing CRDs:\n%s", out)
	}
}
