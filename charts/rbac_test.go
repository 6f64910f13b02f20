package charts_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

// rbacKinds are the objects of the chart that grant rights.
var rbacKinds = map[string]bool{"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true}

// as returns a config that impersonates the chart's ServiceAccount sa, as the kubelet's token
// for its pods would authenticate.
func as(sa string) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", installNamespace, sa),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + installNamespace, "system:authenticated"},
	}
	return cfg
}

func mustCreate(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := admin.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// eventually polls cond until it returns "" or fails the test with its last answer after a
// minute.
func eventually(t *testing.T, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: %s", what, last)
}

// The programs run with exactly the rights the chart gives their ServiceAccounts: the
// controller assigns an address and writes the pool status, the speaker advertises the Service
// over BGP and writes its status objects, neither logs a refused request, and writes outside
// their rights are refused.
func TestProgramsWorkWithTheChartRBACAndNothingMore(t *testing.T) {
	ctx := context.Background()
	ensureNamespace(t, installNamespace, nil)
	ensureNamespace(t, "rbac-app", nil)
	for _, o := range decode(t, render(t)) {
		// The RBAC objects, and the (empty) Secret the chart makes for the webhook certificate,
		// which the controller may only fill, not create.
		if rbacKinds[o.GetKind()] || (o.GetKind() == "Secret" && o.GetName() == "herald-webhook-cert") {
			mustCreate(t, o)
		}
	}

	// The configuration: a pool, a BGP peer on a closed loopback port (the session never leaves
	// this host), its password in a Secret, an advertisement; a node with an endpoint of the
	// Service.
	bgpPort := testenv.FreePort(t)
	_, port, _ := strings.Cut(bgpPort, ":")
	mustCreate(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "router-password", Namespace: installNamespace}, Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"password": []byte("s3cret")}},
		&heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac", Namespace: installNamespace},
			Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"192.0.2.16/28"}}},
		&heraldv1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: installNamespace},
			Spec: heraldv1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: ptr.To[int64](64513), PeerAddress: "127.0.0.1", PeerPort: mustPort(t, port),
				RouterID: "192.0.2.254", PasswordSecret: &corev1.SecretReference{Name: "router-password"}}},
		&heraldv1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "rbac", Namespace: installNamespace},
			Spec: heraldv1beta1.BGPAdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"rbac"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "rbac-node"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "rbac-app"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "rbac-app", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"203.0.113.10"}, NodeName: ptr.To("rbac-node"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}},
	)

	controller := testenv.StartProcess(t, programs.Build(t, "controller"),
		"--kubeconfig="+testenv.WriteKubeconfig(t, as("herald-controller")), "--namespace="+installNamespace,
		"--leader-elect=true", "--metrics-bind-address=0", "--health-probe-bind-address="+testenv.FreePort(t), "--log-format=text",
		// As the chart's Deployment passes them (TestChartPassesOnlyFlagsTheProgramsHave).
		"--webhook-port="+strings.TrimPrefix(testenv.FreePort(t), "127.0.0.1:"),
		"--webhook-secret-name=herald-webhook-cert", "--webhook-configuration-name=herald-webhook")
	// --exclude-interfaces='*': the speaker answers ARP/NDP on none of this host's interfaces.
	_, mlPort, _ := strings.Cut(testenv.FreePort(t), ":")
	speaker := testenv.StartProcess(t, programs.Build(t, "speaker"),
		"--kubeconfig="+testenv.WriteKubeconfig(t, as("herald-speaker")), "--namespace="+installNamespace, "--node-name=rbac-node",
		"--memberlist-bind-address=127.0.0.1", "--memberlist-advertise-address=127.0.0.1", "--memberlist-port="+mlPort,
		"--exclude-interfaces=*", "--metrics-bind-address=0", "--health-probe-bind-address="+testenv.FreePort(t), "--log-format=text")

	var addr netip.Addr
	eventually(t, "the controller gives the Service an address from the pool", func() string {
		var svc corev1.Service
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "rbac-app", Name: "web"}, &svc); err != nil {
			return err.Error()
		}
		if len(svc.Status.LoadBalancer.Ingress) != 1 {
			return fmt.Sprintf("ingress %v", svc.Status.LoadBalancer.Ingress)
		}
		addr, _ = netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		if !netip.MustParsePrefix("192.0.2.16/28").Contains(addr) {
			return fmt.Sprintf("address %s is not from the pool", addr)
		}
		return ""
	})
	eventually(t, "the controller writes the pool status", func() string {
		var pool heraldv1beta1.IPAddressPool
		if err := admin.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: "rbac"}, &pool); err != nil {
			return err.Error()
		}
		if pool.Status.AssignedIPv4 != 1 {
			return fmt.Sprintf("status %+v", pool.Status)
		}
		return ""
	})
	eventually(t, "the speaker writes its ServiceBGPStatus and BGPSessionState", func() string {
		var svcs heraldv1beta1.ServiceBGPStatusList
		var sessions heraldv1beta1.BGPSessionStateList
		if err := admin.List(ctx, &svcs, client.InNamespace(installNamespace)); err != nil {
			return err.Error()
		}
		if err := admin.List(ctx, &sessions, client.InNamespace(installNamespace)); err != nil {
			return err.Error()
		}
		if len(svcs.Items) != 1 || svcs.Items[0].Spec.Node != "rbac-node" || !strings.Contains(fmt.Sprint(svcs.Items[0].Status.Prefixes), addr.String()) {
			return fmt.Sprintf("ServiceBGPStatuses %+v", svcs.Items)
		}
		if len(sessions.Items) != 1 || sessions.Items[0].Status.SessionState == "" {
			return fmt.Sprintf("BGPSessionStates %+v", sessions.Items)
		}
		return ""
	})
	for name, p := range map[string]*testenv.Process{"controller": controller, "speaker": speaker} {
		if strings.Contains(p.Logs.String(), "forbidden") {
			t.Errorf("a request of the %s was refused:\n%s", name, p.Logs)
		}
	}

	t.Run("the speaker cannot change Services or the configuration", func(t *testing.T) {
		sp := clientAs(t, "herald-speaker")
		var svc corev1.Service
		if err := sp.Get(ctx, client.ObjectKey{Namespace: "rbac-app", Name: "web"}, &svc); err != nil {
			t.Fatalf("the speaker cannot read the Service: %v", err)
		}
		svc.Spec.Ports[0].Port = 8080
		wantForbidden(t, "update a Service spec", sp.Update(ctx, svc.DeepCopy()))
		wantForbidden(t, "write a Service status", sp.Status().Update(ctx, svc.DeepCopy()))
		var pool heraldv1beta1.IPAddressPool
		if err := sp.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: "rbac"}, &pool); err != nil {
			t.Fatalf("the speaker cannot read the pool: %v", err)
		}
		pool.Spec.Addresses = append(pool.Spec.Addresses, "203.0.113.32/28")
		wantForbidden(t, "update an IPAddressPool", sp.Update(ctx, pool.DeepCopy()))
		wantForbidden(t, "create an IPAddressPool", sp.Create(ctx, &heraldv1beta1.IPAddressPool{
			ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: installNamespace},
			Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.0/28"}}}))
		wantForbidden(t, "list Secrets", sp.List(ctx, &corev1.SecretList{}, client.InNamespace(installNamespace)))
		wantForbidden(t, "read a Secret of another namespace", sp.Get(ctx, client.ObjectKey{Namespace: "rbac-app", Name: "any"}, &corev1.Secret{}))
	})

	t.Run("the controller reads no Secret but its webhook certificate", func(t *testing.T) {
		ct := clientAs(t, "herald-controller")
		wantForbidden(t, "read the BGP password Secret", ct.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: "router-password"}, &corev1.Secret{}))
		wantForbidden(t, "list Secrets", ct.List(ctx, &corev1.SecretList{}, client.InNamespace(installNamespace)))
		// The chart's empty Secret, filled by the controller with its certificate.
		eventually(t, "the controller's certificate in the chart's Secret", func() string {
			var sec corev1.Secret
			if err := ct.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: "herald-webhook-cert"}, &sec); err != nil {
				return err.Error()
			}
			if len(sec.Data["tls.crt"]) == 0 || len(sec.Data["ca.crt"]) == 0 {
				return fmt.Sprintf("Secret keys %v", slices.Collect(maps.Keys(sec.Data)))
			}
			return ""
		})
		// Allowed, so the API server looks and finds nothing: the test made no webhook configuration.
		err := ct.Get(ctx, client.ObjectKey{Name: "herald-webhook"}, &admissionregistrationv1.ValidatingWebhookConfiguration{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("read its ValidatingWebhookConfiguration: got %v, want allowed (not found)", err)
		}
		wantForbidden(t, "read another ValidatingWebhookConfiguration",
			ct.Get(ctx, client.ObjectKey{Name: "someone-else"}, &admissionregistrationv1.ValidatingWebhookConfiguration{}))
		wantForbidden(t, "write a ServiceBGPStatus", ct.Create(ctx, &heraldv1beta1.ServiceBGPStatus{
			ObjectMeta: metav1.ObjectMeta{Name: "forged", Namespace: installNamespace},
			Spec:       heraldv1beta1.ServiceAnnouncementSpec{Node: "rbac-node", ServiceName: "web", ServiceNamespace: "rbac-app"}}))
		wantForbidden(t, "delete an IPAddressPool", ct.Delete(ctx, &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "rbac", Namespace: installNamespace}}))
	})
}

func clientAs(t *testing.T, sa string) client.Client {
	t.Helper()
	c, err := client.New(as(sa), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: got %v, want forbidden", what, err)
	}
}

func mustPort(t *testing.T, s string) int32 {
	t.Helper()
	var p int32
	if _, err := fmt.Sscan(s, &p); err != nil {
		t.Fatal(err)
	}
	return p
}
