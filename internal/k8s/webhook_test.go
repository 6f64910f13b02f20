package k8s

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

// webhookLabel marks the namespaces a test's webhook configuration covers, so that the shared
// API server's other tests never meet it.
const webhookLabel = "herald.io/webhook-test"

// testWebhook is an in-process webhook server of one fixture, registered with the API server.
type testWebhook struct {
	addr, configName string
}

// runWebhook serves the webhook for the fixture's install namespace on 127.0.0.1 and registers
// it for the namespaces labelled for the fixture. It returns once the API server calls it.
func runWebhook(t *testing.T, f *fixture, certs CertOptions) *testWebhook {
	t.Helper()
	hostPort := testenv.FreePort(t)
	var port int
	if _, err := fmt.Sscanf(hostPort[strings.LastIndex(hostPort, ":")+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	w := &testWebhook{addr: hostPort, configName: "herald-validating-webhook-" + f.install}
	mgr := testManager(t, f.install)
	certs.Namespace, certs.WebhookConfigurationName = f.install, w.configName
	if certs.SecretName == "" {
		certs.SecretName = "herald-webhook-cert"
	}
	certs.Hosts = append(ServiceHosts("herald-webhook", f.install), "127.0.0.1")
	if certs.CheckInterval == 0 {
		certs.CheckInterval = 200 * time.Millisecond
	}
	certs.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := SetupWebhook(mgr, WebhookOptions{Host: "127.0.0.1", Port: port, Namespace: f.install, LoadBalancerClass: f.class, Certificates: certs}); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr, "webhook")

	f.labelNamespace(f.install)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: w.configName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.herald.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://" + hostPort + WebhookPath)},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{webhookLabel: f.install}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"herald.io"}, APIVersions: []string{"v1beta1"},
					Resources: []string{"ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities"}},
			}},
		}},
	}
	if err := sharedClient.Create(context.Background(), vwc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sharedClient.Delete(context.Background(), vwc) })
	// Ready once the API server trusts the certificate and the webhook refuses a bad object.
	eventually(t, "the API server calls the webhook", func() string {
		probe := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: f.install},
			Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.128/25", "203.0.113.200"}}}
		err := sharedClient.Create(context.Background(), probe, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "overlaps spec.addresses[0] of the same pool") {
			return fmt.Sprintf("dry-run create of a self-overlapping pool: %v", err)
		}
		return ""
	})
	return w
}

// labelNamespace puts a namespace under the fixture's webhook.
func (f *fixture) labelNamespace(name string) {
	f.t.Helper()
	ns := &corev1.Namespace{}
	if err := sharedClient.Get(context.Background(), types.NamespacedName{Name: name}, ns); err != nil {
		f.t.Fatal(err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[webhookLabel] = f.install
	if err := sharedClient.Update(context.Background(), ns); err != nil {
		f.t.Fatal(err)
	}
}

// servedCert dials the webhook and returns the certificate it serves, verified against the
// caBundle of its webhook configuration for the Service's DNS name.
func (w *testWebhook) servedCert(f *fixture) (*x509.Certificate, error) {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := sharedClient.Get(context.Background(), types.NamespacedName{Name: w.configName}, vwc); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle) {
		return nil, fmt.Errorf("caBundle %q holds no certificate", vwc.Webhooks[0].ClientConfig.CABundle)
	}
	conn, err := tls.Dial("tcp", w.addr, &tls.Config{RootCAs: pool, ServerName: "herald-webhook." + f.install + ".svc"})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestWebhookCertificateIsMadeStoredAndRotated(t *testing.T) {
	f := newFixture(t)
	w := runWebhook(t, f, CertOptions{Validity: 3 * time.Second, CAValidity: 6 * time.Second})
	first, err := w.servedCert(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"herald-webhook." + f.install + ".svc", "herald-webhook." + f.install + ".svc.cluster.local"} {
		if err := first.VerifyHostname(name); err != nil {
			t.Errorf("served certificate: %v", err)
		}
	}
	sec := &corev1.Secret{}
	if err := sharedClient.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: "herald-webhook-cert"}, sec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sec.Data[corev1.TLSCertKey], []byte("BEGIN CERTIFICATE")) || len(sec.Data[SecretCAKey]) == 0 {
		t.Errorf("Secret lacks the certificate or the CA key: keys %v", keys(sec.Data))
	}

	// Both the serving certificate and the CA come to renewal: new ones are served, the
	// caBundle follows, and the API server keeps calling the webhook throughout.
	bad := &heraldv1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "during-rotation", Namespace: f.install},
		Spec: heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{"203.0.113.0/28", "203.0.113.3"}}}
	stop := make(chan struct{})
	probed := make(chan []string)
	go func() {
		var failures []string
		for calls := 0; ; calls++ {
			select {
			case <-stop:
				probed <- failures
				return
			case <-time.After(50 * time.Millisecond):
			}
			err := sharedClient.Create(context.Background(), bad, client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "denied the request: "+`IPAddressPool "during-rotation"`) {
				failures = append(failures, fmt.Sprintf("call %d: %v", calls, err))
			}
		}
	}()
	firstCA := first.AuthorityKeyId
	var rotated *x509.Certificate
	eventually(t, "a certificate from a new CA is served and trusted through the caBundle", func() string {
		c, err := w.servedCert(f)
		if err != nil {
			return err.Error()
		}
		if bytes.Equal(c.AuthorityKeyId, firstCA) {
			return fmt.Sprintf("still served by the first CA, serial %s", c.SerialNumber)
		}
		rotated = c
		return ""
	})
	if rotated.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("the serving certificate did not change")
	}
	close(stop)
	if failures := <-probed; len(failures) > 0 {
		t.Errorf("the API server could not call the webhook %d times during the rotation: %s", len(failures), strings.Join(failures, "; "))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// warnings collects the warnings the API server passes on from admission webhooks.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.Join(w.list, "\n")
	w.list = nil
	return s
}

