package multicluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// The checks a user would otherwise make by hand: whether the cluster
// takes Kiali's credentials and grants what Kiali needs, and whether its
// name in Istio is the one Kiali uses.

// istioDefaultClusterID is the cluster ID istiod runs with when CLUSTER_ID
// is not set (istio/istio pkg/config/constants/constants.go,
// DefaultClusterName); Istio's charts set it from
// values.global.multiCluster.clusterName.
const istioDefaultClusterID = "Kubernetes"

// checkCredentials asks the cluster, with the kubeconfig of Kiali's
// remote-cluster Secret, what Kiali may do, and names what it lacks. It
// reports whether the cluster refused the credentials.
func (r *Wirer) checkCredentials(ctx context.Context, p render.Plan, c meshv1alpha1.ClusterSpec, secret string, ra render.RemoteAccess, ks *meshv1alpha1.KialiClusterStatus) (rejected bool) {
	kcl, err := r.clusterClient(ctx, clusters.SecretKey{Namespace: p.Names.Namespace, Name: secret, Key: c.Name})
	if err != nil {
		setReason(ks, meshv1alpha1.ReasonCredentialsRejected, fmt.Sprintf("Kiali cannot use its Secret %s/%s for cluster %s: %v", p.Names.Namespace, secret, c.Name, err))
		return false
	}
	ns := p.KAP.Spec.Kiali.IstioNamespace
	review := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
	err = kcl.Create(ctx, review)
	switch {
	case apierrors.IsUnauthorized(err):
		setReason(ks, meshv1alpha1.ReasonCredentialsRejected, fmt.Sprintf(
			"the API server of cluster %s refuses the credentials in Secret %s/%s (%v): Kiali cannot read the cluster", c.Name, p.Names.Namespace, secret, err))
		return true
	case err != nil:
		setReason(ks, meshv1alpha1.ReasonCredentialsRejected, fmt.Sprintf(
			"cannot ask cluster %s what Kiali may do with the credentials in Secret %s/%s: %v", c.Name, p.Names.Namespace, secret, err))
		return false
	}
	ks.Reachable = true
	var missing []string
	for _, perm := range ra.Permissions {
		if covers(review.Status.ResourceRules, perm) {
			continue
		}
		if review.Status.Incomplete {
			// Another authorizer than RBAC may grant what the rules do
			// not show: ask for this one.
			if ok, err := r.allowed(ctx, kcl, ns, perm); err == nil && ok {
				continue
			}
		}
		missing = append(missing, perm.String())
	}
	ks.MissingPermissions = missing
	if len(missing) > 0 {
		how := "grant them to Kiali's identity there"
		if c.KialiAccess == meshv1alpha1.KialiAccessManaged {
			how = fmt.Sprintf("the operator restores ClusterRole %s there on its next pass; something else takes them away", p.Names.RemoteKiali)
		}
		setReason(ks, meshv1alpha1.ReasonPermissionsMissing, fmt.Sprintf(
			"Kiali's credentials for cluster %s lack %d permissions Kiali needs: %s; %s", c.Name, len(missing), strings.Join(missing, ", "), how))
	}
	return false
}

// allowed asks a SelfSubjectAccessReview for one permission.
func (r *Wirer) allowed(ctx context.Context, kcl client.Client, ns string, perm render.Permission) (bool, error) {
	ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: perm.Verb, Group: perm.Group, Resource: perm.Resource, Name: perm.Name},
	}}
	if res, sub, ok := strings.Cut(perm.Resource, "/"); ok {
		ssar.Spec.ResourceAttributes.Resource, ssar.Spec.ResourceAttributes.Subresource = res, sub
	}
	if err := kcl.Create(ctx, ssar); err != nil {
		return false, err
	}
	return ssar.Status.Allowed, nil
}

