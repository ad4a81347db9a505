package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// ServiceAccount is the proxy's identity. On OpenShift every service account
// is an OAuth client; the redirect URI annotation tells the OAuth server
// where it may send users back to after login.
func ServiceAccount(kap *meshv1alpha1.KialiAuthProxy, n Names) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: objectMeta(kap, n, n.Proxy, ComponentProxy),
	}
	if !kap.Spec.Proxy.IsOIDC() {
		sa.Annotations = map[string]string{OAuthRedirectAnnotation: URL(kap)}
	}
	return sa
}

// URL is where users open Kiali: the host, with Kiali's web root when it
// is not "/".
func URL(kap *meshv1alpha1.KialiAuthProxy) string {
	u := "https://" + kap.Spec.Exposure.Host
	if root := kap.Spec.KialiWebRoot(); root != "/" {
		u += root + "/"
	}
	return u
}

// RedirectURL is where the OIDC issuer sends users back to after login:
// the host, whatever Kiali's web root.
func RedirectURL(kap *meshv1alpha1.KialiAuthProxy) string {
	return "https://" + kap.Spec.Exposure.Host + OAuth2ProxyCallbackPath
}
