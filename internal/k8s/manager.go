package k8s

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ManagerOptions are the settings the Herald programs share.
type ManagerOptions struct {
	// Namespace is where Herald is installed; configuration objects are read only from it.
	Namespace string
	// MetricsAddr serves Prometheus /metrics; "0" disables it.
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz.
	HealthAddr string
	// LeaderElection makes only one replica active (the controller); LeaderElectionID names
	// the Lease.
	LeaderElection   bool
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election; zero keeps
	// controller-runtime's defaults (15s, 10s, 2s). A standby takes over at most LeaseDuration
	// after the leader dies.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ShutdownTimeout bounds how long runnables get to stop after SIGTERM.
	ShutdownTimeout time.Duration
}

// NewManager builds a controller-runtime manager with Herald's scheme, metrics and health
// endpoints. Herald's own objects are cached only from opts.Namespace. A nil cfg is read from
// --kubeconfig, KUBECONFIG or the in-cluster service account.
func NewManager(cfg *rest.Config, opts ManagerOptions) (manager.Manager, error) {
	if opts.Namespace == "" {
		return nil, errors.New("namespace must not be empty")
	}
	if cfg == nil {
		var err error
		if cfg, err = ctrl.GetConfig(); err != nil {
			return nil, fmt.Errorf("find a kubeconfig or in-cluster config: %w", err)
		}
	}
	scheme := NewScheme()
	shutdown := opts.ShutdownTimeout
	mopts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		// Release the Lease on SIGTERM so a standby takes over at once, not after the lease
		// expires.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &shutdown,
		Cache: cache.Options{
			ByObject: heraldObjectsIn(opts.Namespace),
			// managedFields are never read here; dropping them saves memory and CPU per object.
			DefaultTransform: cache.TransformStripManagedFields(),
		},
	}
	if opts.LeaseDuration > 0 {
		mopts.LeaseDuration = &opts.LeaseDuration
	}
	if opts.RenewDeadline > 0 {
		mopts.RenewDeadline = &opts.RenewDeadline
	}
	if opts.RetryPeriod > 0 {
		mopts.RetryPeriod = &opts.RetryPeriod
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	var discoveryErr *discovery.ErrGroupDiscoveryFailed
	if meta.IsNoMatchError(err) || errors.As(err, &discoveryErr) {
		return nil, fmt.Errorf("create manager: Herald's CRDs (group herald.io) are not installed in the cluster: apply config/crd/bases or install the Helm chart: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr.GetCache())); err != nil {
		return nil, fmt.Errorf("add readiness check: %w", err)
	}
	return mgr, nil
}

// heraldObjectsIn limits the cache of every Herald kind to the install namespace.
func heraldObjectsIn(namespace string) map[client.Object]cache.ByObject {
	out := map[client.Object]cache.ByObject{}
	for _, obj := range heraldKinds() {
		out[obj] = cache.ByObject{Namespaces: map[string]cache.Config{namespace: {}}}
	}
	return out
}

// cacheSynced reports ready once the informers the program started have synced.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informers not synced yet")
		}
		return nil
	}
}

// DefaultNamespace is the install namespace: POD_NAMESPACE when set (the Downward API sets it in
// the cluster), else herald-system.
func DefaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "herald-system"
}