// covers reports whether the rules grant perm, as RBAC matches them
// (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows):
// "*" matches every verb, group or resource, "resource/*" every
// subresource of the resource, "*/subresource" that subresource of every
// resource; resource names, when given, restrict the rule.
func covers(rules []authorizationv1.ResourceRule, perm render.Permission) bool {
	for _, rl := range rules {
		if !matches(rl.Verbs, perm.Verb) || !matches(rl.APIGroups, perm.Group) || !resourceMatches(rl.Resources, perm.Resource) {
			continue
		}
		if len(rl.ResourceNames) == 0 || perm.Name != "" && slices.Contains(rl.ResourceNames, perm.Name) {
			return true
		}
	}
	return false
}

func matches(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

func resourceMatches(list []string, resource string) bool {
	if matches(list, resource) {
		return true
	}
	res, sub, ok := strings.Cut(resource, "/")
	return ok && (slices.Contains(list, res+"/*") || slices.Contains(list, "*/"+sub))
}

// checkIstioClusterID reads the cluster ID of the cluster's istiod, with
// the operator's kubeconfig, and reports one that is not the cluster's
// name in spec.clusters: Istio's proxies put it in the source_cluster and
// destination_cluster labels of every mesh metric, and Kiali finds a
// cluster's traffic by its name there.
func (r *Wirer) checkIstioClusterID(ctx context.Context, p render.Plan, c meshv1alpha1.ClusterSpec, ks *meshv1alpha1.KialiClusterStatus) {
	cl, err := r.clusterClient(ctx, clusters.SecretKey{Namespace: p.Names.Namespace, Name: c.Kubeconfig.Name, Key: c.Kubeconfig.Key})
	if err != nil {
		return
	}
	ids, where, err := istioClusterIDs(ctx, cl, p.KAP)
	if err != nil || len(ids) == 0 {
		return
	}
	ks.IstioClusterID = strings.Join(slices.Compact(slices.Sorted(slices.Values(ids))), ",")
	for i, id := range ids {
		if id == c.Name {
			continue
		}
		setReason(ks, meshv1alpha1.ReasonClusterNameMismatch, fmt.Sprintf(
			"istiod %s on cluster %s calls the cluster %q (its CLUSTER_ID), so the mesh metrics label its traffic %q and Kiali, which knows the cluster as %q, does not find it: "+
				"rename the cluster to %q in spec.clusters (and in the Secrets named after it), or install Istio there with values.global.multiCluster.clusterName: %s",
			where[i], c.Name, id, id, c.Name, id, c.Name))
		return
	}
}

// istioClusterIDs reads the CLUSTER_ID of each istiod in the Istio
// namespace (the one spec.kiali.istio.istiodDeploymentName names, or
// every Deployment labelled app=istiod: one per revision).
func istioClusterIDs(ctx context.Context, cl client.Reader, d *meshv1alpha1.KialiAuthProxy) (ids, where []string, err error) {
	ns := d.Spec.Kiali.IstioNamespace
	var deps []appsv1.Deployment
	if i := d.Spec.Kiali.Istio; i != nil && i.IstiodDeploymentName != "" {
		dep := appsv1.Deployment{}
		if err := cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: i.IstiodDeploymentName}, &dep); err != nil {
			return nil, nil, client.IgnoreNotFound(err)
		}
		deps = append(deps, dep)
	} else {
		list := &appsv1.DeploymentList{}
		if err := cl.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": "istiod"}); err != nil {
			return nil, nil, err
		}
		deps = list.Items
	}
	for _, dep := range deps {
		id := istioDefaultClusterID
		for _, ctr := range dep.Spec.Template.Spec.Containers {
			if ctr.Name != "discovery" {
				continue
			}
			for _, e := range ctr.Env {
				if e.Name == "CLUSTER_ID" && e.Value != "" {
					id = e.Value
				}
			}
		}
		ids = append(ids, id)
		where = append(where, ns+"/"+dep.Name)
	}
	return ids, where, nil
}

// setReason keeps the first reason and adds every message.
func setReason(ks *meshv1alpha1.KialiClusterStatus, reason, message string) {
	if ks.Reason == "" {
		ks.Reason = reason
	}
	ks.Message = joinMessage(ks.Message, message)
}

func joinMessage(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
