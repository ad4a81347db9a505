package render

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Plan is a KialiAuthProxy made ready for every decision of a reconcile:
// the object as stored, its spec with every default filled in, and the
// names of its objects. A reconcile makes it once (PlanFor); rendering, the
// status and the multi-cluster wiring all read the same one.
type Plan struct {
	// Stored is the KialiAuthProxy as read: its generation, status,
	// finalizers and annotations.
	Stored *meshv1alpha1.KialiAuthProxy
	// KAP is Stored with its defaults.
	KAP   *meshv1alpha1.KialiAuthProxy
	Names Names
}

// PlanFor defaults kap and names its objects. proxyImage is the
// operator-wide default oauth-proxy image (RELATED_IMAGE_OAUTH_PROXY);
// empty means the built-in default.
func PlanFor(kap *meshv1alpha1.KialiAuthProxy, proxyImage string) Plan {
	return PlanWithImages(kap, meshv1alpha1.Images{OAuthProxy: proxyImage})
}

// PlanWithImages is PlanFor with every operator-wide default proxy image.
func PlanWithImages(kap *meshv1alpha1.KialiAuthProxy, images meshv1alpha1.Images) Plan {
	d := kap.WithDefaultImages(images)
	return Plan{Stored: kap, KAP: d, Names: namesOf(d)}
}

// Ignored is what of the spec was left out of the rendered objects, for
// the status to report.
type Ignored struct {
	// Overrides are the paths of spec.kiali.overrides that would undo what
	// the operator keeps: Kiali anonymous, inside the mesh, behind the
	// proxy.
	Overrides []string
	// ExtraArgs are the items of spec.proxy.extraArgs the allow list
	// refuses (stored before the rule existed).
	ExtraArgs []string
	// PodAnnotations are the keys of spec.kiali.podAnnotations that
	// meshv1alpha1.ProtectedPodAnnotations refuses (stored before the
	// rule existed).
	PodAnnotations []string
	// CookieRefresh is set when spec.proxy.cookie.refresh was stored
	// before admission refused it.
	CookieRefresh bool
}

// Output is what Render makes of a Plan.
type Output struct {
	// Objects are every object the KialiAuthProxy consists of, sorted by
	// kind and name, without owner references.
	Objects []client.Object
	Ignored Ignored
	// KialiViewOnly: the Kiali CR, overrides included, puts Kiali in
	// view-only mode.
	KialiViewOnly bool
}
