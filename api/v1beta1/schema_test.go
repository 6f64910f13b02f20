package v1beta1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

const ns = "herald-system"

var k8s client.Client

func TestMain(m *testing.M) {
	env, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer func() { _ = env.Stop() }()
		k8s, err = client.New(env.Config, client.Options{Scheme: env.Scheme})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := k8s.Create(context.Background(), nsObj); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// samples reads config/samples, one object per file, keyed by kind.
func samples(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, dup := out[u.GetKind()]; dup {
			t.Fatalf("%s: a second sample of kind %s", f, u.GetKind())
		}
		out[u.GetKind()] = u
	}
	return out
}

var allKinds = []string{
	"IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "BFDProfile", "Community",
	"ServiceL2Status", "ServiceBGPStatus", "BGPSessionState", "ConfigurationState",
}

func TestEverySampleIsAccepted(t *testing.T) {
	s := samples(t)
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			obj, ok := s[kind]
			if !ok {
				t.Fatalf("config/samples has no %s", kind)
			}
			obj = obj.DeepCopy()
			if err := k8s.Create(context.Background(), obj); err != nil {
				t.Fatalf("sample rejected: %v", err)
			}
		})
	}
	if len(s) != len(allKinds) {
		t.Errorf("config/samples has %d kinds, want %d (one per kind)", len(s), len(allKinds))
	}
}

// The samples decode into the Go types without unknown fields: the YAML users copy matches the API.
func TestSamplesDecodeStrictly(t *testing.T) {
	for kind, u := range samples(t) {
		obj, err := k8s.Scheme().New(heraldv1beta1.GroupVersion.WithKind(kind))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		data, err := u.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			t.Errorf("%s sample: %v", kind, err)
		}
	}
}

type mutation func(o map[string]any)

// set returns a mutation that sets the value at a dotted path under the object, creating maps.
func set(path string, v any) mutation {
	return func(o map[string]any) {
		keys := strings.Split(path, ".")
		m := o
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
}

// del returns a mutation that removes the value at a dotted path.
func del(path string) mutation {
	return func(o map[string]any) {
		keys := strings.Split(path, ".")
		m := o
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				return
			}
			m = next
		}
		delete(m, keys[len(keys)-1])
	}
}

type op int

const (
	onCreate       op = iota // the mutated sample is created
	onUpdate                 // the sample is created, then updated with the mutation
	onStatusUpdate           // the sample is created, then its status is updated with the mutation
)

type schemaCase struct {
	name    string
	kind    string
	op      op
	mutate  []mutation
	wantErr []string // substrings of the API server's message; empty: accepted
}

