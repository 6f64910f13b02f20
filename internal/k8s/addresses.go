package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/allocator"
	"github.com/heraldlb/herald/internal/config"
)

// Event reasons herald-controller records on Services.
const (
	ReasonAddressAssigned = "AddressAssigned"
	ReasonAddressFailed   = "AddressAssignmentFailed"
	ReasonAddressReleased = "AddressReleased"
	ReasonAddressMoved    = "AddressMoved"
)

// AddressControllerOptions configure the address controller.
type AddressControllerOptions struct {
	// Namespace holds Herald's configuration objects.
	Namespace string
	// LoadBalancerClass is the class served; "" serves Services without a class.
	LoadBalancerClass string
	// Workers is the number of Services reconciled at once; the allocator itself is serialized,
	// the API writes are not.
	Workers int
	// Logger receives what the controller does.
	Logger *slog.Logger

	// skipNameValidation lets tests run several controllers in one process.
	skipNameValidation bool
	// gauges, when set, replace the process-wide configuration metrics (tests).
	gauges configGauges
}

// AddressController gives LoadBalancer Services addresses from the pools: it reconciles
// Services (and re-checks them when pools or namespaces change), writes status, the
// allocated-from-pool annotation and events, and keeps pool statistics for the status writer.
//
// Concurrency: Reconcile runs on several workers; mu guards the allocator, the configuration
// and the bookkeeping maps. API calls are made without holding mu.
type AddressController struct {
	client   client.Client
	reader   client.Reader
	recorder record.EventRecorder
	opts     AddressControllerOptions
	log      *slog.Logger

	// requeue carries "re-check every Service" after a configuration change.
	requeue chan event.GenericEvent

	mu       sync.Mutex
	started  bool
	restored bool
	cfg      *config.Config
	keeper   *configKeeper
	alloc    *allocator.Allocator
	// failure remembers the last failure reported per Service so that a Service stuck on the
	// same problem gets one event, not one per reconcile.
	failure map[string]string
	// inFlight remembers, per Service, a write the informer cache has not shown yet.
	inFlight map[string]writtenState
	stats    *poolStats
}

// NewAddressController builds the controller; SetupWithManager registers it.
func NewAddressController(mgr manager.Manager, opts AddressControllerOptions) *AddressController {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	alloc, _ := allocator.New(nil) // no pools: cannot fail
	return &AddressController{
		client:   mgr.GetClient(),
		reader:   mgr.GetCache(),
		recorder: mgr.GetEventRecorderFor("herald-controller"),
		opts:     opts,
		log:      opts.Logger,
		requeue:  make(chan event.GenericEvent, 1024),
		alloc:    alloc,
		keeper:   newConfigKeeper(opts.Logger, opts.gauges),
		failure:  map[string]string{},
		inFlight: map[string]writtenState{},
		stats:    newPoolStats(),
	}
}

// SetupWithManager registers the Service and configuration reconcilers and the pool status
// writer.
func (c *AddressController) SetupWithManager(mgr manager.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("services").
		For(&corev1.Service{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(c.servicesInNamespace)).
		WatchesRawSource(source.Channel(c.requeue, handler.EnqueueRequestsFromMapFunc(c.allServices))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.opts.Workers, SkipNameValidation: &c.opts.skipNameValidation}).
		Complete(reconcile.Func(c.reconcileService))
	if err != nil {
		return fmt.Errorf("set up service reconciler: %w", err)
	}
	// Every configuration change enqueues the one key: the whole configuration is parsed.
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "configuration"}}}
	})
	// The pool status this controller writes must not trigger a re-check of every Service.
	specOnly := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	// One load at start, so that an empty configuration is reported too.
	kick := make(chan event.GenericEvent, 1)
	kick <- event.GenericEvent{Object: &heraldv1beta1.IPAddressPool{}}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("configuration").
		WatchesRawSource(source.Channel(kick, one)).
		Watches(&heraldv1beta1.IPAddressPool{}, one, specOnly).
		Watches(&heraldv1beta1.L2Advertisement{}, one, specOnly).
		Watches(&heraldv1beta1.BGPAdvertisement{}, one, specOnly).
		Watches(&heraldv1beta1.BGPPeer{}, one, specOnly).
		Watches(&heraldv1beta1.BFDProfile{}, one, specOnly).
		Watches(&heraldv1beta1.Community{}, one, specOnly).
		WithOptions(controller.Options{SkipNameValidation: &c.opts.skipNameValidation}).
		Complete(reconcile.Func(c.reconcileConfig))
	if err != nil {
		return fmt.Errorf("set up configuration reconciler: %w", err)
	}
	if err := mgr.Add(newConfigStateWriter(mgr, c.keeper, c.opts.Namespace,
		heraldv1beta1.ConfigurationStateSpec{Component: heraldv1beta1.ComponentController}, c.recorder, c.log)); err != nil {
		return fmt.Errorf("add ConfigurationState writer: %w", err)
	}
	return mgr.Add(&poolStatusWriter{c: c})
}

