package charts_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/internal/testenv"
)

// ensureNamespace creates a namespace with labels unless it exists.
func ensureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := admin.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// assertAllAccepted checks that kubectl's output names every object as accepted by a server
// dry run.
func assertAllAccepted(t *testing.T, out string, objs []*unstructured.Unstructured) {
	t.Helper()
	accepted := strings.Count(out, "(server dry run)")
	if accepted != len(objs) {
		t.Errorf("kubectl accepted %d objects, the manifests hold %d:\n%s", accepted, len(objs), out)
	}
	for _, o := range objs {
		if !strings.Contains(out, "/"+o.GetName()+" ") {
			t.Errorf("kubectl does not mention %s %s:\n%s", o.GetKind(), o.GetName(), out)
		}
	}
}

// The API server, with Herald's CRDs and the Prometheus Operator's, accepts every object the
// chart makes, with its defaults and with every optional feature on, and every object of
// config/default.
func TestManifestsPassServerDryRun(t *testing.T) {
	ensureNamespace(t, installNamespace, nil)
	kubectl := tool(t, "kubectl")
	kubeconfig := testenv.WriteKubeconfig(t, env.Config)
	for _, tc := range []struct {
		name      string
		args      []string
		wantKinds []string
	}{
		{"chart defaults", nil, []string{"Deployment", "DaemonSet", "ValidatingWebhookConfiguration", "Role", "ClusterRole"}},
		{"chart with every feature", []string{"-f", allFeaturesValues}, []string{
			"ServiceMonitor", "PrometheusRule", "ConfigMap", "IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest := render(t, tc.args...)
			objs := decode(t, manifest)
			kinds := map[string]bool{}
			for _, o := range objs {
				kinds[o.GetKind()] = true
			}
			for _, k := range tc.wantKinds {
				if !kinds[k] {
					t.Errorf("the chart renders no %s", k)
				}
			}
			out := run(t, []byte(manifest), kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", "-")
			assertAllAccepted(t, out, objs)
		})
	}
	t.Run("config/default", func(t *testing.T) {
		objs := decode(t, run(t, nil, kubectl, "kustomize", "config/default"))
		for _, o := range objs {
			if o.GetLabels()["app.kubernetes.io/managed-by"] == "Helm" {
				t.Errorf("%s %s claims to be managed by Helm", o.GetKind(), o.GetName())
			}
		}
		out := run(t, nil, kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-k", "config/default")
		assertAllAccepted(t, out, objs)
	})
}

// podOf turns a rendered workload's pod template into a Pod in namespace.
func podOf(t *testing.T, workload *unstructured.Unstructured, namespace string) *corev1.Pod {
	t.Helper()
	tmpl, _, err := unstructured.NestedMap(workload.Object, "spec", "template")
	if err != nil {
		t.Fatal(err)
	}
	var spec corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &spec); err != nil {
		t.Fatal(err)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: workload.GetName(), Namespace: namespace, Labels: spec.Labels}, Spec: spec.Spec}
}

// The controller meets the "restricted" Pod Security Standard. The speaker needs "privileged",
// and only for hostNetwork (with its host ports) and the NET_RAW and NET_ADMIN capabilities:
// the reasons the baseline level gives are those and no others.
func TestPodsMeetPodSecurityStandards(t *testing.T) {
	ctx := context.Background()
	objs := decode(t, render(t))
	create := func(level string, w *unstructured.Unstructured) error {
		ns := "pss-" + level
		ensureNamespace(t, ns, map[string]string{"pod-security.kubernetes.io/enforce": level})
		return admin.Create(ctx, podOf(t, w, ns), client.DryRunAll)
	}
	controller, speaker := find(t, objs, "Deployment", "herald-controller"), find(t, objs, "DaemonSet", "herald-speaker")
	if err := create("restricted", controller); err != nil {
		t.Errorf("the controller pod is refused at the restricted level: %v", err)
	}
	if err := create("privileged", speaker); err != nil {
		t.Errorf("the speaker pod is refused at the privileged level: %v", err)
	}
	err := create("baseline", speaker)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the speaker pod at the baseline level: got %v, want refused for hostNetwork and capabilities", err)
	}
	msg := err.Error()
	_, reasons, _ := strings.Cut(msg, `violates PodSecurity "baseline:latest": `)
	for _, r := range splitViolations(reasons) {
		switch {
		case r == "host namespaces (hostNetwork=true)", strings.HasPrefix(r, "hostPort "):
		case strings.HasPrefix(r, "non-default capabilities "):
			caps := regexp.MustCompile(`"([A-Z_]+)"`).FindAllStringSubmatch(r, -1)
			var names []string
			for _, c := range caps {
				names = append(names, c[1])
			}
			if !slices.Equal(names, []string{"NET_ADMIN", "NET_RAW"}) {
				t.Errorf("the speaker adds capabilities %v, want exactly NET_ADMIN and NET_RAW", names)
			}
		default:
			t.Errorf("the speaker needs more than hostNetwork, NET_RAW and NET_ADMIN: %q\n%s", r, msg)
		}
	}
	if !strings.Contains(msg, "hostNetwork=true") || !strings.Contains(msg, "non-default capabilities") {
		t.Errorf("the refusal does not name hostNetwork and the capabilities: %s", msg)
	}
}

// splitViolations splits PodSecurity's "a (x), b (y, z)" list at the top-level commas.
func splitViolations(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	if len(out) == 0 {
		return []string{fmt.Sprintf("(no reason in %q)", s)}
	}
	return out
}
