package k8s

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/heraldlb/herald/internal/config"
)

// WebhookPath is where herald-controller serves the validating webhook of every Herald
// configuration kind.
const WebhookPath = "/validate-herald-io-v1beta1"

// maxStrandWarnings is how many Services a pool edit's warning names one by one.
const maxStrandWarnings = 10

// ConfigValidator is the validating admission webhook of Herald's configuration kinds. It judges
// each change with config.Review, so that the webhook and the programs apply the same rules, and
// warns about the Services a pool edit moves.
//
// The configuration is read from the API server, not from the cache: objects applied together
// (kubectl apply -f dir/) arrive faster than a watch, and a cache a moment behind would let two
// conflicting ones in. Configuration changes are rare; the reads are cheap. Services, for the
// warnings only, come from the cache.
type ConfigValidator struct {
	live      client.Reader
	reader    client.Reader
	decoder   admission.Decoder
	scheme    *runtime.Scheme
	namespace string
	class     string
}

// NewConfigValidator builds the webhook handler for the install namespace; class is the load
// balancer class the controller serves, to find the Services a pool edit moves.
func NewConfigValidator(mgr manager.Manager, namespace, class string) *ConfigValidator {
	return &ConfigValidator{live: mgr.GetAPIReader(), reader: mgr.GetCache(), decoder: admission.NewDecoder(mgr.GetScheme()), scheme: mgr.GetScheme(),
		namespace: namespace, class: class}
}

// Handle judges one admission request.
func (v *ConfigValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	gvk := schema.GroupVersionKind(req.Kind)
	obj, err := v.scheme.New(gvk)
	if err != nil {
		return admission.Allowed("not a kind Herald validates")
	}
	raw := req.Object
	if req.Operation == admissionv1.Delete {
		raw = req.OldObject
	}
	if err := v.decoder.DecodeRaw(raw, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode %s: %w", gvk.Kind, err))
	}
	res, err := readResources(ctx, v.live, v.namespace)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("read the configuration: %w", err))
	}
	verdict, err := config.Review(res, v.namespace, config.Operation(req.Operation), obj)
	if err != nil {
		return admission.Allowed("not a kind Herald validates")
	}
	if len(verdict.Errors) > 0 {
		lines := make([]string, len(verdict.Errors))
		for i, e := range verdict.Errors {
			lines[i] = e.Error()
		}
		return admission.Denied(strings.Join(lines, "; "))
	}
	warnings := verdict.Warnings
	strand, err := v.strandWarnings(ctx, verdict)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Allowed("").WithWarnings(append(warnings, strand...)...)
}

// strandWarnings names the Services whose addresses the change takes out of their pool.
func (v *ConfigValidator) strandWarnings(ctx context.Context, verdict config.Verdict) ([]string, error) {
	var list corev1.ServiceList
	if err := v.reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Services: %w", err)
	}
	var out []string
	moved := 0
	for i := range list.Items {
		svc := &list.Items[i]
		if !serves(svc, v.class) {
			continue
		}
		var lost []string
		for _, a := range ingressAddresses(svc) {
			if verdict.Strands(a) {
				lost = append(lost, a.String())
			}
		}
		if len(lost) == 0 {
			continue
		}
		moved++
		if moved <= maxStrandWarnings {
			out = append(out, fmt.Sprintf("Service %s/%s will move: %s no longer in the pool", svc.Namespace, svc.Name, strings.Join(lost, ", ")))
		}
	}
	if moved > maxStrandWarnings {
		out = append(out, fmt.Sprintf("and %d more Services will move to new addresses", moved-maxStrandWarnings))
	}
	return out, nil
}

// WebhookOptions configure the webhook server of herald-controller.
type WebhookOptions struct {
	// Port is the HTTPS port; Host the address, empty for every address.
	Port int
	Host string
	// Namespace is the install namespace; LoadBalancerClass the class the controller serves.
	Namespace, LoadBalancerClass string
	// Certificates say how the serving certificate is made and kept.
	Certificates CertOptions
}

// SetupWebhook adds to the manager the webhook server, serving the ConfigValidator at
// WebhookPath, and the CertKeeper that provides its certificate. Every replica serves the
// webhook, leader or not.
func SetupWebhook(mgr manager.Manager, opts WebhookOptions) error {
	certs := NewCertKeeper(mgr, opts.Certificates)
	srv := webhook.NewServer(webhook.Options{Host: opts.Host, Port: opts.Port, TLSOpts: []func(*tls.Config){
		func(c *tls.Config) { c.GetCertificate = certs.GetCertificate },
	}})
	srv.Register(WebhookPath, &webhook.Admission{Handler: NewConfigValidator(mgr, opts.Namespace, opts.LoadBalancerClass)})
	if err := mgr.Add(certs); err != nil {
		return fmt.Errorf("add webhook certificate keeper: %w", err)
	}
	if err := mgr.Add(srv); err != nil {
		return fmt.Errorf("add webhook server: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-certificate", certs.Ready); err != nil {
		return fmt.Errorf("add webhook readiness check: %w", err)
	}
	return nil
}
