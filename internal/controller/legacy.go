package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Release 0.1.0 named the CA bundle ConfigMap <name>-cabundle, which for a
// KialiAuthProxy named like its Kiali instance is the Kiali operator's own
// CA bundle (its roles v1.73 to v2.17), or, from Kiali v2.21, the ConfigMap
// of extra CAs a user adds for Kiali. Either way it may be someone else's
// too, so the current release never deletes it: it only takes back what it
// put there, once, and uses a ConfigMap of its own (render.Names.CABundle).

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// legacyCABundleID is the ConfigMap pruning must skip: it carries the
// operator's labels and owner reference until it is released.
func legacyCABundleID(names render.Names) apply.ObjectID {
	return apply.ObjectID{GroupKind: configMapGVK.GroupKind(), Namespace: names.Namespace, Name: names.LegacyCABundle}
}

// releaseLegacyCABundle releases the CA bundle ConfigMap release 0.1.0 made
// for kap, if it is still there: the operator's owner reference, labels and
// fields go, everything else (the Kiali operator's labels and owner
// reference, the injected service-ca.crt, a user's extra CAs) stays. It
// reads the cache, which holds a ConfigMap only while it carries the
// operator's label, so once released, or when there is none, it costs no
// request. It reports whether it released one.
func (r *Reconciler) releaseLegacyCABundle(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, names render.Names) (bool, error) {
	key := types.NamespacedName{Namespace: names.Namespace, Name: names.LegacyCABundle}
	cached, err := r.Applier.NewObject(configMapGVK)
	if err != nil {
		return false, err
	}
	if err := r.Client.Get(ctx, key, cached); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if !madeFor(kap, cached) {
		return false, nil
	}
	// The apply below creates the ConfigMap if it is gone: look at the
	// API server first (once: a released ConfigMap leaves the cache).
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(configMapGVK)
	if err := r.APIReader.Get(ctx, key, live); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if live.UID != cached.GetUID() || !madeFor(kap, live) {
		// The cache is behind; its next event brings this back.
		return false, nil
	}

	// Applying an object with none of the fields the operator's field
	// manager owns makes the API server remove exactly those fields, the
	// owner reference and labels among them, and leaves every other
	// manager's. One is applied again: the inject-cabundle annotation. The
	// Kiali operator mounts this ConfigMap (as its own CA bundle up to
	// v2.20, and from v2.21 over its own, key by key), so the service CA
	// operator must keep its service-ca.crt current: left behind without
	// the annotation, it would go stale when the service CA rotates.
	release := &unstructured.Unstructured{}
	release.SetGroupVersionKind(configMapGVK)
	release.SetNamespace(key.Namespace)
	release.SetName(key.Name)
	if live.Annotations[render.InjectCABundleAnnotation] == "true" {
		release.SetAnnotations(map[string]string{render.InjectCABundleAnnotation: "true"})
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(release), client.FieldOwner(FieldOwner)); err != nil {
		return false, fmt.Errorf("releasing ConfigMap %s: %w", key, err)
	}
	if release.GetUID() != live.UID {
		// The ConfigMap was deleted since, and the apply created it again:
		// take back what was made here, and only that.
		if onlyManagedBy(release, FieldOwner) {
			uid := release.GetUID()
			if err := r.Client.Delete(ctx, release, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return false, fmt.Errorf("deleting ConfigMap %s, created while releasing it: %w", key, err)
			}
		}
		return false, nil
	}
	if err := r.stripOwnership(ctx, kap, release); err != nil {
		return false, err
	}
	return true, nil
}

// madeFor tells whether obj carries kap's owner labels or is controlled by
// it.
func madeFor(kap *meshv1alpha1.KialiAuthProxy, obj client.Object) bool {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil && ref.UID == kap.UID {
		return true
	}
	for k, v := range render.OwnerLabels(kap) {
		if obj.GetLabels()[k] != v {
			return false
		}
	}
	return true
}

// stripOwnership removes from live, as released, the owner reference to
// kap and the operator's labels and applied-hash annotation that other
// field managers also claim, and so survived the release (a copy restored
// from a backup, or written again by hand with the operator's values). Left
// there, the owner reference would have the garbage collector delete the
// ConfigMap with the KialiAuthProxy. Nothing is written when none is left.
func (r *Reconciler) stripOwnership(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, live *unstructured.Unstructured) error {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value,omitempty"`
	}
	// The patch applies only to the object as read, so the indices hold.
	ops := []op{
		{Op: "test", Path: "/metadata/uid", Value: string(live.GetUID())},
		{Op: "test", Path: "/metadata/resourceVersion", Value: live.GetResourceVersion()},
	}
	prefix := len(ops)
	refs := live.GetOwnerReferences()
	for i := len(refs) - 1; i >= 0; i-- {
		if refs[i].UID == kap.UID {
			ops = append(ops, op{Op: "remove", Path: fmt.Sprintf("/metadata/ownerReferences/%d", i)})
		}
	}
	for k, v := range render.Labels(kap, render.ComponentProxy) {
		if got, ok := live.GetLabels()[k]; ok && got == v {
			ops = append(ops, op{Op: "remove", Path: "/metadata/labels/" + jsonPointerEscape(k)})
		}
	}
	if _, ok := live.GetAnnotations()[apply.AppliedHashAnnotation]; ok {
		ops = append(ops, op{Op: "remove", Path: "/metadata/annotations/" + jsonPointerEscape(apply.AppliedHashAnnotation)})
	}
	if len(ops) == prefix {
		return nil
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: live.GetNamespace(), Name: live.GetName()}}
	if err := r.Client.Patch(ctx, cm, client.RawPatch(types.JSONPatchType, raw), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("removing this KialiAuthProxy's owner reference and labels from ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// onlyManagedBy tells whether manager is the only field manager of u.
func onlyManagedBy(u *unstructured.Unstructured, manager string) bool {
	for _, e := range u.GetManagedFields() {
		if e.Manager != manager {
			return false
		}
	}
	return true
}

// jsonPointerEscape escapes a map key for a JSON patch path (RFC 6901).
func jsonPointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// releaseLegacy releases what release 0.1.0 made that the current release
// neither renders nor deletes, and says so in an event.
func (r *Reconciler) releaseLegacy(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, names render.Names) error {
	released, err := r.releaseLegacyCABundle(ctx, kap, names)
	if err != nil || !released {
		return err
	}
	r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, "Released", "Release",
		"Released ConfigMap %s/%s, the CA bundle of release 0.1.0: it may be the Kiali operator's or yours, so it is kept, "+
			"without this KialiAuthProxy's owner reference and labels; the proxy now reads ConfigMap %s",
		names.Namespace, names.LegacyCABundle, names.CABundle)
	return nil
}
