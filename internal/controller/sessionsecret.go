package controller

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// sessionSecretLength is what oauth-proxy needs: with cookie refresh on it
// encrypts the cookie with AES and accepts only 16, 24 or 32 byte secrets.
const sessionSecretLength = 32

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newSessionSecretValue returns sessionSecretLength characters drawn
// uniformly from [A-Za-z0-9] by a cryptographic source, with no newline.
func newSessionSecretValue() ([]byte, error) {
	out := make([]byte, sessionSecretLength)
	max := big.NewInt(int64(len(alphanumeric)))
	for i := range out {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return nil, err
		}
		out[i] = alphanumeric[n.Int64()]
	}
	return out, nil
}

// newSessionSecret is the generated session secret. It is created once and
// never updated (it is immutable), so sessions survive operator restarts and
// upgrades; it belongs to the KialiAuthProxy and goes with it.
func newSessionSecret(kap *meshv1alpha1.KialiAuthProxy, names render.Names) (*corev1.Secret, error) {
	value, err := newSessionSecretValue()
	if err != nil {
		return nil, err
	}
	immutable := true
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      names.SessionSecret,
			Namespace: names.Namespace,
			Labels:    render.Labels(kap, render.ComponentSessionSecret),
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
		Data:      map[string][]byte{meshv1alpha1.DefaultSessionSecretKey: value},
	}, nil
}

// ensureSessionSecret returns the generated session secret, creating it
// when it does not exist. An existing Secret of that name is never touched,
// whoever made it. A KialiAuthProxy with no status yet is new, and its
// secret most likely absent: it is created without looking first, and read
// only if it exists. Afterwards it is read first, so that a reconcile of an
// unchanged KialiAuthProxy makes no write.
func (r *Reconciler) ensureSessionSecret(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, names render.Names) (*corev1.Secret, bool, error) {
	key := types.NamespacedName{Namespace: names.Namespace, Name: names.SessionSecret}
	existing := &corev1.Secret{}
	if kap.Status.ObservedGeneration != 0 {
		err := r.APIReader.Get(ctx, key, existing)
		if err == nil {
			return existing, false, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, false, fmt.Errorf("reading Secret %s/%s: %w", names.Namespace, names.SessionSecret, err)
		}
	}
	secret, err := newSessionSecret(kap, names)
	if err != nil {
		return nil, false, fmt.Errorf("generating the session secret: %w", err)
	}
	if err := controllerutil.SetControllerReference(kap, secret, r.Scheme); err != nil {
		return nil, false, err
	}
	created, err := r.Applier.CreateIfAbsent(ctx, secret)
	if err != nil || created {
		return secret, created, err
	}
	// There already, or made by someone else since the read: it stands.
	if err := r.APIReader.Get(ctx, key, existing); err != nil {
		return nil, false, fmt.Errorf("reading Secret %s/%s: %w", names.Namespace, names.SessionSecret, err)
	}
	return existing, false, nil
}
