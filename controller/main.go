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
		opts           k8s.ManagerOptions
		addrs          k8s.AddressControllerOptions
		hook           k8s.WebhookOptions
		webhookService string
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
	flag.IntVar(&hook.Port, "webhook-port", 9443, "port serving the validating webhook of the configuration kinds over HTTPS; 0 disables it")
	flag.StringVar(&hook.Certificates.SecretName, "webhook-secret-name", "herald-webhook-cert", "Secret in the install namespace holding the webhook's CA and serving certificate, made and renewed by the controller")
	flag.StringVar(&hook.Certificates.WebhookConfigurationName, "webhook-configuration-name", "herald-validating-webhook", "ValidatingWebhookConfiguration whose caBundle the controller keeps current; empty leaves it alone")
	flag.StringVar(&webhookService, "webhook-service-name", "herald-webhook", "Service in front of the webhook; the serving certificate is made for its DNS names")
	flag.DurationVar(&hook.Certificates.Validity, "webhook-cert-validity", 365*24*time.Hour, "lifetime of the webhook's serving certificate (the CA lives four times as long); each is renewed after two thirds of it")
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

	if hook.Port != 0 {
		hook.Namespace, hook.LoadBalancerClass = opts.Namespace, addrs.LoadBalancerClass
		hook.Certificates.Namespace, hook.Certificates.Logger = opts.Namespace, logger
		hook.Certificates.Hosts = k8s.ServiceHosts(webhookService, opts.Namespace)
		if err := k8s.SetupWebhook(mgr, hook); err != nil {
			logger.Error("cannot set up the validating webhook", "error", err)
			os.Exit(1)
		}
	}

	logger.Info("starting", "version", version.Version, "namespace", opts.Namespace, "leaderElection", opts.LeaderElection, "webhookPort", hook.Port)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
