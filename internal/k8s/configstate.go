package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/metrics"
)

// Event reasons about the configuration, recorded on the program's ConfigurationState (and, by
// the controller, on the objects at fault).
const (
	ReasonConfigInvalid = "ConfigurationInvalid"
	ReasonConfigLoaded  = "ConfigurationLoaded"
	// ReasonAddressesStranded says a pool change took addresses Services held out of every pool.
	ReasonAddressesStranded = "AddressesStranded"
	// ConditionValid is the condition type of ConfigurationState.
	ConditionValid = "Valid"
)

// maxSummary is the schema's limit on ConfigurationState status.summary.
const maxSummary = 4096

// ConfigurationStateName is the name of the ConfigurationState a program instance writes:
// "controller", or "speaker-<node>".
func ConfigurationStateName(component heraldv1beta1.Component, node string) string {
	if component == heraldv1beta1.ComponentSpeaker {
		return boundedName("speaker-" + node)
	}
	return string(component)
}

// configGauges are the two configuration metrics; tests give each keeper its own.
type configGauges struct {
	loaded, stale prometheus.Gauge
}

// configKeeper parses the configuration, keeps the last valid one, and reports every outcome in
// the log, the metrics and (through its writer) the program's ConfigurationState and events.
//
// Concurrency: load and note may be called from any goroutine; the writer runs on its own.
type configKeeper struct {
	log    *slog.Logger
	gauges configGauges

	// signal wakes the writer; buffered 1, so that bursts coalesce.
	signal chan struct{}

	mu sync.Mutex
	// cfg is the last valid configuration, nil until one loads.
	cfg *config.Config
	// problems is the text of the current configuration's problems; "" when it is valid.
	problems  string
	loaded    bool // a parse has happened
	lastValid time.Time
	// events wait for the writer, which records them on the ConfigurationState.
	events []pendingEvent
}

type pendingEvent struct {
	kind, reason, message string
}

func newConfigKeeper(log *slog.Logger, gauges configGauges) *configKeeper {
	if gauges.loaded == nil {
		gauges = configGauges{loaded: metrics.ConfigLoaded, stale: metrics.ConfigStale}
	}
	return &configKeeper{log: log, gauges: gauges, signal: make(chan struct{}, 1)}
}

// loaded is the outcome of one load.
type loaded struct {
	// cfg is the configuration in use: the one just parsed when it is valid, else the last
	// valid one; nil if none ever was.
	cfg *config.Config
	// changed says whether cfg differs from the configuration in use before.
	changed bool
	// problems are those of the configuration in the cluster; newProblems says whether they
	// differ from the last load's.
	problems    config.Errors
	newProblems bool
}

// load parses the resources and keeps the result if it is valid.
func (k *configKeeper) load(res config.Resources) loaded {
	cfg, err := config.Parse(res)
	k.mu.Lock()
	defer k.mu.Unlock()
	first := !k.loaded
	k.loaded = true
	if err != nil {
		es, _ := config.AsErrors(err)
		text := problemText(es, err)
		out := loaded{cfg: k.cfg, problems: es, newProblems: text != k.problems}
		if out.newProblems {
			k.problems = text
			k.log.Error("configuration is invalid; keeping the last valid one", "problems", err.Error())
			k.queueLocked(corev1.EventTypeWarning, ReasonConfigInvalid, k.consequenceLocked()+": "+text)
		}
		k.gauges.loaded.Set(0)
		k.gauges.stale.Set(boolGauge(k.cfg != nil))
		return out
	}
	changed := k.cfg == nil || !reflect.DeepEqual(k.cfg, cfg)
	if changed || k.problems != "" {
		k.lastValid = time.Now()
		k.wakeLocked()
		if k.problems != "" || first {
			k.queueLocked(corev1.EventTypeNormal, ReasonConfigLoaded, "configuration loaded")
		}
	}
	if changed {
		k.cfg = cfg
	}
	k.problems = ""
	k.gauges.loaded.Set(1)
	k.gauges.stale.Set(0)
	return loaded{cfg: k.cfg, changed: changed}
}

// note records an event on the ConfigurationState, such as the Services a pool change moved.
func (k *configKeeper) note(kind, reason, message string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.queueLocked(kind, reason, message)
}

func (k *configKeeper) queueLocked(kind, reason, message string) {
	k.events = append(k.events, pendingEvent{kind, reason, message})
	k.wakeLocked()
}

func (k *configKeeper) wakeLocked() {
	select {
	case k.signal <- struct{}{}:
	default:
	}
}

func (k *configKeeper) consequenceLocked() string {
	if k.cfg == nil {
		return "no valid configuration has been loaded yet, nothing is served"
	}
	return fmt.Sprintf("the configuration loaded at %s stays in use", k.lastValid.UTC().Format(time.RFC3339))
}

