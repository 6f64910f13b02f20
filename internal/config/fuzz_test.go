package config

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/iprange"
)

// gen turns bytes into a set of custom resources: every choice reads one byte, so the fuzzer
// steers structure and values alike. Past the end of the input every byte reads as zero.
type gen struct{ b []byte }

func (g *gen) next() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) n(limit int) int { return int(g.next()) % limit }

// text picks from the vocabulary, or now and then takes raw bytes of the input.
func (g *gen) text(vocab ...string) string {
	i := g.n(len(vocab) + 1)
	if i < len(vocab) {
		return vocab[i]
	}
	k := g.n(12)
	if k > len(g.b) {
		k = len(g.b)
	}
	s := string(g.b[:k])
	g.b = g.b[k:]
	return s
}

func (g *gen) name() string { return g.text("a", "b", "c", "d") }

func (g *gen) meta() metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: g.name(), Namespace: installNS,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, g.n(4), 0, time.UTC))}
	if g.n(2) == 0 {
		m.Labels = map[string]string{"tier": g.text("gold", "silver")}
	}
	return m
}

func (g *gen) selectors() []metav1.LabelSelector {
	var out []metav1.LabelSelector
	for range g.n(3) {
		switch g.n(4) {
		case 0:
			out = append(out, metav1.LabelSelector{MatchLabels: map[string]string{"tier": g.text("gold", "silver")}})
		case 1:
			out = append(out, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}})
		case 2:
			out = append(out, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: g.text("rack"), Operator: metav1.LabelSelectorOperator(g.text("Exists", "Sometimes"))}}})
		default:
			out = append(out, metav1.LabelSelector{})
		}
	}
	return out
}

func (g *gen) names() []heraldv1beta1.ObjectName {
	var out []heraldv1beta1.ObjectName
	for range g.n(3) {
		out = append(out, heraldv1beta1.ObjectName(g.name()))
	}
	return out
}

func (g *gen) i32(max int) *int32 {
	if g.n(2) == 0 {
		return nil
	}
	v := int32(g.n(max + 1))
	return &v
}

func (g *gen) resources() Resources {
	var r Resources
	for range g.n(5) {
		p := heraldv1beta1.IPAddressPool{ObjectMeta: g.meta()}
		for range g.n(4) {
			p.Spec.Addresses = append(p.Spec.Addresses, heraldv1beta1.AddressRange(g.text(
				"192.0.2.0/24", "192.0.2.0/28", "192.0.2.10-192.0.2.20", "203.0.113.7", "2001:db8::/64", "2001:db8::1",
				"192.0.2.1/24", "192.0.2.20-192.0.2.10", "0.0.0.0/0", "::/0", "192.0.2.1-2001:db8::1", "not-an-ip", "")))
		}
		if g.n(2) == 0 {
			p.Spec.ServiceAllocation = &heraldv1beta1.ServiceAllocation{Priority: int32(g.n(3)),
				NamespaceSelectors: g.selectors(), ServiceSelectors: g.selectors()}
		}
		r.Pools = append(r.Pools, p)
	}
	for range g.n(3) {
		a := heraldv1beta1.L2Advertisement{ObjectMeta: g.meta()}
		a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, a.Spec.NodeSelectors = g.names(), g.selectors(), g.selectors()
		for _, sel := range g.selectors() {
			a.Spec.PreferredNodeSelectors = append(a.Spec.PreferredNodeSelectors, heraldv1beta1.WeightedNodeSelector{Weight: int32(g.n(100)), Selector: sel})
		}
		r.L2Advertisements = append(r.L2Advertisements, a)
	}
	for range g.n(3) {
		c := heraldv1beta1.Community{ObjectMeta: g.meta()}
		for range g.n(3) {
			c.Spec.Communities = append(c.Spec.Communities, heraldv1beta1.CommunityAlias{Name: g.text("no-transit", "cust"),
				Value: heraldv1beta1.CommunityValue(g.text("64512:1", "65535:65535", "large:1:2:3", "70000:1", "large:1:2", "1:2:3"))})
		}
		r.Communities = append(r.Communities, c)
	}
	for range g.n(3) {
		p := heraldv1beta1.BGPPeer{ObjectMeta: g.meta()}
		p.Spec.MyASN = int64(g.n(3)) + 64512
		if g.n(4) > 0 {
			asn := int64(g.n(3)) + 64512
			p.Spec.PeerASN = &asn
		}
		if g.n(4) == 0 {
			p.Spec.DynamicASN = heraldv1beta1.DynamicASNMode(g.text("internal", "external"))
		}
		p.Spec.PeerAddress = heraldv1beta1.IPAddress(g.text("203.0.113.1", "203.0.113.2", "2001:db8::1", "fe80::1%eth0", "bad"))
		p.Spec.SourceAddress = heraldv1beta1.IPAddress(g.text("", "192.0.2.1", "2001:db8::2"))
		p.Spec.PeerPort = int32(g.n(2) * 179)
		if g.n(2) == 0 {
			p.Spec.HoldTime = &metav1.Duration{Duration: time.Duration(g.n(100)) * time.Second}
		}
		if g.n(2) == 0 {
			p.Spec.KeepaliveTime = &metav1.Duration{Duration: time.Duration(g.n(100)) * time.Second}
		}
		p.Spec.RouterID = g.text("", "192.0.2.1", "2001:db8::1")
		p.Spec.NodeSelectors = g.selectors()
		p.Spec.BFDProfile = heraldv1beta1.ObjectName(g.text("", "fast"))
		if g.n(2) == 0 {
			p.Spec.GracefulRestart = &heraldv1beta1.GracefulRestart{}
		}
		r.BGPPeers = append(r.BGPPeers, p)
	}
	for range g.n(2) {
		b := heraldv1beta1.BFDProfile{ObjectMeta: g.meta()}
		b.Name = g.text("fast", "slow")
		b.Spec.ReceiveInterval, b.Spec.DetectMultiplier = g.i32(1000), g.i32(10)
		r.BFDProfiles = append(r.BFDProfiles, b)
	}
	for range g.n(4) {
		a := heraldv1beta1.BGPAdvertisement{ObjectMeta: g.meta()}
		a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors = g.names(), g.selectors()
		a.Spec.AggregationLength, a.Spec.AggregationLengthV6 = g.i32(32), g.i32(128)
		if g.n(2) == 0 {
			lp := int64(g.n(3)) * 100
			a.Spec.LocalPref = &lp
		}
		for range g.n(3) {
			a.Spec.Communities = append(a.Spec.Communities, heraldv1beta1.CommunityValue(g.text("no-transit", "cust", "64512:1", "large:1:2:3", "70000:1", "missing")))
		}
		a.Spec.Peers, a.Spec.NodeSelectors, a.Spec.ServiceSelectors = g.names(), g.selectors(), g.selectors()
		r.BGPAdvertisements = append(r.BGPAdvertisements, a)
	}
	return r
}

