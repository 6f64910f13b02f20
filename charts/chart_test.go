package charts_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func TestChartLintsWithDefaultsAndEveryFeature(t *testing.T) {
	helm := tool(t, "helm")
	for _, args := range [][]string{nil, {"-f", allFeaturesValues}} {
		out := run(t, nil, helm, append([]string{"lint", "--strict", chartDir}, args...)...)
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v:\n%s", args, out)
		}
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"a misspelt key", "controler.replicas=1", "additional properties 'controler' not allowed"},
		{"an unknown failure policy", "webhook.failurePolicy=Sometimes", "/webhook/failurePolicy"},
		{"a duration without unit", "speaker.handoverDelay=500", "/speaker/handoverDelay"},
		{"replicas without leader election", "controller.leaderElection.enabled=false", "needs controller.leaderElection.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tool(t, "helm"), "template", "herald", chartDir, "--set", tc.set)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("helm template --set %s succeeded", tc.set)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("helm template --set %s: the error does not say %q:\n%s", tc.set, tc.want, out)
			}
		})
	}
}

// The chart's CRDs and RBAC rules are copies of what controller-gen generates: `make verify`
// refuses a drift, and so does this test.
func TestChartFilesAreTheGeneratedOnes(t *testing.T) {
	generated, err := filepath.Glob(filepath.Join(repoRoot, "config/crd/bases/*.yaml"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("no CRD in config/crd/bases: %v", err)
	}
	inChart, err := filepath.Glob(filepath.Join(repoRoot, chartDir, "crds/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if diff := cmp.Diff(base(generated), base(inChart)); diff != "" {
		t.Errorf("CRD files (-config/crd/bases +charts/herald/crds), run `make chart-sync`:\n%s", diff)
	}
	pairs := map[string]string{
		"config/rbac/controller/role.yaml": chartDir + "/rbac/controller.yaml",
		"config/rbac/speaker/role.yaml":    chartDir + "/rbac/speaker.yaml",
	}
	for _, p := range generated {
		pairs[filepath.Join("config/crd/bases", filepath.Base(p))] = filepath.Join(chartDir, "crds", filepath.Base(p))
	}
	for src, dst := range pairs {
		a, errA := os.ReadFile(filepath.Join(repoRoot, src))
		b, errB := os.ReadFile(filepath.Join(repoRoot, dst))
		if errA != nil || errB != nil {
			t.Errorf("read %s and %s: %v %v", src, dst, errA, errB)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: run `make chart-sync`", dst, src)
		}
	}
}

// rulesOf reads the rules of the Role or ClusterRole named name from rendered objects.
func rulesOf(t *testing.T, manifest, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, decode(t, manifest), kind, name).Object, &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// The rendered roles hold the generated rules; the only rules the chart adds are the
// controller's on its webhook configuration and certificate Secret, each limited to one name.
func TestChartRolesAreTheGeneratedRulesPlusNamedWebhookRules(t *testing.T) {
	generated := map[string]string{}
	for _, c := range []string{"controller", "speaker"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "config/rbac", c, "role.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		generated[c] = string(b)
	}
	for _, webhook := range []bool{true, false} {
		manifest := render(t, "--set", "webhook.enabled="+map[bool]string{true: "true", false: "false"}[webhook])
		for _, c := range []string{"controller", "speaker"} {
			for _, kind := range []string{"ClusterRole", "Role"} {
				got := rulesOf(t, manifest, kind, "herald-"+c)
				want := rulesOf(t, generated[c], kind, "herald-"+c)
				var added []rbacv1.PolicyRule
				for _, r := range got {
					if !slices.ContainsFunc(want, func(w rbacv1.PolicyRule) bool { return cmp.Equal(w, r) }) {
						added = append(added, r)
					}
				}
				if len(got)-len(added) != len(want) {
					t.Errorf("webhook=%v %s herald-%s lacks generated rules: got %v, want all of %v", webhook, kind, c, got, want)
				}
				for _, r := range added {
					named := len(r.ResourceNames) == 1 && (slices.Equal(r.Resources, []string{"secrets"}) || slices.Equal(r.Resources, []string{"validatingwebhookconfigurations"}))
					if c != "controller" || !webhook || !named {
						t.Errorf("webhook=%v %s herald-%s: rule %+v is not in config/rbac", webhook, kind, c, r)
					}
				}
				if c == "controller" && webhook && len(added) != 1 {
					t.Errorf("%s herald-controller adds %d rules, want the one webhook rule: %+v", kind, len(added), added)
				}
			}
		}
	}
}

// flagArgs returns the --flags of the first container of a rendered workload.
func flagArgs(t *testing.T, manifest, kind, name string) []string {
	t.Helper()
	containers, _, err := unstructured.NestedSlice(find(t, decode(t, manifest), kind, name).Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) == 0 {
		t.Fatalf("%s %s has no containers: %v", kind, name, err)
	}
	var out []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		flagName, _, _ := strings.Cut(strings.TrimPrefix(a.(string), "--"), "=")
		out = append(out, flagName)
	}
	return out
}

func TestChartPassesOnlyFlagsTheProgramsHave(t *testing.T) {
	for _, manifest := range []string{render(t), render(t, "-f", allFeaturesValues)} {
		for _, w := range []struct{ pkg, kind, name string }{
			{"controller", "Deployment", "herald-controller"},
			{"speaker", "DaemonSet", "herald-speaker"},
		} {
			help, _ := exec.Command(programs.Build(t, w.pkg), "--help").CombinedOutput()
			for _, f := range flagArgs(t, manifest, w.kind, w.name) {
				has := strings.Contains(string(help), "\n  -"+f+" ") || strings.Contains(string(help), "\n  -"+f+"\n")
				if !has {
					t.Errorf("the %s passes --%s, which herald-%s does not have:\n%s", w.kind, f, w.pkg, help)
				}
			}
		}
	}
}

// exportedMetrics collects the metric names the Go code of internal/ declares: NewDesc names and
// the Namespace/Subsystem/Name of metric options.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	descRe := regexp.MustCompile(`prometheus\.NewDesc\(\s*"(herald_[a-z0-9_]+)"`)
	optsRe := regexp.MustCompile(`(?s)prometheus\.(?:Counter|Gauge|Histogram|Summary)Opts\{(.*?)\}`)
	subRe := regexp.MustCompile(`Subsystem:\s*"([a-z0-9_]+)"`)
	nameRe := regexp.MustCompile(`Name:\s*"([a-z0-9_]+)"`)
	out := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(repoRoot, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range descRe.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
		for _, m := range optsRe.FindAllSubmatch(src, -1) {
			name := nameRe.FindSubmatch(m[1])
			if name == nil {
				continue
			}
			full := "herald_"
			if sub := subRe.FindSubmatch(m[1]); sub != nil {
				full += string(sub[1]) + "_"
			}
			out[full+string(name[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The alerts and the dashboard query only metrics the programs export.
func TestAlertsAndDashboardUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for _, m := range []string{"herald_pool_addresses_in_use", "herald_bgp_session_up", "herald_layer2_responses_sent_total"} {
		if !exported[m] {
			t.Fatalf("the scan of internal/ misses %s, which the code exports; found %v", m, exported)
		}
	}
	manifest := render(t, "-f", allFeaturesValues)
	rule := find(t, decode(t, manifest), "PrometheusRule", "herald")
	ruleJSON, err := json.Marshal(rule.Object)
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "dashboards/herald.json"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(dashboard, &parsed); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	inConfigMap := find(t, decode(t, manifest), "ConfigMap", "herald-dashboard").Object["data"].(map[string]any)["herald.json"]
	if strings.TrimSpace(inConfigMap.(string)) != strings.TrimSpace(string(dashboard)) {
		t.Error("the dashboard ConfigMap does not hold dashboards/herald.json")
	}
	metricRe := regexp.MustCompile(`\bherald_[a-z0-9_]+\b`)
	for name, text := range map[string][]byte{"PrometheusRule": ruleJSON, "dashboard": dashboard} {
		used := map[string]bool{}
		for _, m := range metricRe.FindAll(text, -1) {
			used[string(m)] = true
		}
		if len(used) == 0 {
			t.Errorf("the %s queries no Herald metric", name)
		}
		for m := range used {
			if !exported[m] {
				t.Errorf("the %s uses %s, which no program exports", name, m)
			}
		}
	}
	for _, alert := range []string{"HeraldAddressPoolNearlyExhausted", "HeraldBGPSessionDown", "HeraldConfigStale"} {
		if !bytes.Contains(ruleJSON, []byte(`"alert":"`+alert+`"`)) {
			t.Errorf("the PrometheusRule has no alert %s", alert)
		}
	}
}

// leafKeys lists the dotted paths of values.yaml down to scalars, lists and empty maps.
func leafKeys(prefix string, v any, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 || strings.HasSuffix(prefix, "resources") || strings.HasSuffix(prefix, "SecurityContext") ||
		strings.HasSuffix(prefix, "securityContext") || strings.HasSuffix(prefix, "Selector") || strings.HasSuffix(prefix, "spec") ||
		strings.HasSuffix(prefix, "updateStrategy") || strings.HasSuffix(prefix, "labels") {
		*out = append(*out, prefix)
		return
	}
	for k, sub := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		leafKeys(p, sub, out)
	}
}

func TestChartReadmeListsEveryValue(t *testing.T) {
	values, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(values, &v); err != nil {
		t.Fatal(err)
	}
	var keys []string
	leafKeys("", v, &keys)
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("charts/herald/README.md does not list the value `%s`", k)
		}
	}
}
