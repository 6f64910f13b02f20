// Command herald-speaker runs on every node and makes Service addresses reachable: it answers
// ARP/NDP for the addresses this node is elected for, and advertises routes over BGP.
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

const component = "speaker"

func main() {
	var (
		opts     k8s.ManagerOptions
		logOpts  logging.Options
		nodeName string
		showVer  bool
	)
	flag.StringVar(&opts.Namespace, "namespace", k8s.DefaultNamespace(), "namespace Herald is installed in; configuration objects are read from it (env POD_NAMESPACE)")
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "name of the node this speaker runs on (env NODE_NAME)")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":7474", "address serving Prometheus /metrics; 0 disables it")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":7475", "address serving /healthz and /readyz")
	flag.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long work may take to stop after SIGTERM")
	flag.StringVar(&logOpts.Level, "log-level", "info", "log level: debug, info, warn or error")
	flag.StringVar(&logOpts.Format, "log-format", "json", "log format: json or text")
	flag.BoolVar(&showVer, "version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: herald-speaker [flags]\n\nAnnounces Service addresses from this node with ARP/NDP and BGP.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if showVer {
		fmt.Println(version.Version, version.Commit)
		return
	}

	logger, err := logging.New(os.Stderr, component, logOpts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-speaker:", err)
		os.Exit(2)
	}
	if nodeName == "" {
		logger.Error("the node name is required: set --node-name or NODE_NAME")
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

	logger.Info("starting", "version", version.Version, "namespace", opts.Namespace, "node", nodeName)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
