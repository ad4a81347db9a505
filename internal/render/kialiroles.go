package render

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// The permissions Kiali has on a cluster it reads, as the Kiali operator
// grants them to the Kiali server of the version the spec selects. Kiali
// v2 operators make them on a remote cluster with
// deployment.remote_cluster_resources_only; the operator of v1.73 cannot,
// so the rules are taken from the role it gives Kiali in its own cluster.
// Kiali behind the proxy runs anonymous, so the operator renders role.yaml
// unless view_only_mode is set, then role-viewer.yaml
// (roles/*/kiali-deploy/tasks/kubernetes/k8s-main.yml).
//
// The sources are the kiali/kiali-operator templates
// roles/<v1.73|default>/kiali-deploy/templates/kubernetes/role.yaml and
// role-viewer.yaml at the tags named below, with the rules of the
// openshift/ copies added: granting a kind a cluster does not serve is
// inert, so one role fits both platforms without asking the cluster which
// it is. pods/log is granted, as the logs tab is on by default.

// KialiRole is the ClusterRole Kiali gets on a remote cluster.
type KialiRole struct {
	// Source names the Kiali operator template the rules come from.
	Source string
	Rules  []rbacv1.PolicyRule
	// ControlPlaneSecrets are the Secrets of the Istio namespace Kiali
	// v1.73 reads for its certificate indicators (role-controlplane.yaml,
	// a Role there); empty for v2, which has no such role.
	ControlPlaneSecrets []string
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	patchVerbs = []string{"get", "list", "watch", "patch"}
	writeVerbs = []string{"get", "list", "watch", "create", "delete", "patch"}
)

// kialiRoleSet is one version range's rules, for the full and the viewer
// role.
type kialiRoleSet struct {
	// since is the first Kiali version with these rules (major, minor).
	major, minor int
	tag          string
	full, viewer []rbacv1.PolicyRule
}

