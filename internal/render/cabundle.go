package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// CABundle is the ConfigMap into which the OpenShift service CA operator
// injects its CA certificate (key service-ca.crt); the proxy trusts Kiali's
// serving certificate through it. Only metadata is rendered: the data belongs
// to the service CA operator, and applying no data means never owning, and so
// never clearing, the injected key.
func CABundle(kap *meshv1alpha1.KialiAuthProxy, n Names) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(kap, n, n.CABundle, ComponentProxy),
	}
	cm.Annotations = map[string]string{InjectCABundleAnnotation: "true"}
	return cm
}
