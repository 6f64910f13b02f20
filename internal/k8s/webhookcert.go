package k8s

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// SecretCAKey is the key of the webhook Secret that holds the signing CA's private key. The
// Secret also holds ca.crt (the CA bundle: the signing CA first, then the previous CA while it is
// still valid), tls.crt and tls.key.
const SecretCAKey = "ca.key"

// CertOptions say how the webhook's serving certificate is made and kept.
type CertOptions struct {
	// Namespace and SecretName locate the Secret that holds the CA and the certificate, shared
	// by every replica.
	Namespace, SecretName string
	// WebhookConfigurationName is the ValidatingWebhookConfiguration whose caBundle is kept
	// current; empty leaves caBundles alone.
	WebhookConfigurationName string
	// Hosts are the DNS names and IP addresses the certificate is valid for (ServiceHosts).
	Hosts []string
	// Validity is the serving certificate's lifetime, default one year; CAValidity the CA's,
	// default four times Validity. Each is renewed when two thirds of its lifetime have passed.
	Validity, CAValidity time.Duration
	// CheckInterval is how often the Secret and the caBundle are checked, default 10s.
	CheckInterval time.Duration
	Logger        *slog.Logger
}

// ServiceHosts returns the names under which the API server reaches a Service.
func ServiceHosts(service, namespace string) []string {
	return []string{service, service + "." + namespace, service + "." + namespace + ".svc", service + "." + namespace + ".svc.cluster.local"}
}

// CertKeeper makes the webhook's CA and serving certificate, keeps them in a Secret so that
// every replica serves the same, renews them before they expire, keeps the caBundle of the
// ValidatingWebhookConfiguration current, and hands the certificate to the TLS server.
//
// A new CA is added to the caBundle, next to the old one, before any replica serves a
// certificate it signed: the API server trusts both during the change.
type CertKeeper struct {
	opts   CertOptions
	client client.Client
	reader client.Reader
	log    *slog.Logger

	mu      sync.Mutex
	serving *tls.Certificate
	// trusted is the caBundle the webhook configuration holds since the last check.
	trusted []byte
	// missingConfig remembers that the webhook configuration was absent, to say so once.
	missingConfig bool
}

var _ manager.LeaderElectionRunnable = (*CertKeeper)(nil)

// NewCertKeeper builds the keeper; the manager starts it.
func NewCertKeeper(mgr manager.Manager, opts CertOptions) *CertKeeper {
	if opts.Validity <= 0 {
		opts.Validity = 365 * 24 * time.Hour
	}
	if opts.CAValidity <= 0 {
		opts.CAValidity = 4 * opts.Validity
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &CertKeeper{opts: opts, client: mgr.GetClient(), reader: mgr.GetAPIReader(), log: opts.Logger}
}

// NeedLeaderElection is false: every replica serves the webhook.
func (k *CertKeeper) NeedLeaderElection() bool { return false }

// GetCertificate serves the current certificate (tls.Config.GetCertificate).
func (k *CertKeeper) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.serving == nil {
		return nil, errors.New("webhook certificate not loaded yet")
	}
	return k.serving, nil
}

// Ready fails until there is a certificate to serve (a readiness check).
func (k *CertKeeper) Ready(*http.Request) error {
	_, err := k.GetCertificate(nil)
	return err
}

// Start checks the Secret and the caBundle every CheckInterval until ctx ends.
func (k *CertKeeper) Start(ctx context.Context) error {
	for {
		if err := k.sync(ctx, time.Now()); err != nil && ctx.Err() == nil {
			k.log.Error("cannot bring the webhook certificate up to date; retrying", "error", err.Error(), "in", k.opts.CheckInterval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(k.opts.CheckInterval):
		}
	}
}

func (k *CertKeeper) sync(ctx context.Context, now time.Time) error {
	key := types.NamespacedName{Namespace: k.opts.Namespace, Name: k.opts.SecretName}
	sec := &corev1.Secret{}
	err := k.reader.Get(ctx, key, sec)
	var b *certBundle
	switch {
	case apierrors.IsNotFound(err):
		if b, err = k.issue(nil, now); err != nil {
			return err
		}
		sec = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Type: corev1.SecretTypeTLS, Data: b.data()}
		if err := k.client.Create(ctx, sec); err != nil {
			// Another replica made it first: take that one at the next check.
			return fmt.Errorf("create Secret %s: %w", key, err)
		}
		k.log.Info("created the webhook certificate", "secret", key.String(), "notAfter", b.cert.NotAfter)
	case err != nil:
		return fmt.Errorf("read Secret %s: %w", key, err)
	default:
		old, perr := parseBundle(sec.Data)
		if b, err = k.renew(old, perr, now); err != nil {
			return err
		}
		if b != old {
			updated := sec.DeepCopy()
			updated.Data = b.data()
			if err := k.client.Update(ctx, updated); err != nil {
				return fmt.Errorf("update Secret %s: %w", key, err)
			}
			k.log.Info("renewed the webhook certificate", "secret", key.String(), "notAfter", b.cert.NotAfter, "newCA", old == nil || !old.caCerts[0].Equal(b.caCerts[0]))
		}
	}
	bundle, err := k.ensureCABundle(ctx, b.caPEM)
	if err != nil {
		k.log.Error("cannot update the webhook configuration's caBundle", "webhookConfiguration", k.opts.WebhookConfigurationName, "error", err.Error())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// The API server learns of a caBundle change through a watch, a moment after it is made:
	// a certificate from a new CA is served only once the caBundle held that CA at the previous
	// check. Without a webhook configuration to wait for, or when it cannot be read, there is
	// nothing better to do than to serve.
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.caCerts[0].Raw})
	if k.serving == nil || bundle == nil || err != nil || bytes.Contains(k.trusted, caPEM) {
		k.serving = &b.tls
	}
	k.trusted = bundle
	return nil
}

