// Package secrets reads keys of the Secrets a KialiAuthProxy references.
// Secrets are read from the API server, not a cache, so the operator holds
// no copy of every Secret in the cluster; a missing Secret or key is a
// problem for the user to fix, not an error.
package secrets

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Reader reads Secrets live.
type Reader struct {
	API client.Reader
}

// Key returns a Secret and the value of one of its keys, or a problem when
// the Secret or the key is missing; role says in messages what the Secret
// is for ("referenced by spec.proxy.htpasswd").
func (r Reader) Key(ctx context.Context, namespace string, ref render.SecretKey, role string) (*corev1.Secret, []byte, *conditions.Problem, error) {
	s := &corev1.Secret{}
	err := r.API.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil, &conditions.Problem{Reason: meshv1alpha1.ReasonSecretNotFound, Message: fmt.Sprintf(
			"Secret %s/%s %s does not exist: create it with the key %q", namespace, ref.Name, role, ref.Key)}, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, ref.Name, err)
	}
	v, p := KeyOf(s, ref, role)
	return s, v, p, nil
}

// KeyOf is the value of one key of a Secret already read, or the problem of
// its absence.
func KeyOf(s *corev1.Secret, ref render.SecretKey, role string) ([]byte, *conditions.Problem) {
	v, ok := s.Data[ref.Key]
	if !ok {
		return nil, &conditions.Problem{Reason: meshv1alpha1.ReasonSecretKeyMissing, Message: fmt.Sprintf(
			"Secret %s/%s %s has no key %q", s.Namespace, ref.Name, role, ref.Key)}
	}
	return v, nil
}
