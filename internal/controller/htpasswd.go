package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// maxBcryptPassword is the longest password bcrypt hashes.
const maxBcryptPassword = 72

// htpasswdUserField names where a user's password comes from, for messages.
func htpasswdUserField(user string) string {
	return fmt.Sprintf("the password of htpasswd user %q (spec.proxy.htpasswd.users)", user)
}

// ensureHtpasswd returns the Secret holding the htpasswd file built from
// spec.proxy.htpasswd.users, creating it when the passwords changed.
//
// The Secret is immutable and named after a fingerprint of the password
// Secrets' identities and resource versions (never of the passwords: a
// Secret's name is visible to more people than its data), so the bcrypt
// hashes, which are salted and so differ on every run, are computed only
// when a password Secret is written to (any write, even of its metadata,
// counts), and a new file rolls the proxy's pods through the changed
// volume. Older files are pruned after the Deployment moved on.
func (r *Reconciler) ensureHtpasswd(ctx context.Context, kap, d *meshv1alpha1.KialiAuthProxy, names render.Names) (*render.SecretKey, []conditions.Problem, error) {
	users := d.Spec.Proxy.Htpasswd.Users
	fingerprint := sha256.New()
	passwords := make([][]byte, len(users))
	var problems []conditions.Problem
	for i, u := range users {
		ref := u.PasswordSecret
		s, v, p, err := r.secrets().Key(ctx, kap.Namespace, render.SecretKey{Name: ref.Name, Key: ref.Key}, "holding "+htpasswdUserField(u.Name))
		if err != nil {
			return nil, nil, err
		}
		if p == nil && len(v) == 0 {
			p = &conditions.Problem{Reason: meshv1alpha1.ReasonSecretKeyMissing, Message: fmt.Sprintf(
				"Secret %s/%s holding %s has an empty key %q", kap.Namespace, ref.Name, htpasswdUserField(u.Name), ref.Key)}
		}
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		if len(v) > maxBcryptPassword {
			problems = append(problems, conditions.Problem{Reason: meshv1alpha1.ReasonPasswordTooLong, Message: fmt.Sprintf(
				"Secret %s/%s holding %s: the password is longer than the %d bytes bcrypt can hash", kap.Namespace, ref.Name, htpasswdUserField(u.Name), maxBcryptPassword)})
			continue
		}
		passwords[i] = v
		fmt.Fprintf(fingerprint, "%s\x00%s\x00%s\x00%s\x00%s\n", u.Name, ref.Name, ref.Key, s.UID, s.ResourceVersion)
	}
	if len(problems) > 0 {
		// Without every password the file cannot be built; password logins
		// are off until the Secrets are fixed, OpenShift logins go on.
		return nil, problems, nil
	}
	name := names.HtpasswdPrefix + hex.EncodeToString(fingerprint.Sum(nil))[:10]
	ref := &render.SecretKey{Name: name, Key: meshv1alpha1.DefaultHtpasswdKey}

	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: kap.Namespace, Name: name}, &corev1.Secret{})
	if err == nil {
		return ref, nil, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("reading Secret %s/%s: %w", kap.Namespace, name, err)
	}
	var file strings.Builder
	for i, u := range users {
		// Go's bcrypt writes the $2a$ prefix, which oauth-proxy accepts
		// (it rejects $2b$).
		hash, err := bcrypt.GenerateFromPassword(passwords[i], bcrypt.DefaultCost)
		if err != nil {
			return nil, nil, fmt.Errorf("hashing the password of htpasswd user %q: %w", u.Name, err)
		}
		fmt.Fprintf(&file, "%s:%s\n", u.Name, hash)
	}
	immutable := true
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: kap.Namespace,
			Labels:    render.Labels(kap, render.ComponentHtpasswd),
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
		Data:      map[string][]byte{meshv1alpha1.DefaultHtpasswdKey: []byte(file.String())},
	}
	if err := controllerutil.SetControllerReference(kap, secret, r.Scheme); err != nil {
		return nil, nil, err
	}
	if _, err := r.Applier.CreateIfAbsent(ctx, secret); err != nil {
		return nil, nil, err
	}
	return ref, nil, nil
}

// htpasswdLabels select the htpasswd Secrets generated for a KialiAuthProxy.
func htpasswdLabels(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	l := render.OwnerLabels(kap)
	l[render.LabelComponent] = render.ComponentHtpasswd
	return l
}
