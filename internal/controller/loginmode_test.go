package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func oidcKAP(mode meshv1alpha1.OIDCAuthorizationMode, issuer, clientID string) *meshv1alpha1.KialiAuthProxy {
	kap := testKAP()
	kap.Spec.Proxy.Provider = meshv1alpha1.ProviderOIDC
	kap.Spec.Proxy.OIDC = &meshv1alpha1.OIDCSpec{
		IssuerURL: issuer, ClientID: clientID,
		Authorization: meshv1alpha1.OIDCAuthorization{Mode: mode, AllowedGroups: []string{"g"}},
	}
	return kap.WithDefaults("")
}

func TestLoginProblem(t *testing.T) {
	external := LoginMode{OpenShift: true, Type: configv1.AuthenticationTypeOIDC,
		Issuers: []TrustedIssuer{{URL: "https://login.example.com/realms/ocp", Audiences: []string{"console", "kiali"}}}}
	integrated := LoginMode{OpenShift: true, Type: configv1.AuthenticationTypeIntegratedOAuth}
	sar, allow := meshv1alpha1.OIDCAuthorizationSubjectAccessReview, meshv1alpha1.OIDCAuthorizationAllowList
	for _, tc := range []struct {
		name   string
		kap    *meshv1alpha1.KialiAuthProxy
		mode   LoginMode
		reason string
		says   string
	}{
		{"not OpenShift says nothing", testKAP().WithDefaults(""), LoginMode{}, "", ""},
		{"oauth-proxy with the OAuth server", testKAP().WithDefaults(""), integrated, "", ""},
		{"oauth-proxy without it", testKAP().WithDefaults(""), external, meshv1alpha1.ReasonIntegratedOAuthDisabled,
			"spec.proxy.oidc.issuerURL https://login.example.com/realms/ocp and a client ID among its audiences (console, kiali)"},
		{"oauth-proxy where something else logs in", testKAP().WithDefaults(""), LoginMode{OpenShift: true, Type: configv1.AuthenticationTypeNone},
			meshv1alpha1.ReasonIntegratedOAuthDisabled, "spec.type None"},
		{"the cluster's issuer and an audience", oidcKAP(sar, "https://login.example.com/realms/ocp/", "kiali"), external, "", ""},
		{"an audience the issuer lacks", oidcKAP(sar, "https://login.example.com/realms/ocp", "mesh"), external,
			meshv1alpha1.ReasonIssuerNotTrusted, `not the client ID "mesh"`},
		{"another issuer", oidcKAP(sar, "https://other.example.com", "kiali"), external,
			meshv1alpha1.ReasonIssuerNotTrusted, "is not an issuer the cluster trusts"},
		{"reviews while the OAuth server logs in", oidcKAP(sar, "https://other.example.com", "kiali"), integrated,
			meshv1alpha1.ReasonIssuerNotTrusted, "use mode AllowList"},
		{"spec.platform Kubernetes uses nothing of OpenShift's", func() *meshv1alpha1.KialiAuthProxy {
			k := oidcKAP(sar, "https://other.example.com", "kiali")
			k.Spec.Platform = meshv1alpha1.PlatformKubernetes
			return k
		}(), external, "", ""},
		{"an allow list needs no trust", oidcKAP(allow, "https://other.example.com", "kiali"), integrated, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loginProblem(tc.kap, tc.mode)
			switch {
			case tc.reason == "" && p != nil:
				t.Fatalf("unexpected %s: %s", p.Reason, p.Message)
			case tc.reason != "" && p == nil:
				t.Fatalf("want %s, got none", tc.reason)
			case p != nil && (p.Reason != tc.reason || !strings.Contains(p.Message, tc.says)):
				t.Fatalf("got %s: %s; want %s saying %q", p.Reason, p.Message, tc.reason, tc.says)
			}
		})
	}
}

// The Authentication is read once a minute at most: a reconcile of every
// KialiAuthProxy must not cost a request each.
func TestLoginModesRemembersAMinute(t *testing.T) {
	s := NewScheme()
	auth := &configv1.Authentication{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(auth).Build()
	now := time.Unix(1000, 0)
	l := &LoginModes{API: c, Now: func() time.Time { return now }}
	ctx := context.Background()
	m, err := l.Get(ctx)
	if err != nil || !m.OpenShift || m.Type != configv1.AuthenticationTypeIntegratedOAuth {
		t.Fatalf("first read: %+v, %v", m, err)
	}
	auth.Spec.Type = configv1.AuthenticationTypeOIDC
	if err := c.Update(ctx, auth); err != nil {
		t.Fatal(err)
	}
	if m, _ := l.Get(ctx); m.Type != configv1.AuthenticationTypeIntegratedOAuth {
		t.Fatalf("read again within the minute: %s", m.Type)
	}
	now = now.Add(loginModeTTL)
	if m, _ := l.Get(ctx); m.Type != configv1.AuthenticationTypeOIDC {
		t.Fatalf("not read again after a minute: %s", m.Type)
	}
}
