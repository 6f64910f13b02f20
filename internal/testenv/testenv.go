// Package testenv starts a real kube-apiserver and etcd for tests, with Herald's CRDs installed.
//
// The binaries are the ones `make tools` builds from the Go module proxy into bin/; tests find
// them through KUBEBUILDER_ASSETS, which the Makefile sets. Without them the tests fail with a
// message saying how to build them: a schema or reconciler test that silently skipped would hide
// a broken API.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// ServiceCIDRs are the cluster IP ranges of the test API server. Test pools must not use them.
const ServiceCIDRs = "198.51.100.0/24,2001:db8:ffff::/108"

// Env is a running API server with Herald's CRDs.
type Env struct {
	env *envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Scheme knows the built-in kinds and Herald's.
	Scheme *runtime.Scheme
}

// RepoRoot returns the top directory of the Herald module, found from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "config", "crd", "bases")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (with go.mod and config/crd/bases) not found above the working directory")
		}
		dir = parent
	}
}

// Start runs etcd and kube-apiserver and installs the CRDs from config/crd/bases.
func Start() (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make tools` (or `make test`, which builds it) or set KUBEBUILDER_ASSETS", b, assets)
		}
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := heraldv1beta1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	// Dual-stack cluster IPs, from a documentation range that tests keep out of their pools.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", ServiceCIDRs)
	cfg, err := env.Start()
	if err != nil {
		// Start may fail after etcd and the API server run (a CRD rejected, say): stop them.
		_ = env.Stop()
		return nil, fmt.Errorf("start test API server: %w", err)
	}
	return &Env{env: env, Config: cfg, Scheme: scheme}, nil
}

// Stop stops the API server and etcd. It may be called more than once.
func (e *Env) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	env := e.env
	e.env = nil
	return env.Stop()
}
