package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// The programs run in the lab with the rights the Helm chart gives them, not as administrators:
// the lab renders charts/herald (with bin/helm), creates its ServiceAccounts, roles and
// bindings and the webhook's (empty) certificate Secret, and hands each program a kubeconfig
// that impersonates its ServiceAccount. Every e2e test is then also a test of the chart's RBAC.

// Impersonated identities of the programs.
const (
	ControllerServiceAccount = "herald-controller"
	SpeakerServiceAccount    = "herald-speaker"
	// webhookSecretName is the name the chart gives the webhook's certificate Secret (and
	// scopes the controller's rights to).
	webhookSecretName = "herald-webhook-cert"
)

// chartKinds are the rendered objects the lab creates.
var chartKinds = map[string]bool{"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true}

// applyChartRBAC creates the chart's RBAC objects and webhook Secret, and writes the programs'
// kubeconfigs.
func (l *Lab) applyChartRBAC(ctx context.Context) error {
	helm := filepath.Join(l.assets(), "helm")
	if _, err := os.Stat(helm); err != nil {
		return fmt.Errorf("helm not found in %s: run `make tools`", l.assets())
	}
	out, err := exec.CommandContext(ctx, helm, "template", "herald", filepath.Join(l.Root, "charts", "herald"), "--namespace", HeraldNamespace).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("helm template: %w: %s", err, ee.Stderr)
		}
		return fmt.Errorf("helm template: %w", err)
	}
	c, err := l.Client()
	if err != nil {
		return err
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	n := 0
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("decode the chart: %w", err)
		}
		webhookSecret := u.GetKind() == "Secret" && u.GetName() == webhookSecretName
		if u.Object == nil || (!chartKinds[u.GetKind()] && !webhookSecret) {
			continue
		}
		if err := c.Create(ctx, &u); err != nil {
			return fmt.Errorf("create %s %s from the chart: %w", u.GetKind(), u.GetName(), err)
		}
		n++
	}
	if n == 0 {
		return errors.New("the chart rendered no RBAC objects")
	}
	for _, sa := range []string{ControllerServiceAccount, SpeakerServiceAccount} {
		if err := l.writeKubeconfig(l.KubeconfigOf(sa), "system:serviceaccount:"+HeraldNamespace+":"+sa); err != nil {
			return err
		}
	}
	return nil
}

// KubeconfigOf is the kubeconfig of a program's ServiceAccount (impersonated by the lab's
// administrator).
func (l *Lab) KubeconfigOf(serviceAccount string) string {
	return filepath.Join(l.Dir, "kubeconfig-"+strings.TrimPrefix(serviceAccount, "herald-"))
}

// RefusedRequests returns the lines of the controller's and the speakers' logs that report a
// request the API server refused for want of rights. Refusals in the first 30 seconds after a
// (re)start of the API server are left out: until its RBAC caches are filled it refuses what
// it would allow.
func (l *Lab) RefusedRequests() []string {
	var starts []time.Time
	if b, err := os.ReadFile(l.LogPath("kube-apiserver")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			rest, ok := strings.CutPrefix(line, "=== ")
			if !ok {
				continue
			}
			ts, _, _ := strings.Cut(rest, " ")
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				starts = append(starts, t)
			}
		}
	}
	afterStart := func(line string) bool {
		var entry struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			return false
		}
		for _, s := range starts {
			if !entry.Time.Before(s) && entry.Time.Sub(s) < 30*time.Second {
				return true
			}
		}
		return false
	}
	names := []string{"herald-controller"}
	for _, n := range l.Nodes {
		names = append(names, "speaker-"+n.Name)
	}
	var out []string
	for _, name := range names {
		b, err := os.ReadFile(l.LogPath(name))
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "forbidden") && strings.Contains(line, "cannot") && !afterStart(line) {
				out = append(out, name+": "+line)
			}
		}
	}
	return out
}