// checkParse holds what Parse and Review promise on any input: no panic, every problem names
// an object and a field, a valid Config has no overlapping pools, and a change Review lets
// through never turns a valid configuration invalid.
func checkParse(data []byte) error {
	g := &gen{b: data}
	r := g.resources()
	c, err := Parse(r)
	if err != nil {
		es, ok := AsErrors(err)
		if !ok || len(es) == 0 {
			return fmt.Errorf("Parse error %w is not a list of FieldErrors", err)
		}
		for _, e := range es {
			if e.Kind == "" || e.Field == "" || e.Message == "" {
				return fmt.Errorf("problem without kind, field or message: %+v", *e)
			}
		}
	} else {
		var all []iprange.Range
		for _, p := range c.Pools {
			all = append(all, p.Ranges...)
		}
		if a, b, overlap := iprange.FindOverlap(all); overlap {
			return fmt.Errorf("valid Config with overlapping ranges %s and %s", all[a], all[b])
		}
		if !sort.SliceIsSorted(c.Pools, func(i, j int) bool { return c.Pools[i].Name < c.Pools[j].Name }) {
			return errors.New("pools not sorted by name")
		}
	}
	objs := r.Objects()
	if len(objs) == 0 {
		return nil
	}
	// Review one object as if it were being created into the others.
	obj := objs[g.n(len(objs))]
	kind, meta, err := identify(obj)
	if err != nil {
		return err
	}
	rest := r.without(kind, meta.GetName())
	v, err := Review(rest, installNS, Create, obj)
	if err != nil {
		return err
	}
	if _, restErr := Parse(rest); restErr == nil && len(v.Errors) == 0 {
		if _, err := Parse(rest.with(obj)); err != nil {
			return fmt.Errorf("Review let %s %q in, but the configuration became invalid:\n%w", kind, meta.GetName(), err)
		}
	}
	for _, op := range []Operation{Update, Delete} {
		if _, err := Review(r, installNS, op, obj); err != nil {
			return err
		}
	}
	return nil
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 1, 0, 1, 1, 0, 0, 0})
	f.Add([]byte("\x04\x01\x00\x02\x01\x03\x02\x05\x01\x04\x02\x03\x00\x01\x01\x02\x02\x01\x00\x03\x01\x02\x02\x02\x01\x01\x00"))
	f.Add([]byte("pools overlapping; peers twice; communities malformed 70000:1 large:1:2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkParse(data); err != nil {
			t.Fatal(err)
		}
	})
}

// Thousands of random configurations on every test run, beyond the fuzz seeds.
func TestParseRandomConfigurations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for range 5000 {
		data := make([]byte, rng.IntN(200))
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		if err := checkParse(data); err != nil {
			t.Fatalf("%v\ninput: %q", err, data)
		}
	}
}
