package k8s

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretReader serves one Secret, or fails as told.
type secretReader struct {
	client.Reader
	data map[string][]byte
	err  error
}

func (r *secretReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if r.err != nil {
		return r.err
	}
	if r.data == nil {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, key.Name)
	}
	obj.(*corev1.Secret).Data = r.data
	return nil
}

// The BGP password survives an API server outage; a deleted Secret or a missing key does not.
func TestPasswordIsKeptWhileTheAPIServerIsUnreachable(t *testing.T) {
	r := &secretReader{err: errors.New("connection refused")}
	s := &L2Speaker{apiReader: r, opts: L2SpeakerOptions{Namespace: "herald-system"}}
	ctx := context.Background()
	if _, err := s.password(ctx, "pw"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("never read, unreachable: err %v, want the read error", err)
	}
	r.err, r.data = nil, map[string][]byte{"password": []byte("s3cret")}
	if pw, err := s.password(ctx, "pw"); err != nil || pw != "s3cret" {
		t.Fatalf("password = %q, %v", pw, err)
	}
	r.err = errors.New("connection refused")
	if pw, err := s.password(ctx, "pw"); err != nil || pw != "s3cret" {
		t.Fatalf("while unreachable: password = %q, %v; want the last one read", pw, err)
	}
	r.err, r.data = nil, map[string][]byte{"other": []byte("x")}
	if _, err := s.password(ctx, "pw"); err == nil || !strings.Contains(err.Error(), `no "password" key`) {
		t.Fatalf("without the key: err %v", err)
	}
	r.err = errors.New("connection refused")
	if _, err := s.password(ctx, "pw"); err == nil {
		t.Fatal("a Secret that lost its key must not be served from memory")
	}
	r.err, r.data = nil, nil
	if _, err := s.password(ctx, "pw"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("deleted Secret: err %v", err)
	}
}