// start loads the configuration and restores every existing assignment, once, before any
// Service is reconciled: no Service changes address because the controller restarted.
func (c *AddressController) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		if _, err := c.loadConfigLocked(ctx); err != nil {
			return err
		}
		c.started = true
	}
	return c.restoreOnceLocked(ctx)
}

// restoreOnceLocked restores the existing assignments the first time a valid configuration is
// there: if the controller starts with an invalid one, nothing is touched until it is fixed,
// and then the addresses Services hold are restored before any is reassigned.
func (c *AddressController) restoreOnceLocked(ctx context.Context) error {
	if c.cfg == nil || c.restored {
		return nil
	}
	if err := c.restoreLocked(ctx); err != nil {
		return err
	}
	c.restored = true
	return nil
}

// restoreLocked re-records the addresses Services hold, oldest Service first, so that when two
// Services claim one address (status written by hand), the older keeps it.
func (c *AddressController) restoreLocked(ctx context.Context) error {
	var list corev1.ServiceList
	if err := c.reader.List(ctx, &list); err != nil {
		return fmt.Errorf("list services to restore assignments: %w", err)
	}
	svcs := make([]*corev1.Service, 0, len(list.Items))
	for i := range list.Items {
		svc := &list.Items[i]
		if serves(svc, c.opts.LoadBalancerClass) && len(ingressAddresses(svc)) > 0 {
			svcs = append(svcs, svc)
		}
	}
	sort.Slice(svcs, func(i, j int) bool {
		ti, tj := svcs[i].CreationTimestamp, svcs[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return serviceKey(svcs[i].Namespace, svcs[i].Name) < serviceKey(svcs[j].Namespace, svcs[j].Name)
	})
	nsLabels := map[string]labels.Set{}
	restored := 0
	for _, svc := range svcs {
		ls, ok := nsLabels[svc.Namespace]
		if !ok {
			ls = c.namespaceLabels(ctx, svc.Namespace)
			nsLabels[svc.Namespace] = ls
		}
		req, err := serviceRequest(svc, c.cfg, ls)
		if err != nil {
			continue // reported when the Service is reconciled
		}
		if _, err := c.alloc.Restore(req.Key, req, ingressAddresses(svc)); err != nil {
			c.log.Info("existing address not restored; the Service will get a valid one", "service", req.Key, "reason", err.Error())
			continue
		}
		restored++
	}
	c.stats.markAll()
	c.log.Info("restored existing assignments", "services", restored)
	return nil
}

func (c *AddressController) namespaceLabels(ctx context.Context, name string) labels.Set {
	var ns corev1.Namespace
	if err := c.reader.Get(ctx, types.NamespacedName{Name: name}, &ns); err != nil {
		return nil
	}
	return labels.Set(ns.Labels)
}

// reconcileConfig reloads the configuration when a pool changes.
func (c *AddressController) reconcileConfig(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	if err := c.start(ctx); err != nil {
		return reconcile.Result{}, err
	}
	c.mu.Lock()
	changed, err := c.loadConfigLocked(ctx)
	if err == nil {
		err = c.restoreOnceLocked(ctx)
	}
	c.mu.Unlock()
	if err != nil {
		return reconcile.Result{}, err
	}
	if changed {
		select {
		case c.requeue <- event.GenericEvent{Object: &corev1.Service{}}:
		default: // a re-check of every Service is already queued
		}
	}
	return reconcile.Result{}, nil
}

// loadConfigLocked parses the configuration in the cache. An invalid configuration is reported
// and the last valid one kept. It returns whether the pools in use changed.
func (c *AddressController) loadConfigLocked(ctx context.Context) (bool, error) {
	res, err := readResources(ctx, c.reader, c.opts.Namespace)
	if err != nil {
		return false, fmt.Errorf("read the configuration: %w", err)
	}
	l := c.keeper.load(res)
	if l.newProblems {
		c.reportConfigErrors(res, l.problems)
	}
	if !l.changed {
		return false, nil
	}
	cfg := l.cfg
	if c.cfg != nil && reflect.DeepEqual(c.cfg.Pools, cfg.Pools) {
		c.cfg = cfg
		return false, nil // only advertisements, peers or labels changed: nothing to re-check
	}
	var ap []allocator.Pool
	for _, p := range cfg.Pools {
		ap = append(ap, allocator.Pool{Name: p.Name, Ranges: p.Ranges, AutoAssign: p.AutoAssign, AvoidBuggyIPs: p.AvoidBuggyIPs, Priority: p.Priority})
	}
	moved, err := c.alloc.SetPools(ap)
	if err != nil {
		// config.Parse checks what SetPools checks; reaching this is a bug, but keep working.
		c.log.Error("pools rejected by the allocator; keeping the previous ones", "error", err.Error())
		return false, nil
	}
	for _, key := range moved {
		c.log.Info("address no longer valid after a pool change; reassigning", "service", key)
	}
	if len(moved) > 0 {
		c.keeper.note(corev1.EventTypeWarning, ReasonAddressesStranded, strandedMessage(moved))
	}
	c.cfg = cfg
	c.stats.setPools(cfg.Pools)
	return true, nil
}

// strandedMessage names the Services a pool change took addresses from, the first few of them.
func strandedMessage(keys []string) string {
	const shown = 10
	sorted := slices.Sorted(slices.Values(keys))
	msg := fmt.Sprintf("the pools no longer hold the addresses of %d Services, which get new ones: %s", len(keys), strings.Join(sorted[:min(shown, len(sorted))], ", "))
	if len(sorted) > shown {
		msg += fmt.Sprintf(" and %d more", len(sorted)-shown)
	}
	return msg
}

// reportConfigErrors records a Warning event on each object named in the problems.
func (c *AddressController) reportConfigErrors(res config.Resources, es config.Errors) {
	for _, obj := range res.Objects() {
		var msgs []string
		for _, e := range es {
			if e.Kind == config.KindOf(obj) && e.Name == obj.GetName() {
				msgs = append(msgs, e.Field+": "+e.Message)
			}
		}
		if len(msgs) > 0 {
			c.recorder.Event(obj, corev1.EventTypeWarning, ReasonConfigInvalid,
				"configuration rejected, the last valid one stays in use: "+strings.Join(msgs, "; "))
		}
	}
}

func (c *AddressController) servicesInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var list corev1.ServiceList
	if err := c.reader.List(ctx, &list, client.InNamespace(obj.GetName())); err != nil {
		return nil
	}
	return c.servedRequests(list.Items)
}

