package layer2

import (
	"errors"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the responders' counters. Per-address series are deleted when the address stops
// being announced on the interface.
type metrics struct {
	requests   *prometheus.CounterVec // address, interface
	responses  *prometheus.CounterVec // address, interface
	gratuitous *prometheus.CounterVec // address, interface
	malformed  *prometheus.CounterVec // interface, protocol
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Subsystem: "layer2", Name: "requests_received_total",
			Help: "ARP requests and neighbor solicitations received for an address this node announces.",
		}, []string{"address", "interface"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Subsystem: "layer2", Name: "responses_sent_total",
			Help: "ARP replies and solicited neighbor advertisements sent.",
		}, []string{"address", "interface"}),
		gratuitous: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Subsystem: "layer2", Name: "gratuitous_sent_total",
			Help: "Gratuitous ARP packets and unsolicited neighbor advertisements sent.",
		}, []string{"address", "interface"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "herald", Subsystem: "layer2", Name: "malformed_received_total",
			Help: "Frames or messages that could not be parsed, dropped.",
		}, []string{"interface", "protocol"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.responses = register(reg, m.responses)
		m.gratuitous = register(reg, m.gratuitous)
		m.malformed = register(reg, m.malformed)
	}
	return m
}

// register registers c, or returns the collector already registered under its name (a second
// Speaker in one process shares the first one's series).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) forget(addr netip.Addr, ifname string) {
	l := prometheus.Labels{"address": addr.String(), "interface": ifname}
	m.requests.Delete(l)
	m.responses.Delete(l)
	m.gratuitous.Delete(l)
}
