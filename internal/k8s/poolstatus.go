package k8s

import (
	"context"
	"math/big"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/config"
	"github.com/heraldlb/herald/internal/metrics"
)

var (
	poolInUse = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace,
		Name:      "pool_addresses_in_use",
		Help:      "Addresses of the pool held by Services (a shared address counts once).",
	}, []string{"pool", "family"})
	poolAvailable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace,
		Name:      "pool_addresses_available",
		Help:      "Addresses of the pool still free (a float: IPv6 pools can exceed 2^64).",
	}, []string{"pool", "family"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(poolInUse, poolAvailable)
}

// poolStats tracks which pools' statistics changed since the status writer last ran. It is
// guarded by AddressController.mu.
type poolStats struct {
	pools   []string
	dirty   map[string]bool
	written map[string]poolCounts
}

func newPoolStats() *poolStats {
	return &poolStats{dirty: map[string]bool{}, written: map[string]poolCounts{}}
}

func (s *poolStats) mark(pools ...string) {
	for _, p := range pools {
		if p != "" {
			s.dirty[p] = true
		}
	}
}

func (s *poolStats) markAll() { s.mark(s.pools...) }

func (s *poolStats) setPools(pools []*config.Pool) {
	keep := map[string]bool{}
	s.pools = s.pools[:0]
	for _, p := range pools {
		s.pools = append(s.pools, p.Name)
		keep[p.Name] = true
	}
	for name := range s.written {
		if !keep[name] {
			delete(s.written, name)
			poolInUse.DeletePartialMatch(prometheus.Labels{"pool": name})
			poolAvailable.DeletePartialMatch(prometheus.Labels{"pool": name})
		}
	}
	s.markAll()
}

// poolStatusWriter writes pool status and metrics in batches, at most once a second per pool,
// so that assigning addresses to a thousand Services costs a handful of pool writes, not a
// thousand. It runs only on the leader.
type poolStatusWriter struct {
	c *AddressController
}

// Start runs until ctx ends.
func (w *poolStatusWriter) Start(ctx context.Context) error {
	every(ctx, time.Second, func() { w.flush(ctx) })
	return nil
}

// poolCounts is what the writer puts in a pool's status.
type poolCounts struct {
	assignedV4, assignedV6   int64
	availableV4, availableV6 string
}

type poolUpdate struct {
	name   string
	counts poolCounts
}

func (w *poolStatusWriter) flush(ctx context.Context) {
	c := w.c
	c.mu.Lock()
	var updates []poolUpdate
	for name := range c.stats.dirty {
		st, err := c.alloc.Stats(name)
		delete(c.stats.dirty, name)
		if err != nil {
			continue // the pool is gone
		}
		counts := poolCounts{
			assignedV4:  int64(st.AssignedV4),
			assignedV6:  int64(st.AssignedV6),
			availableV4: st.AvailableV4.String(),
			availableV6: st.AvailableV6.String(),
		}
		setPoolMetrics(name, st.AssignedV4, st.AssignedV6, st.AvailableV4, st.AvailableV6)
		if prev, ok := c.stats.written[name]; ok && prev == counts {
			continue
		}
		updates = append(updates, poolUpdate{name: name, counts: counts})
	}
	c.mu.Unlock()

	for _, u := range updates {
		pool := &heraldv1beta1.IPAddressPool{}
		if err := c.reader.Get(ctx, types.NamespacedName{Namespace: c.opts.Namespace, Name: u.name}, pool); err != nil {
			continue
		}
		patched := pool.DeepCopy()
		patched.Status.AssignedIPv4 = u.counts.assignedV4
		patched.Status.AssignedIPv6 = u.counts.assignedV6
		patched.Status.AvailableIPv4 = u.counts.availableV4
		patched.Status.AvailableIPv6 = u.counts.availableV6
		if err := c.client.Status().Patch(ctx, patched, client.MergeFrom(pool)); err != nil {
			c.log.Error("cannot write pool status; will retry", "pool", u.name, "error", err.Error())
			c.mu.Lock()
			c.stats.mark(u.name)
			c.mu.Unlock()
			continue
		}
		c.mu.Lock()
		c.stats.written[u.name] = u.counts
		c.mu.Unlock()
	}
}

func setPoolMetrics(pool string, inUse4, inUse6 int, avail4, avail6 *big.Int) {
	poolInUse.WithLabelValues(pool, "IPv4").Set(float64(inUse4))
	poolInUse.WithLabelValues(pool, "IPv6").Set(float64(inUse6))
	poolAvailable.WithLabelValues(pool, "IPv4").Set(bigFloat(avail4))
	poolAvailable.WithLabelValues(pool, "IPv6").Set(bigFloat(avail6))
}

func bigFloat(n *big.Int) float64 {
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
