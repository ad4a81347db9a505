package multicluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Writes of Kiali's objects on other clusters. An object of the name that
// this KialiAuthProxy did not make (no operator label, or another
// instance's) is never written or deleted: it is reported in the way.

// ours reports whether labels mark an object of this KialiAuthProxy.
func (r *Wirer) ours(p render.Plan, labels map[string]string) bool {
	return labels[render.LabelManagedBy] == render.ManagedByValue && labels[render.LabelInstance] == p.Stored.Name
}

// readRemote reads the live copy of obj on a cluster: nil when there is
// none, and whether it is this KialiAuthProxy's.
func (r *Wirer) readRemote(ctx context.Context, p render.Plan, cl client.Client, cluster string, obj client.Object) (*unstructured.Unstructured, bool, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	err := cl.Get(ctx, client.ObjectKeyFromObject(obj), live)
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("reading %s %s on cluster %s: %w", gvk.Kind, describeKey(obj), cluster, err)
	}
	return live, r.ours(p, live.GetLabels()), nil
}

// applyRemote server-side applies obj on a cluster, unless an object of
// its name is someone else's.
func (r *Wirer) applyRemote(ctx context.Context, p render.Plan, cl client.Client, cluster string, obj client.Object) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	live, ours, err := r.readRemote(ctx, p, cl, cluster, obj)
	if err != nil {
		return err
	}
	if live != nil && !ours {
		return fmt.Errorf("%s %s on cluster %s exists and was not made by this KialiAuthProxy: delete or rename it, or remove kialiAccess: Managed", gvk.Kind, describeKey(obj), cluster)
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetGroupVersionKind(gvk)
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(render.Operator), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing %s %s on cluster %s: %w", gvk.Kind, describeKey(obj), cluster, err)
	}
	return nil
}

// deleteRemote deletes obj on a cluster if it is this KialiAuthProxy's;
// one that is gone is done with.
func (r *Wirer) deleteRemote(ctx context.Context, p render.Plan, cl client.Client, cluster string, obj client.Object) error {
	live, ours, err := r.readRemote(ctx, p, cl, cluster, obj)
	if err != nil || live == nil || !ours {
		return err
	}
	uid := live.GetUID()
	if err := cl.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s on cluster %s: %w", live.GetKind(), describeKey(obj), cluster, err)
	}
	return nil
}

// deleteRoles deletes the Role and RoleBinding of Kiali v1.73.
func (r *Wirer) deleteRoles(ctx context.Context, p render.Plan, cl client.Client, a access) error {
	for _, obj := range roleObjects(a) {
		if err := r.deleteRemote(ctx, p, cl, a.Cluster, obj); err != nil {
			return err
		}
	}
	return nil
}

// clusterObjects names the cluster-wide objects of a recorded access and
// its ServiceAccount, in the order they are deleted: the binding first,
// so Kiali loses its permissions before anything else goes.
func clusterObjects(a access) []client.Object {
	crb := &rbacv1.ClusterRoleBinding{}
	crb.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"))
	crb.Name = a.Name
	cr := &rbacv1.ClusterRole{}
	cr.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"))
	cr.Name = a.Name
	sa := &corev1.ServiceAccount{}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	sa.Namespace, sa.Name = a.Namespace, a.Name
	return []client.Object{crb, cr, sa}
}

// roleObjects names the RoleBinding and Role of a recorded access (Kiali
// v1.73), binding first.
func roleObjects(a access) []client.Object {
	rb := &rbacv1.RoleBinding{}
	rb.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("RoleBinding"))
	rb.Namespace, rb.Name = a.Namespace, a.Name
	role := &rbacv1.Role{}
	role.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("Role"))
	role.Namespace, role.Name = a.Namespace, a.Name
	return []client.Object{rb, role}
}

func describeKey(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
