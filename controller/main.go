// Command herald-controller assigns addresses from IPAddressPools to LoadBalancer Services.
//
// It only wires: flags, logger, manager, reconcilers. The decisions live in internal/.
package main

import (
	"flag"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heraldlb/herald/internal/k8s"
	"github.com/heraldlb/herald/internal/logging"
	"github.com/heraldlb/herald/internal/metrics"
	"github.com/heraldlb/herald/internal/version"
)

const component = "controller"

func main() {
	var (
		opts  k8s.ManagerOptions
		addrs k8s.AddressControllerOptions
	)
	flag.StringVar(&opts.Namespace, "namespace", k8s.DefaultNamespace(), "namespace Herald is installed in; configuration objects are read from it (env POD_NAMESPACE)")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":7472", "address serving Prometheus /metrics; 0 disables it")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":7473", "address serving /healthz and /readyz")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "run as one of several replicas, only the Lease holder active")
	flag.StringVar(&opts.LeaderElectionID, "leader-election-id", "herald-controller", "name of the leader election Lease")
	flag.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a standby waits before taking over from a leader that stopped renewing")
	flag.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before giving up")
	flag.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "interval between leader election attempts")
	flag.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long work may take to stop after SIGTERM")
	flag.StringVar(&addrs.LoadBalancerClass, "load-balancer-class", "", "serve Services of this spec.loadBalancerClass; empty serves Services without a class")
	flag.IntVar(&addrs.Workers, "workers", 8, "Services reconciled at once")
	logger := logging.ParseCommandLine("herald-controller", "Assigns addresses from IPAddressPools to Services of type LoadBalancer.", component)
	metrics.SetBuildInfo(component)

	mgr, err := k8s.NewManager(nil, opts)
	if err != nil {
		logger.Error("cannot create manager", "error", err)
		os.Exit(1)
	}

	addrs.Namespace = opts.Namespace
	addrs.Logger = logger
	if err := k8s.NewAddressController(mgr, addrs).SetupWithManager(mgr); err != nil {
		logger.Error("cannot set up the address controller", "error", err)
		os.Exit(1)
	}

	logger.Info("starting", "version", version.Version, "namespace", opts.Namespace, "leaderElection", opts.LeaderElection)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