// status is the ConfigurationState status that says what the keeper knows now, and the events
// still to record.
func (k *configKeeper) status(old heraldv1beta1.ConfigurationStateStatus) (heraldv1beta1.ConfigurationStateStatus, []pendingEvent) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := heraldv1beta1.ConfigurationStateStatus{Conditions: slices.Clone(old.Conditions)}
	if !k.lastValid.IsZero() {
		t := metav1.NewTime(k.lastValid.Truncate(time.Second))
		st.LastValidTime = &t
	}
	if k.cfg != nil {
		st.Pending = k.cfg.PendingText()
	}
	cond := metav1.Condition{Type: ConditionValid}
	switch {
	case !k.loaded:
		st.Result = heraldv1beta1.ConfigurationPending
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, "NotLoaded", "the configuration has not been read yet"
	case k.problems != "":
		st.Result = heraldv1beta1.ConfigurationInvalid
		st.Summary = k.problems
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "Invalid", k.consequenceLocked()
	default:
		st.Result = heraldv1beta1.ConfigurationValid
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Loaded", "the configuration is valid and in use"
		if n := len(st.Pending); n > 0 {
			cond.Message += fmt.Sprintf("; %d references wait for objects not created yet", n)
		}
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	events := k.events
	k.events = nil
	return st, events
}

// problemText is the summary of a rejected configuration: every problem, object and field first,
// within the schema's limit.
func problemText(es config.Errors, err error) string {
	if len(es) == 0 {
		return err.Error()
	}
	var b strings.Builder
	for i, e := range es {
		line := e.Error()
		if i > 0 {
			line = "; " + line
		}
		more := fmt.Sprintf("; and %d more problems", len(es)-i)
		if b.Len()+len(line)+len(more) > maxSummary {
			if i == 0 {
				return line[:maxSummary-len(more)] + more
			}
			b.WriteString(more)
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// configStateWriter keeps one ConfigurationState in line with a keeper, and records the keeper's
// events on it. It runs as a manager runnable, on the leader only in the controller: API
// outages delay the report, never the work.
type configStateWriter struct {
	keeper    *configKeeper
	client    client.Client
	reader    client.Reader
	recorder  record.EventRecorder
	namespace string
	spec      heraldv1beta1.ConfigurationStateSpec
	log       *slog.Logger
}

var _ manager.Runnable = (*configStateWriter)(nil)

func newConfigStateWriter(mgr manager.Manager, keeper *configKeeper, namespace string, spec heraldv1beta1.ConfigurationStateSpec, recorder record.EventRecorder, log *slog.Logger) *configStateWriter {
	return &configStateWriter{keeper: keeper, client: mgr.GetClient(), reader: mgr.GetAPIReader(), recorder: recorder,
		namespace: namespace, spec: spec, log: log}
}

// Start writes whenever the keeper signals, retrying failed writes with a growing delay.
func (w *configStateWriter) Start(ctx context.Context) error {
	var events []pendingEvent
	retry := time.Second
	for {
		var err error
		events, err = w.write(ctx, events)
		var wait <-chan time.Time
		if err != nil {
			w.log.Info("cannot write ConfigurationState yet; retrying", "error", err.Error(), "in", retry)
			wait = time.After(retry)
			retry = min(2*retry, 30*time.Second)
		} else {
			retry = time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.keeper.signal:
		case <-wait:
		}
	}
}

// write brings the object's status in line and records the events; it returns the events it
// could not record yet.
func (w *configStateWriter) write(ctx context.Context, carried []pendingEvent) ([]pendingEvent, error) {
	name := ConfigurationStateName(w.spec.Component, w.spec.Node)
	st := &heraldv1beta1.ConfigurationState{}
	err := w.reader.Get(ctx, types.NamespacedName{Namespace: w.namespace, Name: name}, st)
	if apierrors.IsNotFound(err) {
		st = &heraldv1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.namespace}, Spec: w.spec}
		if w.spec.Node != "" {
			st.Labels = map[string]string{LabelNode: w.spec.Node}
		}
		err = w.client.Create(ctx, st)
	}
	if err != nil {
		return carried, fmt.Errorf("ConfigurationState %s: %w", name, err)
	}
	want, events := w.keeper.status(st.Status)
	events = append(carried, events...)
	if !configStatusEqual(st.Status, want) {
		patched := st.DeepCopy()
		patched.Status = want
		if err := w.client.Status().Patch(ctx, patched, client.MergeFrom(st)); err != nil {
			return events, fmt.Errorf("write status of ConfigurationState %s: %w", name, err)
		}
		st = patched
	}
	for _, e := range events {
		w.recorder.Event(st, e.kind, e.reason, e.message)
	}
	return nil, nil
}

// configStatusEqual compares statuses ignoring the conditions' transition times.
func configStatusEqual(a, b heraldv1beta1.ConfigurationStateStatus) bool {
	if a.Result != b.Result || a.Summary != b.Summary || !slices.Equal(a.Pending, b.Pending) ||
		(a.LastValidTime == nil) != (b.LastValidTime == nil) || (a.LastValidTime != nil && !a.LastValidTime.Equal(b.LastValidTime)) ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}
