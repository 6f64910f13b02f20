package bgp

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// collector reads the session metrics from the Speaker at scrape time, so the series of a peer
// exist exactly while the peer is configured and disappear with it.
type collector struct{ s *Speaker }

var (
	sessionUpDesc = prometheus.NewDesc("herald_bgp_session_up",
		"1 if the BGP session with the peer is Established, else 0.", []string{"peer", "address"}, nil)
	updatesSentDesc = prometheus.NewDesc("herald_bgp_updates_sent_total",
		"BGP UPDATE messages sent to the peer since the session was configured.", []string{"peer", "address"}, nil)
	prefixesDesc = prometheus.NewDesc("herald_bgp_prefixes_announced",
		"Prefixes this node announces to the peer.", []string{"peer", "address"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionUpDesc
	ch <- updatesSentDesc
	ch <- prefixesDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, name := range sortedKeys(c.s.peers) {
		ps := c.s.peers[name]
		addr := ps.peer.Address.String()
		up, updates := 0.0, 0.0
		if st, ok := ps.state(context.Background()); ok {
			if toState(st.SessionState) == StateEstablished {
				up = 1
			}
			if st.State != nil && st.State.Messages != nil && st.State.Messages.Sent != nil {
				updates = float64(st.State.Messages.Sent.Update)
			}
		}
		ch <- prometheus.MustNewConstMetric(sessionUpDesc, prometheus.GaugeValue, up, name, addr)
		ch <- prometheus.MustNewConstMetric(updatesSentDesc, prometheus.CounterValue, updates, name, addr)
		ch <- prometheus.MustNewConstMetric(prefixesDesc, prometheus.GaugeValue, float64(len(ps.paths)), name, addr)
	}
}
