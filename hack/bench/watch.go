package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// addressWatch watches the Services of one namespace and timestamps, on receipt, the first time
// each one is seen with an address. It also counts later changes of a Service's addresses, which
// a correct controller never makes to a Service it already served.
type addressWatch struct {
	kube      kubernetes.Interface
	namespace string

	mu      sync.Mutex
	first   map[string]time.Time
	current map[string]string
	changes map[string]int
	// updated is signalled (without blocking) after every event.
	updated chan struct{}
	done    chan struct{}
}

// startAddressWatch lists the namespace's Services and watches them until ctx ends.
func startAddressWatch(ctx context.Context, kube kubernetes.Interface, namespace string) (*addressWatch, error) {
	w := &addressWatch{
		kube:      kube,
		namespace: namespace,
		first:     map[string]time.Time{},
		current:   map[string]string{},
		changes:   map[string]int{},
		updated:   make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	rv, err := w.relist(ctx)
	if err != nil {
		return nil, err
	}
	go w.run(ctx, rv)
	return w, nil
}

// ingressKey is the addresses of a Service's status as one comparable string ("" for none).
func ingressKey(svc *corev1.Service) string {
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	slices.Sort(ips)
	return strings.Join(ips, ",")
}

func (w *addressWatch) observe(svc *corev1.Service, at time.Time) {
	key := ingressKey(svc)
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, known := w.current[svc.Name]
	w.current[svc.Name] = key
	if _, seen := w.first[svc.Name]; !seen {
		if key != "" {
			w.first[svc.Name] = at
		}
		return
	}
	if known && prev != key {
		w.changes[svc.Name]++
	}
}

func (w *addressWatch) signal() {
	select {
	case w.updated <- struct{}{}:
	default:
	}
}

func (w *addressWatch) relist(ctx context.Context) (string, error) {
	list, err := w.kube.CoreV1().Services(w.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list services in %s: %w", w.namespace, err)
	}
	now := time.Now()
	for i := range list.Items {
		w.observe(&list.Items[i], now)
	}
	w.signal()
	return list.ResourceVersion, nil
}

// run watches from rv, resuming after the watch closes and relisting when rv has expired.
func (w *addressWatch) run(ctx context.Context, rv string) {
	defer close(w.done)
	for ctx.Err() == nil {
		wi, err := w.kube.CoreV1().Services(w.namespace).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		var failed bool
		rv, failed = w.consume(ctx, wi, rv)
		wi.Stop()
		if failed {
			// Resume at once after an ordinary close, which costs no latency; pause after an
			// error so that a failing API server is not hammered.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// consume handles one watch's events and returns the resource version to resume from, and
// whether the watch ended with an error.
func (w *addressWatch) consume(ctx context.Context, wi watch.Interface, rv string) (string, bool) {
	for ev := range wi.ResultChan() {
		now := time.Now()
		switch ev.Type {
		case watch.Added, watch.Modified:
			if svc, ok := ev.Object.(*corev1.Service); ok {
				w.observe(svc, now)
				rv = svc.ResourceVersion
			}
		case watch.Deleted:
			if svc, ok := ev.Object.(*corev1.Service); ok {
				w.mu.Lock()
				delete(w.current, svc.Name)
				w.mu.Unlock()
				rv = svc.ResourceVersion
			}
		case watch.Bookmark:
			if svc, ok := ev.Object.(*corev1.Service); ok {
				rv = svc.ResourceVersion
			}
		case watch.Error:
			if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
				if fresh, err := w.relist(ctx); err == nil {
					return fresh, false
				}
			}
			return rv, true
		}
		w.signal()
	}
	return rv, false
}

// waitAddressed waits until every Service in names has been seen with an address and returns
// when the last of them was.
func (w *addressWatch) waitAddressed(ctx context.Context, names []string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var last time.Time
		missing := 0
		var example string
		w.mu.Lock()
		for _, n := range names {
			at, ok := w.first[n]
			if !ok {
				if missing == 0 {
					example = n
				}
				missing++
				continue
			}
			if at.After(last) {
				last = at
			}
		}
		w.mu.Unlock()
		if missing == 0 {
			return last, nil
		}
		select {
		case <-w.updated:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return time.Time{}, fmt.Errorf("services in %s addressed: %w after %v: %d of %d still without an address (%s, ...)",
					w.namespace, errDeadline, timeout, missing, len(names), example)
			}
			return time.Time{}, ctx.Err()
		}
	}
}

// firstSeen returns when each Service was first seen with an address.
func (w *addressWatch) firstSeen() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.first)
}

// changed returns how many Services changed their addresses after first getting one.
func (w *addressWatch) changed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.changes)
}
