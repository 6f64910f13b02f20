// Command herald-speaker runs on every node and makes Service addresses reachable: it answers
// ARP/NDP for the addresses this node is elected for, and advertises routes over BGP.
//
// It only wires: flags, logger, manager, membership, layer 2, BGP, reconcilers. The decisions live
// in internal/.
package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/heraldlb/herald/internal/bgp"
	"github.com/heraldlb/herald/internal/k8s"
	"github.com/heraldlb/herald/internal/layer2"
	"github.com/heraldlb/herald/internal/logging"
	"github.com/heraldlb/herald/internal/membership"
	"github.com/heraldlb/herald/internal/metrics"
	"github.com/heraldlb/herald/internal/version"
)

const component = "speaker"

func main() {
	var (
		opts      k8s.ManagerOptions
		l2opts    k8s.L2SpeakerOptions
		mlCfg     membership.Config
		l2cfg     layer2.Config
		useML     bool
		joinList  string
		keyFile   string
		handover  time.Duration
		nodeName  string
		advertise string
		excludeIf string
	)
	flag.StringVar(&opts.Namespace, "namespace", k8s.DefaultNamespace(), "namespace Herald is installed in; configuration objects are read from it (env POD_NAMESPACE)")
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "name of the node this speaker runs on (env NODE_NAME)")
	flag.StringVar(&l2opts.LoadBalancerClass, "load-balancer-class", "", "announce Services of this spec.loadBalancerClass; empty announces Services without a class")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":7474", "address serving Prometheus /metrics; 0 disables it")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":7475", "address serving /healthz and /readyz")
	flag.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long work may take to stop after SIGTERM")
	flag.BoolVar(&useML, "memberlist", true, "find the other speakers and detect failures with memberlist; without it the live speakers are the Ready nodes")
	flag.StringVar(&mlCfg.BindAddr, "memberlist-bind-address", "", "address memberlist listens on; empty: all")
	flag.IntVar(&mlCfg.BindPort, "memberlist-port", membership.DefaultPort, "memberlist TCP and UDP port")
	flag.StringVar(&advertise, "memberlist-advertise-address", os.Getenv("POD_IP"), "address the other speakers reach this one at (env POD_IP)")
	flag.StringVar(&joinList, "memberlist-join", "", "comma-separated host:port of speakers to join, such as the speakers' headless Service")
	flag.StringVar(&keyFile, "memberlist-secret-key-file", "", "file holding the 16, 24 or 32 byte key that encrypts memberlist traffic")
	flag.DurationVar(&mlCfg.ProbeInterval, "memberlist-probe-interval", membership.DefaultProbeInterval, "time between failure probes; with the timeout and suspicion multiplier it sets the failover time")
	flag.DurationVar(&mlCfg.ProbeTimeout, "memberlist-probe-timeout", membership.DefaultProbeTimeout, "how long a probe waits for an answer")
	flag.IntVar(&mlCfg.SuspicionMult, "memberlist-suspicion-mult", membership.DefaultSuspicionMult, "probe intervals a suspected speaker has to refute before it is declared dead")
	flag.DurationVar(&handover, "handover-delay", 500*time.Millisecond, "on SIGTERM, how long this speaker keeps answering after leaving, while the others take over")
	flag.StringVar(&excludeIf, "exclude-interfaces", "", "comma-separated shell patterns (such as cni*,veth*,kube-ipvs0) of interfaces this speaker never answers on nor elects itself for")
	flag.IntVar(&l2cfg.Announcements, "gratuitous-count", 5, "gratuitous ARP / unsolicited NA sent when this node takes an address over")
	flag.DurationVar(&l2cfg.AnnounceInterval, "gratuitous-interval", 250*time.Millisecond, "pause between gratuitous announcements")
	logger := logging.ParseCommandLine("herald-speaker", "Announces Service addresses from this node with ARP/NDP and BGP.", component)
	if nodeName == "" {
		logger.Error("the node name is required: set --node-name or NODE_NAME")
		os.Exit(2)
	}
	metrics.SetBuildInfo(component)
	var excluded []string
	if excludeIf != "" {
		excluded = strings.Split(excludeIf, ",")
	}
	interfaces, err := k8s.SystemInterfacesExcept(excluded)
	if err != nil {
		logger.Error("invalid --exclude-interfaces", "error", err)
		os.Exit(2)
	}
	l2opts.Interfaces = interfaces

	mgr, err := k8s.NewManager(nil, opts)
	if err != nil {
		logger.Error("cannot create manager", "error", err)
		os.Exit(1)
	}

	l2cfg.Logger = logger
	l2cfg.Registerer = ctrlmetrics.Registry
	l2 := layer2.New(l2cfg)
	// Layer 2 outlives the manager's context: the lifecycle closes it after the hand-over.
	l2.Start(context.Background())
	var member *membership.Member
	if useML {
		mlCfg.NodeName, mlCfg.AdvertiseAddr, mlCfg.Logger = nodeName, advertise, logger
		if joinList != "" {
			mlCfg.Peers = strings.Split(joinList, ",")
		}
		if keyFile != "" {
			if mlCfg.SecretKey, err = os.ReadFile(keyFile); err != nil {
				logger.Error("cannot read the memberlist secret key", "file", keyFile, "error", err)
				os.Exit(1)
			}
		}
		// The interfaces are read once: a node that gains one is elected for it after a restart.
		if mlCfg.Meta, err = k8s.SpeakerMeta(interfaces); err != nil {
			logger.Error("cannot list this node's interfaces", "error", err)
			os.Exit(1)
		}
		if member, err = membership.New(mlCfg); err != nil {
			logger.Error("invalid memberlist settings", "error", err)
			os.Exit(2)
		}
		l2opts.Membership = member
	}
	// BGP outlives the manager's context too: the lifecycle closes it last, so that with
	// graceful restart the routers keep the routes while the speaker restarts.
	bgpSpeaker := bgp.New(bgp.Config{Logger: logger, Registerer: ctrlmetrics.Registry})
	bgpSpeaker.Start(context.Background())
	l2opts.Node, l2opts.Namespace, l2opts.Layer2, l2opts.BGP, l2opts.Logger = nodeName, opts.Namespace, l2, bgpSpeaker, logger
	speaker := k8s.NewL2Speaker(mgr, l2opts)
	if err := speaker.SetupWithManager(mgr); err != nil {
		logger.Error("cannot set up the layer 2 speaker", "error", err)
		os.Exit(1)
	}
	lifecycle := &k8s.SpeakerLifecycle{Speaker: speaker, Layer2: l2, BGP: bgpSpeaker, Delay: handover, LeaveTimeout: time.Second, Logger: logger}
	if member != nil {
		lifecycle.Member = member
	}
	if err := mgr.Add(lifecycle); err != nil {
		logger.Error("cannot add the speaker lifecycle", "error", err)
		os.Exit(1)
	}

	logger.Info("starting", "version", version.Version, "namespace", opts.Namespace, "node", nodeName, "memberlist", useML)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped with an error", "error", err)
		os.Exit(1)
	}
	logger.Info("stopped")
}
