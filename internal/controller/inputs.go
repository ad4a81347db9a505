package controller

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// problem is a bad reference, reported in the Degraded condition. Messages
// name the object and the fix, and never contain a secret's value.
type problem struct {
	reason  string
	message string
}

// resolved is what the controller learned from the cluster for one
// reconcile.
type resolved struct {
	// names are the names of the objects, from the defaulted spec.
	names    render.Names
	inputs   render.Inputs
	problems []problem
	// createdSessionSecret is set when this reconcile generated it.
	createdSessionSecret string
	// generatedHtpasswd names the htpasswd Secret built from
	// spec.proxy.htpasswd.users, if any.
	generatedHtpasswd string
	// writes is what Kiali may write and what the proxy checks for it.
	writes kialiWrites
	// istioNamespace is the control plane's namespace.
	istioNamespace string
	// foreignSessionSecret is set when a Secret of the generated session
	// secret's name exists that this KialiAuthProxy did not make.
	foreignSessionSecret *foreignObject
}

// resolveInputs reads the secrets the proxy uses, generating the session
// secret when the user gave none and it does not exist yet. User secrets are
// only ever read.
func (r *Reconciler) resolveInputs(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy) (*resolved, error) {
	d := kap.WithDefaults(r.ProxyImage)
	names := render.NamesFor(d)
	res := &resolved{names: names, inputs: render.Inputs{ProxyImage: r.ProxyImage}, problems: specProblems(d),
		writes: kialiWritesOf(d), istioNamespace: d.Spec.Kiali.IstioNamespace}
	sum := sha256.New()

	// The session secret: the user's, or ours.
	session := render.SecretKey{Name: names.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}
	var value []byte
	var p *problem
	if ref := d.Spec.Proxy.SessionSecret; ref != nil {
		session = render.SecretKey{Name: ref.Name, Key: ref.Key}
		var err error
		if _, value, p, err = r.readSecretKey(ctx, kap.Namespace, session, "referenced by spec.proxy.sessionSecret"); err != nil {
			return nil, err
		}
	} else {
		secret, created, err := r.ensureSessionSecret(ctx, kap, names)
		if err != nil {
			return nil, err
		}
		if created {
			res.createdSessionSecret = names.SessionSecret
		}
		if f := foreignUnlessOurs(kap, secret, secret); f != nil {
			f.kind, f.role = "Secret", "the session secret"
			res.foreignSessionSecret = f
		}
		value, p = secretKey(secret, session, "referenced by the generated session secret")
	}
	res.inputs.SessionSecret = session
	// The secret signs every session cookie: a short one makes cookies
	// forgeable. oauth-proxy itself insists on an AES key length only when it
	// encrypts the cookie (options.go, with a cookie refresh, which the
	// operator no longer renders); the same lengths are the floor here, so
	// the secret stays usable wherever the cookie is encrypted.
	if p == nil && !validSessionSecret(value) {
		p = &problem{meshv1alpha1.ReasonSessionSecretInvalid, fmt.Sprintf(
			"Secret %s/%s key %q is not a usable cookie secret: it must give 16, 24 or 32 bytes (after base64url decoding, when the value decodes) and this one gives %d; mind a trailing newline%s",
			kap.Namespace, session.Name, session.Key, len(cookieSecretBytes(value)), regenerateHint(d))}
	}
	if p != nil {
		res.problems = append(res.problems, *p)
	}
	fmt.Fprintf(sum, "session %s/%s\n", session.Name, session.Key)
	sum.Write(value)

	switch h := d.Spec.Proxy.Htpasswd; {
	case h == nil:
	case h.Name != "":
		ref := render.SecretKey{Name: h.Name, Key: h.Key}
		_, value, p, err := r.readSecretKey(ctx, kap.Namespace, ref, "referenced by spec.proxy.htpasswd")
		if err != nil {
			return nil, err
		}
		if p != nil {
			res.problems = append(res.problems, *p)
		}
		res.inputs.Htpasswd = &ref
		fmt.Fprintf(sum, "\nhtpasswd %s/%s\n", ref.Name, ref.Key)
		sum.Write(value)
	default:
		ref, ps, err := r.ensureHtpasswd(ctx, kap, d, names)
		if err != nil {
			return nil, err
		}
		res.problems = append(res.problems, ps...)
		if ref != nil {
			// The Secret's name is a fingerprint of its content.
			res.inputs.Htpasswd = ref
			res.generatedHtpasswd = ref.Name
			fmt.Fprintf(sum, "\nhtpasswd %s\n", ref.Name)
		}
	}
	if pt := render.Passthrough(d); pt != nil {
		cert, ps, err := r.passthroughCertificate(ctx, d, pt)
		if err != nil {
			return nil, err
		}
		res.problems = append(res.problems, ps...)
		// oauth-proxy loads its certificate at start: a renewed one must
		// roll the pods.
		fmt.Fprintf(sum, "\npassthrough %s\n", pt.CertificateSecret.Name)
		sum.Write(cert)
	}
	res.inputs.InputsChecksum = "sha256:" + hex.EncodeToString(sum.Sum(nil))[:32]
	return res, nil
}

