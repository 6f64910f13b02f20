package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Builder compiles the Herald programs (./controller, ./speaker) for tests that run the real
// binaries, each once per test process.
type Builder struct {
	// Dir receives the binaries; the caller removes it.
	Dir string
	// Env is added to the environment of `go build`, such as CGO_ENABLED=0.
	Env []string

	mu    sync.Mutex
	built map[string]string
}

// Build compiles the package directory pkg of the repository (such as "speaker") and returns
// the binary's path.
func (b *Builder) Build(t testing.TB, pkg string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if bin, ok := b.built[pkg]; ok {
		return bin
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(b.Dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./"+pkg)
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	if b.built == nil {
		b.built = map[string]string{}
	}
	b.built[pkg] = out
	return out
}

// WriteKubeconfig writes a kubeconfig for cfg, impersonation included, and returns its path.
func WriteKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
		Impersonate: cfg.Impersonate.UserName, ImpersonateGroups: cfg.Impersonate.Groups,
	}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// FreePort returns a loopback address with a TCP port free at the time of the call.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// SyncBuffer is a goroutine-safe log sink for a child process.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Process is a program started by StartProcess; it is killed when the test ends, and its logs
// are shown if the test failed.
type Process struct {
	Cmd  *exec.Cmd
	Logs *SyncBuffer

	exited chan struct{}
	err    error
}

// StartProcess starts bin with args, its output in Logs.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), Logs: &SyncBuffer{}, exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Logs, p.Logs
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s (pid %d) logs:\n%s", filepath.Base(bin), p.Cmd.Process.Pid, p.Logs)
		}
	})
	return p
}

// Exited is closed when the process has ended; Err then says how.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the result of the process's Wait, once Exited is closed.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// WaitHTTP polls url until it answers 200 with a body containing want, or fails the test after
// a minute, showing the last answer and logs.
func WaitHTTP(t testing.TB, url, want string, logs fmt.Stringer) {
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
