// Package charts_test checks the Helm chart in charts/herald and the manifests of config/default
// made from it: they lint, they are in step with what controller-gen generates, the API server
// accepts every object they make, and the RBAC they grant is what the real programs need.
package charts_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/heraldlb/herald/internal/testenv"
)

// installNamespace is where the tests install the chart, as the README says.
const installNamespace = "herald-system"

var (
	// env is one API server for the tests of the package, with Herald's CRDs and the
	// Prometheus Operator's ServiceMonitor and PrometheusRule CRDs.
	env      *testenv.Env
	admin    client.Client
	repoRoot string
	// programs builds herald-controller and herald-speaker once.
	programs testenv.Builder
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	if repoRoot, err = testenv.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "herald-chart-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	programs.Dir = dir
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	monitoring := filepath.Join(assetsDir(), "crds", "monitoring")
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{monitoring}, ErrorIfPathMissing: true}); err != nil {
		fmt.Fprintf(os.Stderr, "install the ServiceMonitor and PrometheusRule CRDs from %s (run `make tools`): %v\n", monitoring, err)
		return 1
	}
	if admin, err = client.New(env.Config, client.Options{Scheme: env.Scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// assetsDir is where `make tools` puts helm, kubectl, the API server and the extra CRDs.
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot, "bin")
}

// tool returns the path of a program `make tools` builds, or fails saying how to build it.
func tool(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(assetsDir(), name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found in %s: run `make tools` (or `make test`, which builds it) or set KUBEBUILDER_ASSETS", name, assetsDir())
	}
	return path
}

// run runs a program from the repository root and returns its standard output; a failure
// fails the test with the program's output.
func run(t testing.TB, stdin []byte, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

const (
	chartDir          = "charts/herald"
	allFeaturesValues = "charts/herald/ci/all-features-values.yaml"
)

// render runs `helm template` for the release "herald" in installNamespace with extra helm
// arguments (-f, --set).
func render(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, nil, tool(t, "helm"), append([]string{"template", "herald", chartDir, "--namespace", installNamespace}, args...)...)
}

// decode splits a multi-document YAML stream into objects, leaving out empty documents.
func decode(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
}

// find returns the rendered object of kind and name, or fails.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("the chart renders no %s %q", kind, name)
	return nil
}
