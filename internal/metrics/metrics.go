// Package metrics declares the Prometheus metrics shared by the Herald programs and registers
// them with controller-runtime's registry, which the manager serves on /metrics.
//
// Metrics that belong to one concern (pools, announcements, sessions) are declared by the
// package that owns that concern's adapter, on the same registry.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/heraldlb/herald/internal/version"
)

// Namespace prefixes every Herald metric name.
const Namespace = "herald"

var buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: Namespace,
	Name:      "build_info",
	Help:      "Always 1; labels carry the program, version and commit of the running binary.",
}, []string{"component", "version", "commit"})

// ConfigLoaded is 1 while the configuration in the cluster is the one in use, 0 while it is
// rejected as invalid (or was never loaded).
var ConfigLoaded = prometheus.NewGauge(prometheus.GaugeOpts{
	Namespace: Namespace,
	Name:      "config_loaded",
	Help:      "1 when the configuration in the cluster is valid and in use; 0 when it is rejected.",
})

// ConfigStale is 1 while the program runs on an older configuration because the one in the
// cluster is invalid.
var ConfigStale = prometheus.NewGauge(prometheus.GaugeOpts{
	Namespace: Namespace,
	Name:      "config_stale",
	Help:      "1 when the program keeps running on the last valid configuration because the one in the cluster is invalid.",
})

func init() {
	ctrlmetrics.Registry.MustRegister(buildInfo, ConfigLoaded, ConfigStale)
}

// SetBuildInfo records which program and build is running.
func SetBuildInfo(component string) {
	buildInfo.WithLabelValues(component, version.Version, version.Commit).Set(1)
}
