// Command herald-controller assigns addresses from IPAddressPools to LoadBalancer Services.
//
// It only wires: flags, logger, manager, reconcilers. The decisions live in internal/.
package main

import (
	"flag"
	"fmt"
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
		opts    k8s.ManagerOptions
		logOpts logging.Options
		showVer bool
	)
	flag.StringVar(&opts.Namespace, "namespace", k8s.DefaultNamespace(), "namespace Herald is installed in; configuration objects are read from it (env POD_NAMESPACE)")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":7472", "address serving Prometheus /metrics; 0 disables it")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":7473", "address serving /healthz and /readyz")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "run as one of several replicas, only the Lease holder active")
	flag.StringVar(&opts.LeaderElectionID, "leader-election-id", "herald-controller", "name of the leader election Lease")
	flag.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long work may take to stop after SIGTERM")
	flag.StringVar(&logOpts.Level, "log-level", "info", "log level: debug, info, warn or error")
	flag.StringVar(&logOpts.Format, "log-format", "json", "log format: json or text")
	flag.BoolVar(&showVer, "version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: herald-controller [flags]\n\nAssigns addresses from IPAddressPools to Services of type LoadBalancer.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if showVer {
		fmt.Println(version.Version, version.Commit)
		return
	}

	logger, err := logging.New(os.Stderr, component, logOpts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-controller:", err)
		os.Exit(2)
	}
	metrics.SetBuildInfo(component)

	cfg, err := ctrl.GetConfig()
	if err != nil {
		logger.Error("cannot find a kubeconfig or in-cluster config", "error", err)
		os.Exit(1)
	}
	mgr, err := k8s.NewManager(cfg, opts)
	if err != nil {
		logger.Error("cannot create manager", "error", err)
		os.Exit(1)
	}

	logger.Info("starting", "version", version.Version, "namespace", opts.Namespace, "leaderElection", opts.LeaderElection)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