func rule(groups []string, resources []string, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

// v1Rules are the rules of v1.73 and of v2 up to v2.27, which differ only
// in the Istio-side groups given every resource and in the admission
// webhook rule. write is the full role's verb set (patchVerbs, writeVerbs)
// where the viewer has readVerbs.
func v1Rules(viewer bool, istioGroups []string, webhookVerbs []string, projects bool) []rbacv1.PolicyRule {
	patch, write := patchVerbs, writeVerbs
	if viewer {
		patch, write = readVerbs, readVerbs
	}
	rules := []rbacv1.PolicyRule{
		rule([]string{""}, []string{"configmaps", "endpoints", "pods/log"}, readVerbs),
		rule([]string{""}, []string{"namespaces", "pods", "replicationcontrollers", "services"}, patch),
		rule([]string{""}, []string{"pods/portforward"}, []string{"create", "post"}),
		rule([]string{"extensions", "apps"}, []string{"daemonsets", "deployments", "replicasets", "statefulsets"}, patch),
		rule([]string{"batch"}, []string{"cronjobs", "jobs"}, patch),
		rule(istioGroups, []string{"*"}, write),
		rule([]string{"apps.openshift.io"}, []string{"deploymentconfigs"}, patch),
	}
	if projects {
		rules = append(rules, rule([]string{"project.openshift.io"}, []string{"projects"}, []string{"get"}))
	}
	rules = append(rules,
		rule([]string{"route.openshift.io"}, []string{"routes"}, []string{"get"}),
		rule([]string{"authentication.k8s.io"}, []string{"tokenreviews"}, []string{"create"}))
	if webhookVerbs != nil {
		rules = append(rules, rule([]string{"admissionregistration.k8s.io"}, []string{"mutatingwebhookconfigurations"}, webhookVerbs))
	}
	return rules
}

// v228Rules are the rules from v2.28 on: no endpoints, extensions group or
// post verb, the Gateway API by resource, the webhooks only listed.
func v228Rules(viewer bool) []rbacv1.PolicyRule {
	patch, write := patchVerbs, writeVerbs
	if viewer {
		patch, write = readVerbs, readVerbs
	}
	gatewayGroup := []string{"gateway.networking.k8s.io"}
	rules := []rbacv1.PolicyRule{
		rule([]string{""}, []string{"configmaps", "pods/log"}, readVerbs),
		rule([]string{""}, []string{"namespaces", "pods", "replicationcontrollers", "services"}, patch),
		rule([]string{""}, []string{"pods/portforward"}, []string{"create"}),
		rule([]string{"apps"}, []string{"daemonsets", "deployments", "replicasets", "statefulsets"}, patch),
		rule([]string{"batch"}, []string{"cronjobs", "jobs"}, patch),
		rule([]string{"networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io", "inference.networking.k8s.io"}, []string{"*"}, write),
	}
	if viewer {
		rules = append(rules, rule(gatewayGroup, []string{"gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants", "tcproutes", "tlsroutes"}, readVerbs))
	} else {
		rules = append(rules,
			rule(gatewayGroup, []string{"gateways", "grpcroutes", "httproutes", "referencegrants"}, writeVerbs),
			rule(gatewayGroup, []string{"tcproutes", "tlsroutes"}, []string{"get", "list", "watch", "delete", "patch"}),
			rule(gatewayGroup, []string{"gatewayclasses"}, readVerbs))
	}
	return append(rules,
		rule([]string{"apps.openshift.io"}, []string{"deploymentconfigs"}, patch),
		rule([]string{"route.openshift.io"}, []string{"routes"}, []string{"get"}),
		rule([]string{"authentication.k8s.io"}, []string{"tokenreviews"}, []string{"create"}),
		rule([]string{"admissionregistration.k8s.io"}, []string{"mutatingwebhookconfigurations"}, []string{"list"}))
}

var istio173Groups = []string{"networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io", "gateway.networking.k8s.io"}

func withGroup(groups []string, g string) []string {
	return append(append([]string(nil), groups...), g)
}

// kialiRoleSets, newest first.
var kialiRoleSets = []kialiRoleSet{
	{major: 2, minor: 28, tag: "v2.28.0",
		full: v228Rules(false), viewer: v228Rules(true)},
	{major: 2, minor: 17, tag: "v2.17.0",
		full:   v1Rules(false, withGroup(istio173Groups, "inference.networking.k8s.io"), readVerbs, false),
		viewer: v1Rules(true, withGroup(istio173Groups, "inference.networking.k8s.io"), readVerbs, false)},
	{major: 2, minor: 13, tag: "v2.13.0",
		full:   v1Rules(false, withGroup(istio173Groups, "inference.networking.x-k8s.io"), readVerbs, false),
		viewer: v1Rules(true, withGroup(istio173Groups, "inference.networking.x-k8s.io"), readVerbs, false)},
	{major: 2, minor: 0, tag: "v2.0.0",
		full: v1Rules(false, istio173Groups, readVerbs, false), viewer: v1Rules(true, istio173Groups, readVerbs, false)},
}

// kialiRole173 is the role of roles/v1.73, which kiali-operator v2.29.0
// still carries unchanged from v1.73.10.
var kialiRole173 = kialiRoleSet{tag: "v2.29.0 roles/v1.73",
	full: v1Rules(false, istio173Groups, nil, true), viewer: v1Rules(true, istio173Groups, nil, true)}

// kialiControlPlaneSecrets: certificates_information_indicators.secrets,
// on by default (roles/v1.73/kiali-deploy/defaults/main.yml).
var kialiControlPlaneSecrets = []string{"cacerts", "istio-ca-secret"}

// KialiRoleFor is the role for a spec.kiali.version ("default" and v1.x
// are v1.73; "latest" and vN.x the newest rules known).
func KialiRoleFor(version string, viewOnly bool) KialiRole {
	set, dir := kialiRole173, "roles/v1.73"
	var controlPlane []string
	if meshv1alpha1.LayoutForVersion(version) == meshv1alpha1.KialiLayoutV2 {
		dir = "roles/default"
		set = kialiRoleSets[len(kialiRoleSets)-1]
		newest := version == "latest" || strings.HasSuffix(version, ".x")
		for _, s := range kialiRoleSets {
			if newest || meshv1alpha1.KialiVersionAtLeast(version, s.major, s.minor) {
				set = s
				break
			}
		}
	} else {
		controlPlane = kialiControlPlaneSecrets
	}
	file, rules := "role.yaml", set.full
	if viewOnly {
		file, rules = "role-viewer.yaml", set.viewer
	}
	return KialiRole{
		Source:              fmt.Sprintf("kiali-operator %s %s/kiali-deploy/templates/kubernetes/%s", set.tag, dir, file),
		Rules:               rules,
		ControlPlaneSecrets: controlPlane,
	}
}

// Permission is one thing Kiali needs: a verb on a resource of a group.
type Permission struct {
	Group, Resource, Verb string
	// Name restricts it to one object.
	Name string
}

func (p Permission) String() string {
	res := p.Resource
	if p.Group != "" {
		res += "." + p.Group
	}
	if p.Name != "" {
		res += " " + p.Name
	}
	return p.Verb + " " + res
}

// Permissions lists each permission of the role, the resource "*" as is.
func (r KialiRole) Permissions() []Permission {
	var out []Permission
	for _, rl := range r.Rules {
		for _, g := range rl.APIGroups {
			for _, res := range rl.Resources {
				for _, v := range rl.Verbs {
					// RBAC calls a POST request create, so no request
					// asks for post: it is granted as the role has it,
					// but not checked.
					if v == "post" {
						continue
					}
					out = append(out, Permission{Group: g, Resource: res, Verb: v})
				}
			}
		}
	}
	for _, s := range r.ControlPlaneSecrets {
		for _, v := range readVerbs {
			out = append(out, Permission{Resource: "secrets", Verb: v, Name: s})
		}
	}
	return out
}
