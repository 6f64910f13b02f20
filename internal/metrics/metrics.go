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

func init() {
	ctrlmetrics.Registry.MustRegister(buildInfo)
}

// SetBuildInfo records which program and build is running.
func SetBuildInfo(component string) {
	buildInfo.WithLabelValues(component, version.Version, version.Commit).Set(1)
}
