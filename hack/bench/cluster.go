package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

// cluster is the API server the benchmark runs against, with the clients the benchmark itself
// uses and a kubeconfig for the processes it starts.
type cluster struct {
	env *testenv.Env
	// kube reads and writes Services and namespaces; pools go through crc.
	kube kubernetes.Interface
	crc  client.Client
	// kubeconfig is a file reaching the API server as an administrator.
	kubeconfig string
}

// startCluster starts kube-apiserver and etcd with Herald's CRDs. dir receives the kubeconfig.
func startCluster(dir string) (*cluster, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	c := &cluster{env: env}
	if err := c.connect(dir); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) connect(dir string) error {
	cfg := benchRESTConfig(c.env.Config)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client for the test API server: %w", err)
	}
	// controller-runtime picks protobuf itself for the built-in kinds; CRDs speak JSON only.
	crcCfg := rest.CopyConfig(cfg)
	crcCfg.ContentType, crcCfg.AcceptContentTypes = "", ""
	crc, err := client.New(crcCfg, client.Options{Scheme: c.env.Scheme})
	if err != nil {
		return fmt.Errorf("client for the test API server: %w", err)
	}
	c.kube, c.crc = kube, crc
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	return writeKubeconfig(c.env.Config, c.kubeconfig)
}

// stop stops the API server and etcd; it may be called more than once.
func (c *cluster) stop() error { return c.env.Stop() }

// benchRESTConfig is cfg as the benchmark's own clients use it: no client-side rate limit (the
// controller has none either: controller-runtime relies on API priority and fairness) and
// protobuf, which controller-runtime also uses for built-in kinds.
func benchRESTConfig(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.QPS = -1
	out.ContentType = runtime.ContentTypeProtobuf
	out.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return out
}

// writeKubeconfig writes a kubeconfig file for cfg.
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

func (c *cluster) createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// createPool creates an IPAddressPool holding one block.
func (c *cluster) createPool(ctx context.Context, namespace, name, block string) error {
	p := &heraldv1beta1.IPAddressPool{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       heraldv1beta1.IPAddressPoolSpec{Addresses: []heraldv1beta1.AddressRange{heraldv1beta1.AddressRange(block)}},
	}
	if err := c.crc.Create(ctx, p); err != nil {
		return fmt.Errorf("create IPAddressPool %s/%s: %w", namespace, name, err)
	}
	return nil
}

// serviceName is the name of the i-th Service of a run.
func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// newService is an IPv6 single-stack LoadBalancer Service of class. It takes no node port: the
// node port range (2768 ports) is smaller than the largest N.
func newService(namespace, name, class string) *corev1.Service {
	single := corev1.IPFamilyPolicySingleStack
	noNodePorts := false
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			LoadBalancerClass:             &class,
			IPFamilyPolicy:                &single,
			IPFamilies:                    []corev1.IPFamily{corev1.IPv6Protocol},
			AllocateLoadBalancerNodePorts: &noNodePorts,
			Selector:                      map[string]string{"app": name},
			Ports:                         []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// createServices creates the Services names with workers concurrent callers, as fast as the API
// server accepts them, and returns when each create call returned.
func (c *cluster) createServices(ctx context.Context, namespace, class string, names []string, workers int) (map[string]time.Time, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan string)
	var (
		mu      sync.Mutex
		created = make(map[string]time.Time, len(names))
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for name := range todo {
				if _, err := c.kube.CoreV1().Services(namespace).Create(ctx, newService(namespace, name, class), metav1.CreateOptions{}); err != nil {
					cancel(fmt.Errorf("create service %s/%s: %w", namespace, name, err))
					return
				}
				now := time.Now()
				mu.Lock()
				created[name] = now
				mu.Unlock()
			}
		})
	}
feed:
	for _, name := range names {
		select {
		case todo <- name:
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return created, nil
}

// deleteServices deletes every Service of the namespace and waits until they are gone, so that
// the controllers of later runs (which watch Services in every namespace) do not see them. The
// API server has no delete-collection for Services: they go one by one, concurrently.
func (c *cluster) deleteServices(ctx context.Context, namespace string, timeout time.Duration) error {
	svcs := c.kube.CoreV1().Services(namespace)
	list, err := svcs.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list services in %s: %w", namespace, err)
	}
	todo := make(chan string, len(list.Items))
	for _, s := range list.Items {
		todo <- s.Name
	}
	close(todo)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for name := range todo {
				if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					errs <- fmt.Errorf("delete service %s/%s: %w", namespace, name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return poll(ctx, timeout, "services in "+namespace+" deleted", func() (string, error) {
		list, err := svcs.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return "", fmt.Errorf("list services in %s: %w", namespace, err)
		}
		if n := len(list.Items); n > 0 {
			left := int64(n)
			if list.RemainingItemCount != nil {
				left += *list.RemainingItemCount
			}
			return fmt.Sprintf("%d left", left), nil
		}
		return "", nil
	})
}

// deleteAfter deletes the run's Services when a scenario ends, reporting a failure in *err
// unless the scenario already failed. After an interrupt it does nothing: the API server is
// about to stop.
func deleteAfter(ctx context.Context, cl *cluster, namespace string, r run, err *error) {
	if ctx.Err() != nil {
		return
	}
	if derr := cl.deleteServices(ctx, namespace, r.timeout()); derr != nil && *err == nil {
		*err = derr
	}
}

// errDeadline is returned by poll when the condition is not reached in time.
var errDeadline = errors.New("deadline passed")

// poll calls cond every 100ms until it returns "" (done) or an error, or timeout passes; the
// last message cond returned explains a timeout.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		msg, err := cond()
		if err != nil && !isTransient(err) {
			return err
		}
		if err == nil && msg == "" {
			return nil
		}
		if err != nil {
			msg = err.Error()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s: %w after %v: %s", what, errDeadline, timeout, msg)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// isTransient says whether an API error is worth another try.
func isTransient(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}
