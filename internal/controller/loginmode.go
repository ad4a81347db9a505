package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
)

// How OpenShift logs users in decides whether a proxy can log anyone in:
// authentications.config.openshift.io/cluster spec.type is IntegratedOAuth
// (or empty: the same) while OpenShift's own OAuth server runs, OIDC when
// the API server trusts an external issuer directly (the OAuth server is
// then switched off, and oauth-proxy with it), None when something else
// authenticates (openshift/api config/v1/types_authentication.go).
//
// The one object is read live, by name (the role grants get on it alone),
// at most once a minute: it changes when an administrator reconfigures the
// cluster's login, not from one reconcile to the next. It is cluster-scoped,
// so the rule is among the operator's cluster-wide ones
// (internal/operator/rbac.go).

// loginModeTTL is how long a read of the cluster's login mode is used.
const loginModeTTL = time.Minute

// LoginMode is what the cluster says of its login.
type LoginMode struct {
	// OpenShift: the config.openshift.io Authentication kind is served.
	OpenShift bool
	// Type is spec.type, "IntegratedOAuth" when empty.
	Type configv1.AuthenticationType
	// Issuers are the external OIDC issuers the API server trusts, with
	// their audiences (spec.oidcProviders).
	Issuers []TrustedIssuer
}

// TrustedIssuer is an issuer the API server accepts tokens of.
type TrustedIssuer struct {
	URL       string
	Audiences []string
}

// LoginModes reads the cluster's login mode, remembered for loginModeTTL.
type LoginModes struct {
	// API reads the Authentication live.
	API client.Reader
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu   sync.Mutex
	at   time.Time
	last *LoginMode
}

// Get returns the cluster's login mode.
func (l *LoginModes) Get(ctx context.Context) (LoginMode, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != nil && now().Sub(l.at) < loginModeTTL {
		return *l.last, nil
	}
	a := &configv1.Authentication{}
	err := l.API.Get(ctx, client.ObjectKey{Name: "cluster"}, a)
	var m LoginMode
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		// Not OpenShift (or an OpenShift without the object, which the
		// cluster's operators always make): nothing to say.
	case err != nil:
		return LoginMode{}, fmt.Errorf("reading authentications.config.openshift.io/cluster: %w", err)
	default:
		m = LoginMode{OpenShift: true, Type: a.Spec.Type}
		if m.Type == "" {
			m.Type = configv1.AuthenticationTypeIntegratedOAuth
		}
		for _, p := range a.Spec.OIDCProviders {
			ti := TrustedIssuer{URL: p.Issuer.URL}
			for _, aud := range p.Issuer.Audiences {
				ti.Audiences = append(ti.Audiences, string(aud))
			}
			m.Issuers = append(m.Issuers, ti)
		}
	}
	l.last, l.at = &m, now()
	return m, nil
}

// loginProblem is why the proxy the spec asks for cannot log anyone in, or
// cannot authorize as asked, on a cluster of this login mode; nil when it
// can, or when the cluster does not say.
func loginProblem(d *meshv1alpha1.KialiAuthProxy, m LoginMode) *conditions.Problem {
	if !m.OpenShift || d.Spec.Platform == meshv1alpha1.PlatformKubernetes {
		// spec.platform Kubernetes says the OpenShift pieces are not used.
		return nil
	}
	p := &d.Spec.Proxy
	if !p.IsOIDC() {
		if m.Type == configv1.AuthenticationTypeIntegratedOAuth {
			return nil
		}
		fix := "set spec.proxy.provider: OIDC with spec.proxy.oidc naming the issuer users log in at"
		if len(m.Issuers) > 0 {
			fix = fmt.Sprintf("set spec.proxy.provider: OIDC with spec.proxy.oidc.issuerURL %s and a client ID among its audiences (%s)",
				m.Issuers[0].URL, strings.Join(m.Issuers[0].Audiences, ", "))
		}
		return &conditions.Problem{Reason: meshv1alpha1.ReasonIntegratedOAuthDisabled, Message: fmt.Sprintf(
			"authentications.config.openshift.io/cluster has spec.type %s: OpenShift's integrated OAuth server is off, and oauth-proxy (the OpenShift provider) logs users in only through it, so no proxy is rolled out; %s",
			m.Type, fix)}
	}
	if !p.ReviewsTokens() || m.Type != configv1.AuthenticationTypeOIDC {
		// With the integrated OAuth server on, the API server trusts no
		// external issuer (spec.oidcProviders can only be set with OIDC);
		// SubjectAccessReview mode then fails at every request, which the
		// authorizing proxy reports, and AllowList needs nothing.
		if p.ReviewsTokens() {
			return &conditions.Problem{Reason: meshv1alpha1.ReasonIssuerNotTrusted, Message: fmt.Sprintf(
				"spec.proxy.oidc.authorization.mode is SubjectAccessReview, but authentications.config.openshift.io/cluster has spec.type %s: the API server accepts no token of %s, so every user would be refused; use mode AllowList with allowedGroups or allowedEmailDomains, or the OpenShift provider",
				m.Type, p.OIDC.IssuerURL)}
		}
		return nil
	}
	for _, is := range m.Issuers {
		if strings.TrimSuffix(is.URL, "/") != strings.TrimSuffix(p.OIDC.IssuerURL, "/") {
			continue
		}
		if slices.Contains(is.Audiences, p.OIDC.ClientID) {
			return nil
		}
		return &conditions.Problem{Reason: meshv1alpha1.ReasonIssuerNotTrusted, Message: fmt.Sprintf(
			"The cluster trusts %s only for the audiences %s, not the client ID %q: the API server would refuse every user's ID token; add %q to the audiences of spec.oidcProviders in authentications.config.openshift.io/cluster, or use a client ID among them",
			is.URL, strings.Join(is.Audiences, ", "), p.OIDC.ClientID, p.OIDC.ClientID)}
	}
	var urls []string
	for _, is := range m.Issuers {
		urls = append(urls, is.URL)
	}
	return &conditions.Problem{Reason: meshv1alpha1.ReasonIssuerNotTrusted, Message: fmt.Sprintf(
		"spec.proxy.oidc.issuerURL %s is not an issuer the cluster trusts (authentications.config.openshift.io/cluster: %s): the API server would refuse every user's ID token; use the cluster's issuer, or mode AllowList",
		p.OIDC.IssuerURL, strings.Join(urls, ", "))}
}