func strs(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

var schemaCases = []schemaCase{
	// IPAddressPool: accepted variants.
	{name: "pool with a one-address range", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.10-192.0.2.10"))}},
	{name: "pool with an IPv6 range", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("2001:db8::1-2001:db8::1:0"))}},
	{name: "pool with a range written with spaces", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("198.51.100.1 - 198.51.100.9"))}},
	{name: "pool with a single address", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("203.0.113.7"))}},
	{name: "pool with a whole IPv6 /48", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("2001:db8:1::/48"))}},
	{name: "pool with a range ordered only by its last bit", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("2001:db8::fffe-2001:db8::ffff"))}},
	// IPAddressPool: rejected.
	{name: "pool without addresses", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs())},
		wantErr: []string{"spec.addresses", "at least 1 items"}},
	{name: "pool without spec", kind: "IPAddressPool", mutate: []mutation{del("spec")},
		wantErr: []string{"spec", "Required value"}},
	{name: "pool address that is not an address", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.0/24", "not-an-ip"))},
		wantErr: []string{"spec.addresses[1]", "must be a CIDR (192.0.2.0/24), a range"}},
	{name: "pool CIDR with host bits", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.1/24"))},
		wantErr: []string{"spec.addresses[0]", "CIDR 192.0.2.1/24 has host bits set"}},
	{name: "pool IPv6 CIDR with host bits", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("2001:db8::1/64"))},
		wantErr: []string{"spec.addresses[0]", "CIDR 2001:db8::1/64 has host bits set"}},
	{name: "pool prefix length too long", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.0/33"))},
		wantErr: []string{"spec.addresses[0]", "must be a CIDR"}},
	{name: "pool IPv4 range reversed", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.20-192.0.2.10"))},
		wantErr: []string{"spec.addresses[0]", "first address of a range must not be greater than the last"}},
	{name: "pool IPv6 range reversed", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("2001:db8::ffff-2001:db8::fffe"))},
		wantErr: []string{"spec.addresses[0]", "first address of a range must not be greater than the last"}},
	{name: "pool range of mixed families", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.1-2001:db8::1"))},
		wantErr: []string{"spec.addresses[0]", "same IP family"}},
	{name: "pool range with three parts", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.1-192.0.2.2-192.0.2.3"))},
		wantErr: []string{"spec.addresses[0]", "must be a CIDR"}},
	{name: "pool lists an entry twice", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", strs("192.0.2.0/26", "192.0.2.0/26"))},
		wantErr: []string{"spec.addresses[1]", "Duplicate value"}},
	{name: "pool with more than 32 blocks", kind: "IPAddressPool", mutate: []mutation{set("spec.addresses", manyBlocks(33))},
		wantErr: []string{"spec.addresses", "must have at most 32 items"}},
	{name: "pool negative priority", kind: "IPAddressPool", mutate: []mutation{set("spec.serviceAllocation.priority", -1)},
		wantErr: []string{"spec.serviceAllocation.priority", "greater than or equal to 0"}},
	{name: "pool namespace that is not a name", kind: "IPAddressPool", mutate: []mutation{set("spec.serviceAllocation.namespaces", strs("Web_Apps"))},
		wantErr: []string{"spec.serviceAllocation.namespaces[0]", "should match"}},
	{name: "pool selector with an unknown operator", kind: "IPAddressPool",
		mutate:  []mutation{set("spec.serviceAllocation.serviceSelectors", []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": 7}}}})},
		wantErr: []string{"spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator", "must be of type string"}},

	// L2Advertisement.
	{name: "l2 interface with a slash", kind: "L2Advertisement", mutate: []mutation{set("spec.interfaces", strs("eth/0"))},
		wantErr: []string{"spec.interfaces[0]", "should match"}},
	{name: "l2 interface name longer than 15", kind: "L2Advertisement", mutate: []mutation{set("spec.interfaces", strs("abcdefghijklmnop"))},
		wantErr: []string{"spec.interfaces[0]", "Too long"}},
	{name: "l2 preferred node selector with weight 0", kind: "L2Advertisement",
		mutate:  []mutation{set("spec.preferredNodeSelectors", []any{map[string]any{"weight": 0, "selector": map[string]any{}}})},
		wantErr: []string{"spec.preferredNodeSelectors[0].weight", "greater than or equal to 1"}},
	{name: "l2 pool name with a space", kind: "L2Advertisement", mutate: []mutation{set("spec.ipAddressPools", strs("my pool"))},
		wantErr: []string{"spec.ipAddressPools[0]", "should match"}},

	// BGPAdvertisement.
	{name: "bgp ad aggregation length 33", kind: "BGPAdvertisement", mutate: []mutation{set("spec.aggregationLength", 33)},
		wantErr: []string{"spec.aggregationLength", "less than or equal to 32"}},
	{name: "bgp ad aggregation length v6 0", kind: "BGPAdvertisement", mutate: []mutation{set("spec.aggregationLengthV6", 0)},
		wantErr: []string{"spec.aggregationLengthV6", "greater than or equal to 1"}},
	{name: "bgp ad aggregation length v6 129", kind: "BGPAdvertisement", mutate: []mutation{set("spec.aggregationLengthV6", 129)},
		wantErr: []string{"spec.aggregationLengthV6", "less than or equal to 128"}},
	{name: "bgp ad standard community part too large", kind: "BGPAdvertisement", mutate: []mutation{set("spec.communities", strs("65536:1"))},
		wantErr: []string{"spec.communities[0]", "between 0 and 65535"}},
	{name: "bgp ad large community with two parts", kind: "BGPAdvertisement", mutate: []mutation{set("spec.communities", strs("large:1:2"))},
		wantErr: []string{"spec.communities[0]", "must be a standard community 'AA:NN', a large community"}},
	{name: "bgp ad large community part too large", kind: "BGPAdvertisement", mutate: []mutation{set("spec.communities", strs("large:1:2:4294967296"))},
		wantErr: []string{"spec.communities[0]", "between 0 and 4294967295"}},
	{name: "bgp ad negative localPref", kind: "BGPAdvertisement", mutate: []mutation{set("spec.localPref", -1)},
		wantErr: []string{"spec.localPref", "greater than or equal to 0"}},
	{name: "bgp ad localPref above 32 bits", kind: "BGPAdvertisement", mutate: []mutation{set("spec.localPref", int64(4294967296))},
		wantErr: []string{"spec.localPref", "less than or equal to 4294967295"}},
	{name: "bgp ad community listed twice", kind: "BGPAdvertisement", mutate: []mutation{set("spec.communities", strs("64512:1", "64512:1"))},
		wantErr: []string{"spec.communities[1]", "Duplicate value"}},

	// BGPPeer: accepted variants.
	{name: "peer with a 4-byte ASN and dynamic external ASN with multihop", kind: "BGPPeer",
		mutate: []mutation{set("spec.myASN", int64(4294967295)), del("spec.peerASN"), set("spec.dynamicASN", "external"), set("spec.ebgpMultiHop", true)}},
	{name: "peer with hold time 0s", kind: "BGPPeer", mutate: []mutation{set("spec.holdTime", "0s")}},
	{name: "peer over IPv6 with a source address", kind: "BGPPeer", mutate: []mutation{set("spec.peerAddress", "2001:db8::1"), set("spec.sourceAddress", "2001:db8::2")}},
	// BGPPeer: rejected.
	{name: "peer with both peerASN and dynamicASN", kind: "BGPPeer", mutate: []mutation{set("spec.dynamicASN", "internal")},
		wantErr: []string{"spec", "exactly one of peerASN and dynamicASN must be set"}},
	{name: "peer with neither peerASN nor dynamicASN", kind: "BGPPeer", mutate: []mutation{del("spec.peerASN")},
		wantErr: []string{"spec", "exactly one of peerASN and dynamicASN must be set"}},
	{name: "peer with myASN 0", kind: "BGPPeer", mutate: []mutation{set("spec.myASN", 0)},
		wantErr: []string{"spec.myASN", "greater than or equal to 1"}},
	{name: "peer with peerASN above 32 bits", kind: "BGPPeer", mutate: []mutation{set("spec.peerASN", int64(4294967296))},
		wantErr: []string{"spec.peerASN", "less than or equal to 4294967295"}},
	{name: "peer address not an IP", kind: "BGPPeer", mutate: []mutation{set("spec.peerAddress", "300.1.1.1")},
		wantErr: []string{"spec.peerAddress", "must be an IPv4 or IPv6 address"}},
	{name: "peer with password and passwordSecret", kind: "BGPPeer", mutate: []mutation{set("spec.password", "s3cret")},
		wantErr: []string{"spec", "password and passwordSecret are mutually exclusive"}},
	{name: "peer hold time 2s", kind: "BGPPeer", mutate: []mutation{set("spec.holdTime", "2s"), set("spec.keepaliveTime", "1s")},
		wantErr: []string{"spec.holdTime", "holdTime must be 0s or between 3s and 65535s"}},
	{name: "peer hold time not a duration", kind: "BGPPeer", mutate: []mutation{set("spec.holdTime", "banana")},
		wantErr: []string{"spec.holdTime", "should match"}},
	{name: "peer keepalive not shorter than hold time", kind: "BGPPeer", mutate: []mutation{set("spec.holdTime", "30s"), set("spec.keepaliveTime", "30s")},
		wantErr: []string{"spec", "keepaliveTime must be shorter than holdTime"}},
	{name: "peer router ID in IPv6", kind: "BGPPeer", mutate: []mutation{set("spec.routerID", "2001:db8::1")},
		wantErr: []string{"spec.routerID", "routerID must be an IPv4 address"}},
	{name: "peer source address of the other family", kind: "BGPPeer", mutate: []mutation{set("spec.sourceAddress", "2001:db8::2")},
		wantErr: []string{"spec", "sourceAddress must be of the same IP family as peerAddress"}},
	{name: "peer port 0", kind: "BGPPeer", mutate: []mutation{set("spec.peerPort", 0)},
		wantErr: []string{"spec.peerPort", "greater than or equal to 1"}},
	{name: "peer multihop on iBGP", kind: "BGPPeer", mutate: []mutation{set("spec.peerASN", 64512), set("spec.ebgpMultiHop", true)},
		wantErr: []string{"spec", "ebgpMultiHop applies only to eBGP sessions"}},
	{name: "peer unknown dynamicASN mode", kind: "BGPPeer", mutate: []mutation{del("spec.peerASN"), set("spec.dynamicASN", "sideways")},
		wantErr: []string{"spec.dynamicASN", "Unsupported value"}},
	{name: "peer graceful restart time too long", kind: "BGPPeer", mutate: []mutation{set("spec.gracefulRestart.restartTime", "5000s")},
		wantErr: []string{"spec.gracefulRestart.restartTime", "between 1s and 4095s"}},
	{name: "peer unknown address family", kind: "BGPPeer", mutate: []mutation{set("spec.addressFamilies", strs("IPv5"))},
		wantErr: []string{"spec.addressFamilies[0]", "Unsupported value"}},

	// BFDProfile.
	{name: "bfd receive interval 5ms", kind: "BFDProfile", mutate: []mutation{set("spec.receiveInterval", 5)},
		wantErr: []string{"spec.receiveInterval", "greater than or equal to 10"}},
	{name: "bfd detect multiplier 1", kind: "BFDProfile", mutate: []mutation{set("spec.detectMultiplier", 1)},
		wantErr: []string{"spec.detectMultiplier", "greater than or equal to 2"}},
	{name: "bfd minimum TTL 255", kind: "BFDProfile", mutate: []mutation{set("spec.minimumTTL", 255)},
		wantErr: []string{"spec.minimumTTL", "less than or equal to 254"}},

	// Community.
	{name: "community alias defined twice", kind: "Community",
		mutate:  []mutation{set("spec.communities", []any{map[string]any{"name": "a", "value": "1:1"}, map[string]any{"name": "a", "value": "1:2"}})},
		wantErr: []string{"spec.communities[1]", "Duplicate value"}},
	{name: "community alias pointing at another alias", kind: "Community",
		mutate:  []mutation{set("spec.communities", []any{map[string]any{"name": "a", "value": "no-transit"}})},
		wantErr: []string{"spec.communities[0].value", "not another alias"}},
	{name: "community value part too large", kind: "Community",
		mutate:  []mutation{set("spec.communities", []any{map[string]any{"name": "a", "value": "1:99999"}})},
		wantErr: []string{"spec.communities[0].value", "between 0 and 65535"}},

	// Status kinds.
	{name: "configuration state of a speaker without node", kind: "ConfigurationState", mutate: []mutation{del("spec.node")},
		wantErr: []string{"spec", "node is required for the speaker component"}},
	{name: "configuration state of an unknown component", kind: "ConfigurationState", mutate: []mutation{set("spec.component", "dancer")},
		wantErr: []string{"spec.component", "Unsupported value"}},
	{name: "service L2 status moved to another node", kind: "ServiceL2Status", op: onUpdate, mutate: []mutation{set("spec.node", "node-2")},
		wantErr: []string{"spec", "spec is immutable"}},
	{name: "BGP session state with an unknown state", kind: "BGPSessionState", op: onStatusUpdate, mutate: []mutation{set("status.sessionState", "Flying")},
		wantErr: []string{"status.sessionState", "Unsupported value"}},
	{name: "BGP session state with a known state", kind: "BGPSessionState", op: onStatusUpdate, mutate: []mutation{set("status.sessionState", "Established"), set("status.prefixesSent", 3)}},
}

func TestSchema(t *testing.T) {
	s := samples(t)
	rejected := 0
	for i, tc := range schemaCases {
		if len(tc.wantErr) > 0 {
			rejected++
		}
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sample, ok := s[tc.kind]
			if !ok {
				t.Fatalf("no sample of kind %s", tc.kind)
			}
			obj := sample.DeepCopy()
			obj.SetName(fmt.Sprintf("case-%d", i))
			var err error
			switch tc.op {
			case onCreate:
				for _, m := range tc.mutate {
					m(obj.Object)
				}
				err = k8s.Create(ctx, obj)
			case onUpdate, onStatusUpdate:
				if err := k8s.Create(ctx, obj); err != nil {
					t.Fatalf("create the sample: %v", err)
				}
				for _, m := range tc.mutate {
					m(obj.Object)
				}
				if tc.op == onUpdate {
					err = k8s.Update(ctx, obj)
				} else {
					err = k8s.Status().Update(ctx, obj)
				}
			}
			t.Cleanup(func() { _ = k8s.Delete(context.Background(), obj) })
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("rejected, want accepted: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
	if rejected < 25 {
		t.Errorf("only %d rejection cases; the schema needs at least 25", rejected)
	}
}

// Defaults that the programs rely on are applied by the API server.
func TestSchemaDefaults(t *testing.T) {
	ctx := context.Background()
	pool := &heraldv1beta1.IPAddressPool{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns},
		Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.0/28"}},
	}
	if err := k8s.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if pool.Spec.AutoAssign == nil || !*pool.Spec.AutoAssign {
		t.Errorf("autoAssign = %v, want default true", pool.Spec.AutoAssign)
	}
	peer := &heraldv1beta1.BGPPeer{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns},
		Spec:       heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: ptr(int64(64513)), PeerAddress: "203.0.113.1"},
	}
	if err := k8s.Create(ctx, peer); err != nil {
		t.Fatal(err)
	}
	if peer.Spec.PeerPort != 179 {
		t.Errorf("peerPort = %d, want default 179", peer.Spec.PeerPort)
	}
	ad := &heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns}}
	if err := k8s.Create(ctx, ad); err != nil {
		t.Fatal(err)
	}
	if ad.Spec.AggregationLength == nil || *ad.Spec.AggregationLength != 32 || ad.Spec.AggregationLengthV6 == nil || *ad.Spec.AggregationLengthV6 != 128 {
		t.Errorf("aggregation lengths = %v/%v, want defaults 32/128", ad.Spec.AggregationLength, ad.Spec.AggregationLengthV6)
	}
	bfd := &heraldv1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: ns}}
	if err := k8s.Create(ctx, bfd); err != nil {
		t.Fatal(err)
	}
	if bfd.Spec.ReceiveInterval == nil || *bfd.Spec.ReceiveInterval != 300 || bfd.Spec.DetectMultiplier == nil || *bfd.Spec.DetectMultiplier != 3 {
		t.Errorf("BFD defaults = %v/%v, want 300/3", bfd.Spec.ReceiveInterval, bfd.Spec.DetectMultiplier)
	}
}

// Status written by a program survives and is kept apart from spec.
func TestStatusSubresource(t *testing.T) {
	ctx := context.Background()
	pool := &heraldv1beta1.IPAddressPool{
		ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: ns},
		Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"2001:db8:5::/48"}},
	}
	if err := k8s.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	pool.Status.AssignedIPv6 = 2
	pool.Status.AvailableIPv6 = "1208925819614629174706174"
	if err := k8s.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	got := &heraldv1beta1.IPAddressPool{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pool), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.AvailableIPv6 != "1208925819614629174706174" || got.Status.AssignedIPv6 != 2 {
		t.Errorf("status = %+v, want what was written", got.Status)
	}
	got.Spec.AvoidBuggyIPs = true
	got.Status.AssignedIPv6 = 99
	if err := k8s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pool), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.AssignedIPv6 != 2 {
		t.Errorf("a spec update changed status to %d", got.Status.AssignedIPv6)
	}
}

// manyBlocks returns n distinct /32 blocks.
func manyBlocks(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("198.51.100.%d", i+1)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