// specProblems are the mistakes in the spec that the CRD's schema cannot
// reject at admission.
func specProblems(kap *meshv1alpha1.KialiAuthProxy) []problem {
	var ps []problem
	if ignored := render.IgnoredOverrides(kap); len(ignored) > 0 {
		ps = append(ps, problem{meshv1alpha1.ReasonOverrideIgnored, fmt.Sprintf(
			"spec.kiali.overrides is ignored for %s: the operator keeps Kiali anonymous, inside the mesh and behind the proxy; remove them",
			strings.Join(ignored, ", "))})
	}
	if _, dropped := render.SplitExtraArgs(kap.Spec.Proxy.ExtraArgs); len(dropped) > 0 {
		// Only the flag names: a value may be a secret.
		names := make([]string, len(dropped))
		for i, a := range dropped {
			names[i], _, _ = strings.Cut(a, "=")
		}
		ps = append(ps, problem{meshv1alpha1.ReasonExtraArgsIgnored, fmt.Sprintf(
			"spec.proxy.extraArgs %s are not passed to oauth-proxy: they are not on the list of flags that cannot weaken the proxy (the object was stored before that rule); remove them, or use the spec field for a setting the operator manages",
			strings.Join(names, ", "))})
	}
	if c := kap.Spec.Proxy.Cookie; c != nil && c.Refresh != nil {
		// Stored before admission refused it; it is not rendered.
		ps = append(ps, problem{meshv1alpha1.ReasonCookieRefreshIgnored, fmt.Sprintf(
			"spec.proxy.cookie.refresh (%s) is ignored: with the OpenShift provider oauth-proxy would end every session at its first refresh (it sends the token as an access_token query parameter, which the OpenShift API server does not accept); remove it, sessions last spec.proxy.cookie.expire (%s)",
			c.Refresh.Duration, kap.Spec.Proxy.Cookie.Expire.Duration)})
	}
	return ps
}

func validSessionSecret(v []byte) bool {
	switch len(cookieSecretBytes(v)) {
	case 16, 24, 32:
		return true
	}
	return false
}

// cookieSecretBytes is the key OpenShift's oauth-proxy derives from a cookie
// secret: the base64url decoding of the (padded) value when it decodes,
// padded again to a multiple of four, otherwise the value itself.
func cookieSecretBytes(v []byte) []byte {
	if b, err := base64.URLEncoding.DecodeString(padBase64(string(v))); err == nil {
		return []byte(padBase64(string(b)))
	}
	return v
}

func padBase64(s string) string {
	if n := len(s) % 4; n != 0 {
		return s + strings.Repeat("=", 4-n)
	}
	return s
}

func regenerateHint(kap *meshv1alpha1.KialiAuthProxy) string {
	if kap.Spec.Proxy.SessionSecret == nil {
		return "; the operator never overwrites an existing Secret: delete it to have a new one generated"
	}
	return "; fix the Secret or point spec.proxy.sessionSecret at another one"
}

// readSecretKey returns a Secret and the value of one of its keys, or a
// problem when the Secret or the key is missing; role says in messages what
// the Secret is for ("referenced by spec.proxy.htpasswd"). Secrets are read
// from the API server, not a cache, so the operator holds no copy of every
// Secret in the cluster.
func (r *Reconciler) readSecretKey(ctx context.Context, namespace string, ref render.SecretKey, role string) (*corev1.Secret, []byte, *problem, error) {
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil, &problem{meshv1alpha1.ReasonSecretNotFound, fmt.Sprintf(
			"Secret %s/%s %s does not exist: create it with the key %q", namespace, ref.Name, role, ref.Key)}, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, ref.Name, err)
	}
	v, p := secretKey(s, ref, role)
	return s, v, p, nil
}

// secretKey is the value of one key of a Secret read, or the problem of its
// absence.
func secretKey(s *corev1.Secret, ref render.SecretKey, role string) ([]byte, *problem) {
	v, ok := s.Data[ref.Key]
	if !ok {
		return nil, &problem{meshv1alpha1.ReasonSecretKeyMissing, fmt.Sprintf(
			"Secret %s/%s %s has no key %q", s.Namespace, ref.Name, role, ref.Key)}
	}
	return v, nil
}
