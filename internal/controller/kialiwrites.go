package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// meshConfigGroups are the API groups of the mesh's configuration that a
// Kiali which is not view-only may write: the kiali-operator role template
// (roles/default/kiali-deploy/templates/*/role.yaml) grants create, patch
// and delete on them, and the 'role' rather than 'role-viewer' template is
// chosen whenever view_only_mode is false and the strategy is anonymous
// (roles/default/kiali-deploy/tasks/openshift/os-main.yml).
var meshConfigGroups = map[string]bool{
	"networking.istio.io": true, "security.istio.io": true,
	"extensions.istio.io": true, "telemetry.istio.io": true,
}

// meshConfigResources are those groups' resources, for a review of the
// wildcard group: "delete pods in every group" asks nothing of the mesh.
var meshConfigResources = map[string]bool{
	"*": true, "virtualservices": true, "destinationrules": true, "gateways": true, "serviceentries": true,
	"sidecars": true, "workloadentries": true, "workloadgroups": true, "envoyfilters": true, "proxyconfigs": true,
	"authorizationpolicies": true, "peerauthentications": true, "requestauthentications": true,
	"wasmplugins": true, "telemetries": true,
}

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true, "*": true}

// kialiWrites is whether Kiali may write, and whether the proxy asks its
// users for a write permission on the mesh's configuration.
type kialiWrites struct {
	viewOnly    bool
	sarsCheckIt bool
	sars        string
	// noReviews: OIDC in AllowList mode, where no review is made at all.
	noReviews bool
}

// kialiWritesOf reads a defaulted KialiAuthProxy's reviews, and whether
// the rendered Kiali CR (overrides included) is in view-only mode.
func kialiWritesOf(d *meshv1alpha1.KialiAuthProxy, viewOnly bool) kialiWrites {
	w := kialiWrites{
		viewOnly:  viewOnly,
		sars:      render.SubjectAccessReviewsJSON(d.Spec.Proxy.SubjectAccessReviews),
		noReviews: !d.Spec.Proxy.ReviewsTokens(),
	}
	if w.noReviews {
		return w
	}
	for _, s := range d.Spec.Proxy.SubjectAccessReviews {
		if writeVerbs[s.Verb] && (meshConfigGroups[s.ResourceAPIGroup] || s.ResourceAPIGroup == "*" && meshConfigResources[s.Resource]) {
			w.sarsCheckIt = true
		}
	}
	return w
}

// condition is the KialiWritesBypassSAR condition: a warning, not part of
// Ready, because a console that may change the mesh is a choice.
func (w kialiWrites) condition(b conditions.Builder) metav1.Condition {
	cond := b.Is
	switch {
	case w.viewOnly:
		return cond(meshv1alpha1.ConditionKialiWritesBypassSAR, false, meshv1alpha1.ReasonViewOnly,
			"Kiali is in view-only mode: it changes nothing in the mesh for the users the proxy lets in")
	case w.sarsCheckIt:
		return cond(meshv1alpha1.ConditionKialiWritesBypassSAR, false, meshv1alpha1.ReasonSARChecksWrites, fmt.Sprintf(
			"Kiali may change the mesh's configuration, and the proxy lets in only users who may write it too (%s)", w.sars))
	case w.noReviews:
		return cond(meshv1alpha1.ConditionKialiWritesBypassSAR, true, meshv1alpha1.ReasonKialiCanWrite,
			"Kiali is not in view-only mode, so the anonymous Kiali changes the mesh's configuration with its own rights for every user spec.proxy.oidc.authorization's allow lists let in: no SubjectAccessReview is asked in mode AllowList; set spec.kiali.viewOnlyMode: true, or use mode SubjectAccessReview with a review for a write permission on the mesh's configuration")
	default:
		return cond(meshv1alpha1.ConditionKialiWritesBypassSAR, true, meshv1alpha1.ReasonKialiCanWrite, fmt.Sprintf(
			"Kiali is not in view-only mode, so the Kiali operator gives its ServiceAccount create, patch and delete on the mesh's configuration (and patch on workloads) in every namespace it sees, and the anonymous Kiali makes those changes for anyone the proxy lets in, yet the proxy's reviews %s ask for no write permission on the mesh's configuration: set spec.kiali.viewOnlyMode: true, or add a review such as {verb: patch, resource: virtualservices, resourceAPIGroup: networking.istio.io} (with no namespace when Kiali sees every namespace)",
			w.sars))
	}
}