// renew returns the bundle to keep: old itself when it is valid and not due, else a new one.
func (k *CertKeeper) renew(old *certBundle, parseErr error, now time.Time) (*certBundle, error) {
	if parseErr != nil {
		k.log.Info("the webhook certificate Secret holds no usable certificate; making a new one", "reason", parseErr.Error())
		return k.issue(nil, now)
	}
	if now.After(renewTime(old.caCerts[0])) {
		return k.issue(old, now)
	}
	if now.After(renewTime(old.cert)) || !sameHosts(old.cert, k.opts.Hosts) || old.cert.CheckSignatureFrom(old.caCerts[0]) != nil {
		return k.issueCert(old.caCerts, old.caKey, now)
	}
	return old, nil
}

// renewTime is when two thirds of a certificate's lifetime have passed.
func renewTime(c *x509.Certificate) time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
}

// issue makes a new CA and a certificate it signs; the bundle keeps old's CA while it is valid.
func (k *CertKeeper) issue(old *certBundle, now time.Time) (*certBundle, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := certTemplate(now, k.opts.CAValidity)
	tmpl.Subject = pkix.Name{CommonName: "herald-webhook-ca"}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("make the webhook CA: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	cas := []*x509.Certificate{ca}
	if old != nil && now.Before(old.caCerts[0].NotAfter) {
		cas = append(cas, old.caCerts[0])
	}
	return k.issueCert(cas, caKey, now)
}

// issueCert makes a serving certificate signed by cas[0].
func (k *CertKeeper) issueCert(cas []*x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) (*certBundle, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := certTemplate(now, k.opts.Validity)
	tmpl.Subject = pkix.Name{CommonName: "herald-webhook"}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range k.opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cas[0], &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("make the webhook certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return nil, err
	}
	var caPEM bytes.Buffer
	for _, c := range cas {
		_ = pem.Encode(&caPEM, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	data := map[string][]byte{
		corev1.TLSCertKey:              pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		corev1.TLSPrivateKeyKey:        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		corev1.ServiceAccountRootCAKey: caPEM.Bytes(),
		SecretCAKey:                    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKeyDER}),
	}
	return parseBundle(data)
}

func certTemplate(now time.Time, validity time.Duration) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	// Back-dated a little for clocks behind ours; short-lived certificates (tests) barely.
	return &x509.Certificate{SerialNumber: serial, NotBefore: now.Add(-min(validity/10, time.Hour)), NotAfter: now.Add(validity)}
}

// sameHosts says whether a certificate is valid for exactly these names and addresses.
func sameHosts(c *x509.Certificate, hosts []string) bool {
	have := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		have = append(have, ip.String())
	}
	want := slices.Clone(hosts)
	for i, h := range want {
		if ip := net.ParseIP(h); ip != nil {
			want[i] = ip.String()
		}
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(slices.Compact(have), slices.Compact(want))
}

// certBundle is the content of the webhook Secret, parsed.
type certBundle struct {
	caCerts []*x509.Certificate // caCerts[0] signs
	caKey   *ecdsa.PrivateKey
	cert    *x509.Certificate
	tls     tls.Certificate
	caPEM   []byte
	raw     map[string][]byte
}

func (b *certBundle) data() map[string][]byte { return b.raw }

func parseBundle(data map[string][]byte) (*certBundle, error) {
	b := &certBundle{raw: data, caPEM: data[corev1.ServiceAccountRootCAKey]}
	var err error
	if b.tls, err = tls.X509KeyPair(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey]); err != nil {
		return nil, fmt.Errorf("tls.crt and tls.key: %w", err)
	}
	if b.cert, err = x509.ParseCertificate(b.tls.Certificate[0]); err != nil {
		return nil, fmt.Errorf("tls.crt: %w", err)
	}
	for rest := b.caPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ca.crt: %w", err)
		}
		b.caCerts = append(b.caCerts, c)
	}
	if len(b.caCerts) == 0 {
		return nil, errors.New("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(data[SecretCAKey])
	if block == nil {
		return nil, errors.New("ca.key holds no key")
	}
	if b.caKey, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
		return nil, fmt.Errorf("ca.key: %w", err)
	}
	return b, nil
}

// ensureCABundle makes every webhook of the configuration trust caPEM. It returns the caBundle
// the configuration holds afterwards, nil when there is no configuration to keep.
func (k *CertKeeper) ensureCABundle(ctx context.Context, caPEM []byte) ([]byte, error) {
	if k.opts.WebhookConfigurationName == "" {
		return nil, nil
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	err := k.reader.Get(ctx, types.NamespacedName{Name: k.opts.WebhookConfigurationName}, vwc)
	if apierrors.IsNotFound(err) {
		k.mu.Lock()
		if !k.missingConfig {
			k.log.Info("no ValidatingWebhookConfiguration yet; its caBundle is set once it exists", "name", k.opts.WebhookConfigurationName)
		}
		k.missingConfig = true
		k.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.missingConfig = false
	k.mu.Unlock()
	patched := vwc.DeepCopy()
	changed := false
	for i := range patched.Webhooks {
		if !bytes.Equal(patched.Webhooks[i].ClientConfig.CABundle, caPEM) {
			patched.Webhooks[i].ClientConfig.CABundle = caPEM
			changed = true
		}
	}
	if !changed {
		return caPEM, nil
	}
	if err := k.client.Patch(ctx, patched, client.MergeFromWithOptions(vwc, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, fmt.Errorf("patch caBundle of ValidatingWebhookConfiguration %s: %w", vwc.Name, err)
	}
	k.log.Info("updated the webhook configuration's caBundle", "name", vwc.Name)
	return caPEM, nil
}
