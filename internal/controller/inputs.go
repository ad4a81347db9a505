package controller

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/secrets"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// resolved is what the controller learned from the cluster for one
// reconcile.
type resolved struct {
	inputs   render.Inputs
	problems []conditions.Problem
	// generatedHtpasswd names the htpasswd Secret built from
	// spec.proxy.htpasswd.users, if any.
	generatedHtpasswd string
	// foreignSessionSecret is set when a Secret of the generated session
	// secret's name exists that this KialiAuthProxy did not make.
	foreignSessionSecret *foreignObject
}

// resolveInputs reads the secrets the proxy uses, generating the session
// secret when the user gave none and it does not exist yet. User secrets are
// only ever read.
func (r *Reconciler) resolveInputs(ctx context.Context, plan render.Plan) (*resolved, error) {
	kap, d, names := plan.Stored, plan.KAP, plan.Names
	res := &resolved{inputs: render.Inputs{ProxyImage: r.ProxyImage, AuthorizerImage: r.AuthorizerImage}}
	sum := sha256.New()

	// The session secret: the user's, or ours.
	session := render.SecretKey{Name: names.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}
	var value []byte
	var p *conditions.Problem
	if ref := d.Spec.Proxy.SessionSecret; ref != nil {
		session = render.SecretKey{Name: ref.Name, Key: ref.Key}
		var err error
		if _, value, p, err = r.secrets().Key(ctx, kap.Namespace, session, "referenced by spec.proxy.sessionSecret"); err != nil {
			return nil, err
		}
	} else {
		secret, created, err := r.ensureSessionSecret(ctx, kap, names)
		if err != nil {
			return nil, err
		}
		if created {
			r.event(kap, "SessionSecretCreated", "Create",
				"Generated the session secret %s/%s; it is never regenerated", kap.Namespace, names.SessionSecret)
		}
		if f := foreignUnlessOurs(kap, secret, secret); f != nil {
			f.kind, f.role = "Secret", "the session secret"
			res.foreignSessionSecret = f
		}
		value, p = secrets.KeyOf(secret, session, "referenced by the generated session secret")
	}
	res.inputs.SessionSecret = session
	// The secret signs every session cookie: a short one makes cookies
	// forgeable. oauth-proxy itself insists on an AES key length only when it
	// encrypts the cookie (options.go, with a cookie refresh, which the
	// operator no longer renders); the same lengths are the floor here, so
	// the secret stays usable wherever the cookie is encrypted.
	if p == nil && d.Spec.Proxy.IsOIDC() {
		if n := len(oauth2ProxyCookieSecretBytes(value)); n != 16 && n != 24 && n != 32 {
			p = &conditions.Problem{Reason: meshv1alpha1.ReasonSessionSecretInvalid, Message: fmt.Sprintf(
				"Secret %s/%s key %q is not a cookie secret oauth2-proxy starts with: it must be 16, 24 or 32 bytes as it is, or base64url-encode that many, and this one gives %d; mind a trailing newline, which oauth2-proxy keeps%s",
				kap.Namespace, session.Name, session.Key, n, regenerateHint(d))}
		}
	} else if p == nil && !validSessionSecret(value) {
		p = &conditions.Problem{Reason: meshv1alpha1.ReasonSessionSecretInvalid, Message: fmt.Sprintf(
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
		_, value, p, err := r.secrets().Key(ctx, kap.Namespace, ref, "referenced by spec.proxy.htpasswd")
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
	ps, err := r.resolveProviderInputs(ctx, d, names, sum)
	if err != nil {
		return nil, err
	}
	res.problems = append(res.problems, ps...)
	res.inputs.InputsChecksum = "sha256:" + hex.EncodeToString(sum.Sum(nil))[:32]
	return res, nil
}

// ignoredProblems report what render left out of a defaulted spec: the
// mistakes the CRD's schema cannot reject at admission, or that objects
// stored before a rule still hold.
func ignoredProblems(kap *meshv1alpha1.KialiAuthProxy, ig render.Ignored) []conditions.Problem {
	var ps []conditions.Problem
	if ignored := ig.Overrides; len(ignored) > 0 {
		ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonOverrideIgnored, Message: fmt.Sprintf(
			"spec.kiali.overrides is ignored for %s: the operator keeps Kiali anonymous, inside the mesh and behind the proxy; remove them",
			strings.Join(ignored, ", "))})
	}
	if dropped := ig.ExtraArgs; len(dropped) > 0 {
		// Only the flag names: a value may be a secret.
		names := make([]string, len(dropped))
		for i, a := range dropped {
			names[i], _, _ = strings.Cut(a, "=")
		}
		ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonExtraArgsIgnored, Message: fmt.Sprintf(
			"spec.proxy.extraArgs %s are not passed to oauth-proxy: they are not on the list of flags that cannot weaken the proxy (the object was stored before that rule); remove them, or use the spec field for a setting the operator manages",
			strings.Join(names, ", "))})
	}
	if dropped := ig.PodAnnotations; len(dropped) > 0 {
		// Only the keys, as for the extra arguments.
		ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonPodAnnotationsIgnored, Message: fmt.Sprintf(
			"spec.kiali.podAnnotations %s are not put on the Kiali pod: they decide whether and how Kiali gets its sidecar, which enforces the lock-down (the object was stored before the rule that refuses them); remove them",
			strings.Join(dropped, ", "))})
	}
	if c := kap.Spec.Proxy.Cookie; ig.CookieRefresh {
		// Stored before admission refused it; it is not rendered.
		ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonCookieRefreshIgnored, Message: fmt.Sprintf(
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
