package v1alpha1

import "strings"

// The lock-down admits only the proxy to Kiali, and it is enforced by
// Kiali's sidecar: a Kiali pod without one, with one that captures nothing,
// or with traffic let around it is reachable by anything the network lets
// through, and Kiali runs anonymously. spec.kiali.podAnnotations is copied
// onto that pod, so the annotations by which Istio decides whether and how
// the pod gets its sidecar are refused there. The CEL rules of
// KialiPodAnnotations are generated from the list below (go run
// ./hack/rulegen writes zz_generated.podannotations.go), the renderer drops
// the same annotations from an object stored before a rule existed and from
// spec.kiali.overrides, and the tests take their cases from the list.

// Annotations the operator always puts on the Kiali pod.
const (
	// SidecarInjectAnnotation asks Istio's injector for a sidecar
	// (injectRequired, pkg/kube/inject). OpenShift Service Mesh 2.x reads
	// the annotation, upstream Istio the label of the same name.
	SidecarInjectAnnotation = "sidecar.istio.io/inject"
	// ProxyConfigAnnotation overrides the sidecar's ProxyConfig; the
	// operator sets holdApplicationUntilProxyStarts with it.
	ProxyConfigAnnotation = "proxy.istio.io/config"
)

// ProtectedPodAnnotation is a Kiali pod annotation, or a family of them,
// that spec.kiali.podAnnotations must not set.
// +kubebuilder:object:generate=false
type ProtectedPodAnnotation struct {
	// Key is the annotation's name or, ending in "/", the prefix of every
	// annotation in a family, such as traffic.sidecar.istio.io/.
	Key string
	// Why ends the refusal message "spec.kiali.podAnnotations must not set
	// <key>: <Why>". Annotations with the same Why share one rule and one
	// message.
	Why string
}

const (
	whyAroundSidecar = "they would let traffic reach Kiali around its sidecar"
	whySidecarShape  = "they fake, replace or reshape Kiali's sidecar, on which the lock-down depends"
	whyInjected      = "Kiali is always injected so that only the proxy can reach it"
	whyProxyConfig   = "the operator sets it to hold Kiali until its sidecar is ready"
)

// ProtectedPodAnnotations are the annotations spec.kiali.podAnnotations
// must not set. Istio's annotations are defined in istio/api,
// annotation/annotations.yaml; the files named below are where istio/istio
// acts on them.
var ProtectedPodAnnotations = []ProtectedPodAnnotation{
	// includeInboundPorts, excludeInboundPorts, excludeOutboundPorts,
	// excludeOutboundIPRanges and the like choose the ports and addresses
	// the sidecar's iptables rules redirect (the injection template,
	// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml,
	// passes them to istio-iptables): excluding port 20001 lets any pod
	// reach Kiali without the sidecar checking the AuthorizationPolicy.
	{Key: "traffic.sidecar.istio.io/", Why: whyAroundSidecar},
	// status.sidecar.istio.io/port moves the sidecar's status port, which
	// the injection template leaves out of the inbound redirection: set to
	// 20001 it takes Kiali's port out of it.
	{Key: "status.sidecar.istio.io/", Why: whyAroundSidecar},
	// NONE turns the sidecar's traffic capture off altogether.
	{Key: "sidecar.istio.io/interceptionMode", Why: whyAroundSidecar},

	// Istio's injector (pkg/kube/inject) reads sidecar.istio.io/status as
	// the record of an injection and skips a pod that has one.
	{Key: "sidecar.istio.io/status", Why: whySidecarShape},
	// Replaces the sidecar's image with any other.
	{Key: "sidecar.istio.io/proxyImage", Why: whySidecarShape},
	// Names a ConfigMap whose Envoy bootstrap overrides the sidecar's own,
	// listeners included.
	{Key: "sidecar.istio.io/bootstrapOverride", Why: whySidecarShape},
	// inject.istio.io/templates picks the injection templates: grpc-agent
	// injects an istio-proxy that captures nothing.
	{Key: "inject.istio.io/", Why: whySidecarShape},
	// ambient.istio.io/redirection claims ztunnel's capture, which the
	// MeshLocked check takes as proof that the mesh carries Kiali's
	// traffic (internal/controller/meshpods.go); others, such as
	// ambient.istio.io/bypass-inbound-capture, ask ztunnel to leave the
	// pod's inbound traffic alone.
	{Key: "ambient.istio.io/", Why: whySidecarShape},

	{Key: SidecarInjectAnnotation, Why: whyInjected},
	{Key: ProxyConfigAnnotation, Why: whyProxyConfig},
}

// PodAnnotationRule is one CEL rule on spec.kiali.podAnnotations.
// +kubebuilder:object:generate=false
type PodAnnotationRule struct {
	Rule    string
	Message string
}

// PodAnnotationRules are the CEL rules, derived from
// ProtectedPodAnnotations, that spec.kiali.podAnnotations must pass. They
// are written to zz_generated.podannotations.go as markers of
// KialiPodAnnotations. Each rule looks at the map's keys only.
func PodAnnotationRules() []PodAnnotationRule {
	var order []string
	groups := map[string][]ProtectedPodAnnotation{}
	for _, a := range ProtectedPodAnnotations {
		if _, seen := groups[a.Why]; !seen {
			order = append(order, a.Why)
		}
		groups[a.Why] = append(groups[a.Why], a)
	}
	var rules []PodAnnotationRule
	for _, why := range order {
		group := groups[why]
		var terms, names []string
		for _, a := range group {
			if prefix, ok := a.prefix(); ok {
				terms = append(terms, "k.startsWith('"+prefix+"')")
				names = append(names, prefix+"*")
			} else {
				terms = append(terms, "k == '"+a.Key+"'")
				names = append(names, a.Key)
			}
		}
		rule := "!self.exists(k, " + strings.Join(terms, " || ") + ")"
		if _, prefix := group[0].prefix(); len(group) == 1 && !prefix {
			// One key needs no walk over the map.
			rule = "!('" + group[0].Key + "' in self)"
		}
		rules = append(rules, PodAnnotationRule{
			Rule:    rule,
			Message: "spec.kiali.podAnnotations must not set " + listed(names) + ": " + why,
		})
	}
	return rules
}

// Message is the message of the rule that refuses the entry's keys, the
// same for every entry with its Why.
func (a ProtectedPodAnnotation) Message() string {
	for _, r := range PodAnnotationRules() {
		if strings.HasSuffix(r.Message, ": "+a.Why) {
			return r.Message
		}
	}
	return ""
}

// RefusedPodAnnotation is the entry of ProtectedPodAnnotations that covers
// the key, if any.
func RefusedPodAnnotation(key string) (ProtectedPodAnnotation, bool) {
	for _, a := range ProtectedPodAnnotations {
		if a.Matches(key) {
			return a, true
		}
	}
	return ProtectedPodAnnotation{}, false
}

// prefix is the prefix a family entry stands for.
func (a ProtectedPodAnnotation) prefix() (string, bool) {
	return a.Key, strings.HasSuffix(a.Key, "/")
}

// Matches reports whether the entry covers the annotation key.
func (a ProtectedPodAnnotation) Matches(key string) bool {
	if prefix, ok := a.prefix(); ok {
		return strings.HasPrefix(key, prefix)
	}
	return key == a.Key
}

// PodAnnotationProtected reports whether spec.kiali.podAnnotations must not
// set the annotation. The renderer checks it too: an object stored before
// the rules existed may hold any annotation.
func PodAnnotationProtected(key string) bool {
	_, ok := RefusedPodAnnotation(key)
	return ok
}

// listed joins names as "a, b or c".
func listed(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