func (c *AddressController) allServices(ctx context.Context, _ client.Object) []reconcile.Request {
	var list corev1.ServiceList
	if err := c.reader.List(ctx, &list); err != nil {
		return nil
	}
	return c.servedRequests(list.Items)
}

func (c *AddressController) servedRequests(svcs []corev1.Service) []reconcile.Request {
	var out []reconcile.Request
	for i := range svcs {
		svc := &svcs[i]
		if serves(svc, c.opts.LoadBalancerClass) || (svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Annotations[AnnotationAllocatedFromPool] != "") {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}})
		}
	}
	return out
}

// reconcileService brings one Service's addresses, status, annotation and events in line.
func (c *AddressController) reconcileService(ctx context.Context, r reconcile.Request) (reconcile.Result, error) {
	if err := c.start(ctx); err != nil {
		return reconcile.Result{}, err
	}
	key := serviceKey(r.Namespace, r.Name)
	svc := &corev1.Service{}
	if err := c.reader.Get(ctx, r.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			c.release(key)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !serves(svc, c.opts.LoadBalancerClass) {
		return reconcile.Result{}, c.clearNotServed(ctx, svc, key)
	}

	c.mu.Lock()
	cfg := c.cfg
	c.mu.Unlock()
	if cfg == nil {
		// No valid configuration has ever loaded: leave every Service as it is.
		return reconcile.Result{}, nil
	}
	req, reqErr := serviceRequest(svc, cfg, c.namespaceLabels(ctx, svc.Namespace))

	c.mu.Lock()
	before, had := c.alloc.Lookup(key)
	var asg allocator.Assignment
	err := reqErr
	if err == nil {
		asg, err = c.alloc.Assign(req)
	}
	if err != nil {
		c.alloc.Release(key)
	}
	c.stats.mark(before.Pool, asg.Pool)
	report := err != nil && c.failure[key] != err.Error()
	if err != nil {
		c.failure[key] = err.Error()
	} else {
		delete(c.failure, key)
	}
	c.mu.Unlock()

	if err != nil {
		// Terminal for this Service until it, a pool or its namespace changes: the watches
		// bring it back, so no retry.
		if report {
			c.recorder.Event(svc, corev1.EventTypeWarning, ReasonAddressFailed, "no address assigned: "+err.Error())
		}
		if len(svc.Status.LoadBalancer.Ingress) > 0 || svc.Annotations[AnnotationAllocatedFromPool] != "" {
			if werr := c.writeService(ctx, svc, nil, ""); werr != nil {
				return reconcile.Result{}, werr
			}
			if had {
				c.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonAddressReleased, "address %s released", joinAddrs(before.Addresses))
			}
		}
		return reconcile.Result{}, nil
	}

	if werr := c.writeService(ctx, svc, asg.Addresses, asg.Pool); werr != nil {
		return reconcile.Result{}, werr
	}
	// What the Service had: the allocator's record, or, when a pool change or a restart dropped
	// it, what its status and annotation said.
	prevAddrs, prevPool := before.Addresses, before.Pool
	if !had {
		prevAddrs, prevPool = ingressAddresses(svc), svc.Annotations[AnnotationAllocatedFromPool]
	}
	switch {
	case slices.Equal(prevAddrs, asg.Addresses):
		// Unchanged, or restored: nothing new to tell.
	case len(prevAddrs) == 0:
		c.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonAddressAssigned, "assigned %s from pool %s", joinAddrs(asg.Addresses), asg.Pool)
	default:
		c.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonAddressMoved, "address changed from %s (pool %s) to %s (pool %s)",
			joinAddrs(prevAddrs), prevPool, joinAddrs(asg.Addresses), asg.Pool)
	}
	return reconcile.Result{}, nil
}

