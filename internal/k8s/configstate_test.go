package k8s

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/membership"
)

func testGauges() configGauges {
	return configGauges{loaded: prometheus.NewGauge(prometheus.GaugeOpts{Name: "loaded"}), stale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stale"})}
}

// configState reads a ConfigurationState of the fixture's install namespace; an empty result
// when it does not exist yet.
func (f *fixture) configState(name string) heraldv1beta1.ConfigurationState {
	var st heraldv1beta1.ConfigurationState
	_ = sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: name}, &st)
	return st
}

// waitConfigState waits until the named ConfigurationState has the result and its summary
// contains summary.
func (f *fixture) waitConfigState(name string, result heraldv1beta1.ConfigurationResult, summary string) heraldv1beta1.ConfigurationState {
	f.t.Helper()
	var st heraldv1beta1.ConfigurationState
	eventually(f.t, "ConfigurationState "+name+" is "+string(result), func() string {
		st = f.configState(name)
		if st.Status.Result != result || !strings.Contains(st.Status.Summary, summary) {
			return fmt.Sprintf("result %q, summary %q", st.Status.Result, st.Status.Summary)
		}
		return ""
	})
	return st
}

// installEvents lists "Reason: message" of the events on objects of the install namespace of
// that kind and name.
func (f *fixture) installEvents(kind, name string) string {
	var list corev1.EventList
	if err := sharedClient.List(context.Background(), &list, client.InNamespace(f.install)); err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " | ")
}

func waitGauges(t *testing.T, what string, g configGauges, loaded, stale float64) {
	t.Helper()
	eventually(t, what, func() string {
		if l, s := testutil.ToFloat64(g.loaded), testutil.ToFloat64(g.stale); l != loaded || s != stale {
			return fmt.Sprintf("config_loaded %v, config_stale %v; want %v, %v", l, s, loaded, stale)
		}
		return ""
	})
}

func TestInvalidConfigurationIsReportedWhileTheLastValidOneServes(t *testing.T) {
	f := newFixture(t)
	node := f.ns + "-n1"
	createNode(t, node, nil)
	f.pool("blue", nil, "192.0.2.0/28")
	if err := sharedClient.Create(context.Background(), &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: f.install},
		Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue", "later"}}}); err != nil {
		t.Fatal(err)
	}
	opts := f.options()
	opts.gauges = testGauges()
	runController(t, opts)
	speakerGauges := testGauges()
	l2 := runL2SpeakerWith(t, f, L2SpeakerOptions{Node: node, Membership: membership.NewStatic(node), gauges: speakerGauges})
	f.service("web")
	addr := f.addresses("web", 1)[0]
	f.endpoint("web", node)
	speakerState := "speaker-" + node
	eventually(t, "the speaker answers for web", func() string {
		if got := l2.serving(); got != "eth0="+addr.String() {
			return "serving " + got
		}
		return ""
	})
	for _, name := range []string{"controller", speakerState} {
		st := f.waitConfigState(name, heraldv1beta1.ConfigurationValid, "")
		if want := `L2Advertisement "all": spec.ipAddressPools names IPAddressPool "later", which does not exist yet`; !slices.Contains(st.Status.Pending, want) {
			t.Errorf("%s: pending %q, want %q", name, st.Status.Pending, want)
		}
		if c := meta.FindStatusCondition(st.Status.Conditions, ConditionValid); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s: condition %+v, want Valid=True", name, c)
		}
		if st.Status.LastValidTime == nil {
			t.Errorf("%s: no lastValidTime", name)
		}
	}
	if st := f.configState(speakerState); st.Spec.Component != heraldv1beta1.ComponentSpeaker || st.Spec.Node != node {
		t.Errorf("speaker state spec = %+v", st.Spec)
	}
	waitGauges(t, "controller metrics say loaded", opts.gauges, 1, 0)
	waitGauges(t, "speaker metrics say loaded", speakerGauges, 1, 0)

	// Written past the webhook: a pool overlapping blue.
	bad := f.pool("overlap", nil, "192.0.2.0/30")
	const problem = `IPAddressPool "overlap": spec.addresses[0]: 192.0.2.0/30 overlaps IPAddressPool "blue" spec.addresses[0] (192.0.2.0/28)`
	for _, name := range []string{"controller", speakerState} {
		st := f.waitConfigState(name, heraldv1beta1.ConfigurationInvalid, problem)
		c := meta.FindStatusCondition(st.Status.Conditions, ConditionValid)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "stays in use") {
			t.Errorf("%s: condition %+v, want Valid=False saying the last valid configuration stays in use", name, c)
		}
		eventually(t, "a warning event on "+name, func() string {
			if ev := f.installEvents("ConfigurationState", name); !strings.Contains(ev, ReasonConfigInvalid+": the configuration loaded at") || !strings.Contains(ev, problem) {
				return "events: " + ev
			}
			return ""
		})
	}
	waitGauges(t, "controller metrics say stale", opts.gauges, 0, 1)
	waitGauges(t, "speaker metrics say stale", speakerGauges, 0, 1)
	eventually(t, "the controller warns on the pool at fault", func() string {
		if ev := f.installEvents("IPAddressPool", "overlap"); !strings.Contains(ev, "spec.addresses[0]: 192.0.2.0/30 overlaps") {
			return "events: " + ev
		}
		return ""
	})
	// Nothing working is lost: web keeps its address and its announcement, and a new Service
	// gets an address from the last valid pools.
	f.service("web2")
	inPrefix(t, f.addresses("web2", 1), "192.0.2.0/28")
	if got := f.addresses("web", 1)[0]; got != addr {
		t.Errorf("web moved from %s to %s", addr, got)
	}
	if got := l2.serving(); got != "eth0="+addr.String() {
		t.Errorf("the speaker stopped answering for web: serving %q", got)
	}

	// Fixed: everything converges without a restart.
	if err := sharedClient.Delete(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"controller", speakerState} {
		f.waitConfigState(name, heraldv1beta1.ConfigurationValid, "")
		eventually(t, "a loaded event on "+name, func() string {
			if ev := f.installEvents("ConfigurationState", name); !strings.Contains(ev, ReasonConfigLoaded) {
				return "events: " + ev
			}
			return ""
		})
	}
	waitGauges(t, "controller metrics say loaded again", opts.gauges, 1, 0)
	waitGauges(t, "speaker metrics say loaded again", speakerGauges, 1, 0)
}

func TestProblemTextStaysWithinTheSchemaLimit(t *testing.T) {
	long := strings.Repeat("x", 300)
	text := problemText(manyProblems(40, long), nil)
	if len(text) > maxSummary {
		t.Fatalf("summary of %d characters, limit %d", len(text), maxSummary)
	}
	if !strings.HasPrefix(text, `IPAddressPool "p0": spec.addresses[0]: `+long) || !strings.HasSuffix(text, "more problems") {
		t.Errorf("summary %q... does not start with the first problem and end with a count", text[:80])
	}
	if got := problemText(manyProblems(1, strings.Repeat("y", 5000)), nil); len(got) > maxSummary {
		t.Errorf("one long problem gives %d characters", len(got))
	}
}

func manyProblems(n int, msg string) config.Errors {
	var es config.Errors
	for i := range n {
		es = append(es, &config.FieldError{Kind: "IPAddressPool", Name: fmt.Sprintf("p%d", i), Field: "spec.addresses[0]", Message: msg})
	}
	return es
}
