package lab

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// PrebuiltEnv names a directory holding herald-speaker and herald-controller to run instead of
// building them from the repository (to test binaries built elsewhere).
const PrebuiltEnv = "HERALD_LAB_PREBUILT"

// build compiles herald-speaker and herald-controller from the repository's main module, and
// the lab's own program (the backends), into BinDir.
func (l *Lab) build(ctx context.Context) error {
	builds := []struct{ dir, pkg, out string }{
		{l.Root, "./speaker", "herald-speaker"},
		{l.Root, "./controller", "herald-controller"},
		{filepath.Join(l.Root, "e2etest"), "./cmd/lab", "herald-lab"},
	}
	if dir := os.Getenv(PrebuiltEnv); dir != "" {
		for _, b := range builds[:2] {
			data, err := os.ReadFile(filepath.Join(dir, b.out))
			if err != nil {
				return fmt.Errorf("%s: %w", PrebuiltEnv, err)
			}
			if err := os.WriteFile(filepath.Join(l.BinDir(), b.out), data, 0o755); err != nil {
				return err
			}
		}
		builds = builds[2:]
	}
	// Concurrently: each build spends most of its time linking or waiting.
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(l.BinDir(), b.out), b.pkg)
			cmd.Dir = b.dir
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Lab) assets() string {
	if a := os.Getenv("KUBEBUILDER_ASSETS"); a != "" {
		return a
	}
	return filepath.Join(l.Root, "bin")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startControlPlane runs etcd on loopback and kube-apiserver on the bridge address, where the
// node namespaces reach it, and writes the kubeconfig.
func (l *Lab) startControlPlane(ctx context.Context) error {
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(l.assets(), b)); err != nil {
			return fmt.Errorf("%s not found in %s: run `make tools`", b, l.assets())
		}
	}
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	if _, err := l.startProcess("etcd", procSpec{Args: []string{
		filepath.Join(l.assets(), "etcd"),
		"--name=hlab", "--data-dir=" + filepath.Join(l.Dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=hlab=" + peerURL, "--unsafe-no-fsync", "--log-level=warn",
	}}); err != nil {
		return err
	}
	err = Poll(ctx, 30*time.Second, func() (bool, error) {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("etcd did not become healthy: %w; the end of its log:\n%s", err, tail(l.LogPath("etcd"), 15))
	}

	pki := filepath.Join(l.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	saKey := filepath.Join(pki, "service-account.key")
	if err := writeRSAKey(saKey); err != nil {
		return err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	l.Token = hex.EncodeToString(tok)
	tokens := filepath.Join(pki, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(l.Token+`,lab-admin,lab-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(l.APIServer)
	if _, err := l.startProcess("kube-apiserver", procSpec{Args: []string{
		filepath.Join(l.assets(), "kube-apiserver"),
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + host, "--advertise-address=" + host, "--secure-port=" + strconv.Itoa(apiServerPort),
		// A self-signed serving certificate, made at start in cert-dir.
		"--cert-dir=" + filepath.Join(pki, "serving"),
		"--service-cluster-ip-range=" + l.serviceCIDRs(),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + saKey, "--service-account-signing-key-file=" + saKey,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
	}}); err != nil {
		return err
	}
	if err := l.writeKubeconfig(l.Kubeconfig(), ""); err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the lab's self-signed API server
	}}
	err = Poll(ctx, 90*time.Second, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+l.APIServer+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+l.Token)
		resp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not become ready: %w; the end of its log:\n%s", err, tail(l.LogPath("kube-apiserver"), 15))
	}
	return nil
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
}

// writeKubeconfig writes a kubeconfig at path: the administrator's, or, with impersonate set,
// one that acts as that user (the administrator may impersonate). The API server's certificate
// is the self-signed one it makes at start, which the lab has no CA for, so verification is
// skipped: the server is on a bridge that only the lab's namespaces reach.
func (l *Lab) writeKubeconfig(path, impersonate string) error {
	as := ""
	if impersonate != "" {
		as = "\n    as: " + impersonate
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: herald-lab
  cluster:
    server: https://%s
    insecure-skip-tls-verify: true
users:
- name: lab-admin
  user:
    token: %s%s
contexts:
- name: herald-lab
  context:
    cluster: herald-lab
    user: lab-admin
    namespace: default
current-context: herald-lab
`, l.APIServer, l.Token, as)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

func (l *Lab) startBackends(ctx context.Context) error {
	for _, n := range l.Nodes {
		if _, err := l.startProcess("backend-"+n.Name, procSpec{Namespace: n.Namespace, Args: []string{
			filepath.Join(l.BinDir(), "herald-lab"), "backend", "-name", n.Name, "-listen", fmt.Sprintf(":%d", BackendPort),
		}}); err != nil {
			return err
		}
	}
	for _, n := range l.Nodes {
		a := n.Addrs()[0]
		url := "http://" + netip.AddrPortFrom(a, BackendPort).String() + "/"
		if err := Poll(ctx, 10*time.Second, func() (bool, error) { return httpOK(url), nil }); err != nil {
			return fmt.Errorf("backend of %s at %s: %w; its log:\n%s", n.Name, url, err, tail(l.LogPath("backend-"+n.Name), 10))
		}
	}
	return nil
}

func httpOK(url string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (l *Lab) controlAddr() netip.Addr {
	if l.Has4() {
		return bridgeAddr4
	}
	return bridgeAddr6
}

func (l *Lab) startController(ctx context.Context) error {
	health := netip.AddrPortFrom(l.controlAddr(), 7473).String()
	if _, err := l.startProcess("herald-controller", procSpec{
		Env: []string{"KUBECONFIG=" + l.KubeconfigOf(ControllerServiceAccount)},
		Args: []string{
			filepath.Join(l.BinDir(), "herald-controller"),
			"--namespace=" + HeraldNamespace, "--leader-elect=false",
			// The chart's Secret; no webhook configuration: the API server could not reach the
			// webhook by the Service name its certificate is for.
			"--webhook-configuration-name=", "--webhook-secret-name=" + webhookSecretName,
			"--metrics-bind-address=0", "--health-probe-bind-address=" + health,
		},
	}); err != nil {
		return err
	}
	if err := Poll(ctx, 30*time.Second, func() (bool, error) { return httpOK("http://" + health + "/readyz"), nil }); err != nil {
		return fmt.Errorf("herald-controller not ready: %w; the end of its log:\n%s", err, tail(l.LogPath("herald-controller"), 15))
	}
	return nil
}

// memberAddr is the address a node's memberlist binds to: IPv4 when the segment has it.
func (n Node) memberAddr() netip.Addr { return n.Addrs()[0] }

func (l *Lab) startSpeakers(ctx context.Context) error {
	for _, n := range l.Nodes {
		var join []string
		for _, o := range l.Nodes {
			if o.Name != n.Name {
				join = append(join, netip.AddrPortFrom(o.memberAddr(), 7946).String())
			}
		}
		if _, err := l.startProcess("speaker-"+n.Name, procSpec{
			Namespace: n.Namespace,
			Env:       []string{"KUBECONFIG=" + l.KubeconfigOf(SpeakerServiceAccount)},
			Args: []string{
				filepath.Join(l.BinDir(), "herald-speaker"),
				"--node-name=" + n.Name, "--namespace=" + HeraldNamespace,
				"--memberlist-bind-address=" + n.memberAddr().String(),
				"--memberlist-advertise-address=" + n.memberAddr().String(),
				"--memberlist-join=" + strings.Join(join, ","),
				"--metrics-bind-address=0",
				"--health-probe-bind-address=" + netip.AddrPortFrom(n.memberAddr(), SpeakerHealthPort).String(),
			},
		}); err != nil {
			return err
		}
	}
	return l.WaitSpeakersReady(ctx)
}

// WaitSpeakersReady waits until every speaker answers /readyz.
func (l *Lab) WaitSpeakersReady(ctx context.Context) error {
	for _, n := range l.Nodes {
		url := "http://" + netip.AddrPortFrom(n.memberAddr(), SpeakerHealthPort).String() + "/readyz"
		if err := Poll(ctx, 30*time.Second, func() (bool, error) { return httpOK(url), nil }); err != nil {
			return fmt.Errorf("speaker on %s not ready: %w; the end of %s:\n%s", n.Name, err, l.LogPath("speaker-"+n.Name), tail(l.LogPath("speaker-"+n.Name), 15))
		}
	}
	return nil
}

// serviceCIDRs are testenv.ServiceCIDRs, the family of the API server's address first, as the
// API server requires.
func (l *Lab) serviceCIDRs() string {
	if l.Has4() {
		return testenv.ServiceCIDRs
	}
	v4, v6, _ := strings.Cut(testenv.ServiceCIDRs, ",")
	return v6 + "," + v4
}