// clearNotServed releases a Service Herald no longer serves (its type changed away from
// LoadBalancer) and removes what Herald wrote on it. Services of other classes that Herald
// never wrote are not touched.
func (c *AddressController) clearNotServed(ctx context.Context, svc *corev1.Service, key string) error {
	c.mu.Lock()
	before, had := c.alloc.Lookup(key)
	c.mu.Unlock()
	c.release(key)
	// A LoadBalancer Service of another class belongs to another controller, even if it
	// carries the annotation (a Herald of another class writes it too): never touch it.
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Annotations[AnnotationAllocatedFromPool] == "" {
		return nil
	}
	if err := c.writeService(ctx, svc, nil, ""); err != nil {
		return err
	}
	if had {
		c.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonAddressReleased, "address %s released: the Service is no longer of type LoadBalancer", joinAddrs(before.Addresses))
	}
	return nil
}

func (c *AddressController) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.alloc.Lookup(key); ok {
		c.stats.mark(a.Pool, "")
	}
	c.alloc.Release(key)
	delete(c.failure, key)
	delete(c.inFlight, key)
}

// writeService makes the Service's status and annotation say addrs and pool, with at most one
// status write and one metadata patch, each only when something differs. A write whose result
// the cache does not show yet is not repeated: the watch event of that write brings the
// Service back, and then the cache shows it.
func (c *AddressController) writeService(ctx context.Context, svc *corev1.Service, addrs []netip.Addr, pool string) error {
	key := serviceKey(svc.Namespace, svc.Name)
	want := desiredIngress(addrs)
	statusOK := ingressEqual(svc.Status.LoadBalancer.Ingress, want)
	annotationOK := svc.Annotations[AnnotationAllocatedFromPool] == pool
	c.mu.Lock()
	w, inFlight := c.inFlight[key]
	if statusOK && annotationOK {
		delete(c.inFlight, key)
	}
	c.mu.Unlock()
	if statusOK && annotationOK {
		return nil
	}
	if inFlight && w.pool == pool && slices.Equal(w.addrs, addrs) {
		return nil
	}
	if !statusOK {
		patched := svc.DeepCopy()
		patched.Status.LoadBalancer.Ingress = want
		if err := c.client.Status().Patch(ctx, patched, client.MergeFrom(svc)); err != nil {
			return fmt.Errorf("write status of service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	if !annotationOK {
		patched := svc.DeepCopy()
		if pool == "" {
			delete(patched.Annotations, AnnotationAllocatedFromPool)
		} else {
			if patched.Annotations == nil {
				patched.Annotations = map[string]string{}
			}
			patched.Annotations[AnnotationAllocatedFromPool] = pool
		}
		if err := c.client.Patch(ctx, patched, client.MergeFrom(svc)); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("annotate service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	c.mu.Lock()
	c.inFlight[key] = writtenState{addrs: slices.Clone(addrs), pool: pool}
	c.mu.Unlock()
	return nil
}

// writtenState is what writeService last wrote to a Service.
type writtenState struct {
	addrs []netip.Addr
	pool  string
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