func TestWebhookWarnsOfPendingReferencesAndOfServicesAPoolEditMoves(t *testing.T) {
	f := newFixture(t)
	runWebhook(t, f, CertOptions{})
	f.pool("blue", nil, "192.0.2.0/28")
	runController(t, f.options())
	f.service("web", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.5"))
	f.service("other", withAnnotation(AnnotationLoadBalancerIPs, "192.0.2.12"))
	f.addresses("web", 1)
	f.addresses("other", 1)

	cfg := rest.CopyConfig(sharedEnv.Config)
	got := &warnings{}
	cfg.WarningHandler = got
	c, err := client.New(cfg, client.Options{Scheme: sharedEnv.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ad := &heraldv1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2", Namespace: f.install},
		Spec: heraldv1beta1.L2AdvertisementSpec{IPAddressPools: []heraldv1beta1.ObjectName{"blue", "later"}}}
	if err := c.Create(context.Background(), ad); err != nil {
		t.Fatal(err)
	}
	if w := got.take(); !strings.Contains(w, `L2Advertisement "l2": spec.ipAddressPools names IPAddressPool "later", which does not exist yet`) {
		t.Errorf("warnings on creating an advertisement of a missing pool: %q", w)
	}

	// Shrinking blue to 192.0.2.8/29 strands web's 192.0.2.5: allowed, and said.
	blue := &heraldv1beta1.IPAddressPool{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: f.install, Name: "blue"}, blue); err != nil {
		t.Fatal(err)
	}
	blue.Spec.Addresses = []heraldv1beta1.AddressRange{"192.0.2.8/29"}
	if err := c.Update(context.Background(), blue); err != nil {
		t.Fatal(err)
	}
	w := got.take()
	if want := fmt.Sprintf("Service %s/web will move: 192.0.2.5 no longer in the pool", f.ns); !strings.Contains(w, want) {
		t.Errorf("warnings on shrinking the pool: %q, want %q", w, want)
	}
	if strings.Contains(w, "other") {
		t.Errorf("a Service that keeps its address is named: %q", w)
	}
	// The controller says it too, on its ConfigurationState.
	eventually(t, "the controller notes the stranded Service", func() string {
		if ev := f.installEvents("ConfigurationState", "controller"); !strings.Contains(ev, ReasonAddressesStranded+": the pools no longer hold the addresses of 1 Services, which get new ones: "+f.ns+"/web") {
			return "events: " + ev
		}
		return ""
	})
}
