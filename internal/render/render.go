// Package render turns a KialiAuthProxy (as a Plan: defaulted and named)
// and the inputs the controller resolved into the objects that make up the
// installation.
//
// Everything here is pure: no client, no clock, no randomness. The same
// KialiAuthProxy and Inputs always give the same objects, in the same order,
// serialised to the same bytes, which is what lets the controller skip writes
// when nothing changed and lets golden files pin the output.
package render

import (
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// SecretKey names one key of a Secret.
type SecretKey struct {
	Name string
	Key  string
}

// Inputs are what the controller resolved from the cluster and the
// operator's environment before rendering.
type Inputs struct {
	// ProxyImage is the operator-wide default oauth-proxy image
	// (RELATED_IMAGE_OAUTH_PROXY); empty means the built-in default.
	ProxyImage string
	// AuthorizerImage runs the authorizing proxy of the OIDC provider: the
	// operator's own image (RELATED_IMAGE_AUTHORIZER, which the install
	// sets to the manager's image); empty means DefaultAuthorizerImage.
	AuthorizerImage string
	// SessionSecret is where the proxy reads its cookie secret: the user's
	// reference, or the Secret the controller generated.
	SessionSecret SecretKey
	// Htpasswd is where the proxy reads its htpasswd file: the user's
	// Secret, or the one the controller built from spec.proxy.htpasswd.users.
	// Nil without htpasswd.
	Htpasswd *SecretKey
	// InputsChecksum summarises the content of the secrets the proxy reads,
	// so that a change rolls the proxy pods.
	InputsChecksum string
	// KialiClusterSecrets maps each cluster of spec.clusters whose
	// remote-cluster Secret exists to that Secret; only those are listed in
	// the Kiali CR. Nil when nothing was read (offline): every Provided
	// cluster is listed under its kialiSecret, no Managed one.
	KialiClusterSecrets map[string]string
}

// DefaultAuthorizerImage is the operator's image as config/manager names it,
// for renders without RELATED_IMAGE_AUTHORIZER.
const DefaultAuthorizerImage = "kiali-auth-proxy-operator:latest"

// Render returns every object the KialiAuthProxy of the plan consists of,
// sorted by kind and name, and what of its spec it left out. Owner
// references are added by the controller.
func Render(p Plan, in Inputs) Output {
	d, names := p.KAP, p.Names
	kiali, ignored, viewOnly := kialiCR(d, names, in.KialiClusterSecrets)
	objs := []client.Object{
		ServiceAccount(d, names),
		Service(d, names),
		Deployment(d, names, in),
		kiali,
	}
	if d.Spec.Proxy.IsOIDC() {
		objs = append(objs, OAuth2ProxyConfigMap(d, names))
	}
	if names.KialiServesTLS && d.Spec.Kiali.TLS == nil {
		objs = append(objs, CABundle(d, names))
	}
	if t := d.Spec.Kiali.TLS; t != nil && t.CertManager != nil {
		objs = append(objs, KialiCertificate(d, names))
	}
	if t := d.Spec.Proxy.TLS; d.Spec.Proxy.TLSEnabled() && t.CertManager != nil && Passthrough(d) == nil {
		objs = append(objs, Certificate(d, names))
	}
	if d.Spec.Exposure.VirtualService != nil {
		objs = append(objs, VirtualService(d, names))
	}
	if d.Spec.Exposure.HTTPRoute != nil {
		objs = append(objs, HTTPRoute(d, names))
	}
	if d.Spec.Exposure.Route != nil {
		objs = append(objs, Route(d, names), RoutePeerAuthentication(d, names))
	}
	if d.Spec.LockDownEnabled() {
		objs = append(objs, AuthorizationPolicy(d, names), PeerAuthentication(d, names), NetworkPolicy(d, names))
	}
	sort.SliceStable(objs, func(i, j int) bool { return sortKey(objs[i]) < sortKey(objs[j]) })
	_, dropped := SplitExtraArgs(d.Spec.Proxy.ExtraArgs)
	_, droppedAnnotations := SplitPodAnnotations(d.Spec.Kiali.PodAnnotations)
	c := d.Spec.Proxy.Cookie
	return Output{
		Objects: objs,
		Ignored: Ignored{
			Overrides:      ignored,
			ExtraArgs:      dropped,
			PodAnnotations: droppedAnnotations,
			CookieRefresh:  c != nil && c.Refresh != nil && !d.Spec.Proxy.IsOIDC(),
		},
		KialiViewOnly: viewOnly,
	}
}

func sortKey(o client.Object) string {
	gvk := o.GetObjectKind().GroupVersionKind()
	return gvk.Group + "/" + gvk.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

// Objects renders a KialiAuthProxy as stored, for tools and tests that
// start from one: the objects of Render(PlanFor(kap, in.ProxyImage), in).
func Objects(kap *meshv1alpha1.KialiAuthProxy, in Inputs) []client.Object {
	return Render(PlanFor(kap, in.ProxyImage), in).Objects
}
