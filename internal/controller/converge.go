package controller

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// The steps that make the cluster hold the rendered objects: keep what the
// API server serves, find what is in the way, apply, prune.

// desired are the rendered objects of the kinds the API server serves, at
// the version it serves them, owned by the KialiAuthProxy.
func (r *Reconciler) desired(p render.Plan, kinds presence, rendered []client.Object) ([]client.Object, error) {
	var objs []client.Object
	for _, obj := range rendered {
		gk := obj.GetObjectKind().GroupVersionKind().GroupKind()
		if !kinds.served(gk) {
			continue
		}
		obj, err := atVersion(obj, kinds.gvk(gk))
		if err != nil {
			return nil, err
		}
		if err := controllerutil.SetControllerReference(p.Stored, obj, r.Scheme); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// atVersion returns obj as the given version of its kind, for kinds the API
// server serves at an older version than the one rendered.
func atVersion(obj client.Object, gvk schema.GroupVersionKind) (client.Object, error) {
	if obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj, nil
	}
	u, err := apply.Document(obj)
	if err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// inTheWay finds the objects of the rendered names that exist and were not
// made by this KialiAuthProxy (the generated session secret among them),
// and those that do not exist, and says why nothing may be applied, if so:
// objects in the way are taken over only when the spec says so and they
// can be.
func (r *Reconciler) inTheWay(ctx context.Context, p render.Plan, objs []client.Object, in *resolved) ([]foreignObject, map[apply.ObjectID]bool, *conditions.Problem, error) {
	foreign, absent, err := r.findForeign(ctx, p.Stored, objs)
	if err != nil {
		return nil, nil, nil, err
	}
	if in.foreignSessionSecret != nil {
		foreign = append(foreign, *in.foreignSessionSecret)
	}
	refused := adoptionProblem(p.KAP.Spec.Adoption, foreign)
	if refused != nil && len(absent) > 0 {
		// A refusal names every object in the way, and nothing is applied
		// to find the rest: the ones the caches do not show (made an
		// instant ago, or of a kind whose CRD came back and is watched
		// anew) are read.
		more, err := r.confirmAbsent(ctx, p.Stored, objs, absent)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(more) > 0 {
			foreign = append(foreign, more...)
			sort.Slice(foreign, func(i, j int) bool { return foreign[i].String() < foreign[j].String() })
			refused = adoptionProblem(p.KAP.Spec.Adoption, foreign)
		}
	}
	if refused == nil && len(foreign) > 0 {
		if refused, err = r.adoptionBlockers(ctx, foreign); err != nil {
			return nil, nil, nil, err
		}
	}
	return foreign, absent, refused, nil
}

// adoptAll prepares the objects in the way for the apply that takes them
// over. The session secret is used as it is, never written.
func (r *Reconciler) adoptAll(ctx context.Context, foreign []foreignObject) error {
	for _, f := range foreign {
		if f.obj == nil || f.role != "" {
			continue
		}
		if err := r.adopt(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// applyAll applies every object; a failure is kept, by component, for the
// status and the retry, and the other objects are applied all the same.
//
// The objects found absent are applied only if they still are. One that
// exists all the same was made an instant before, and the caches have not
// seen it yet: this KialiAuthProxy's is applied as any other; another
// owner's is in the way, so what this reconcile created is deleted again,
// and lateFind is set: the reconcile runs again once the caches have seen
// it, and decides as for any object in the way.
func (r *Reconciler) applyAll(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, objs []client.Object, absent map[apply.ObjectID]bool, obs *observation) (lateFind bool, err error) {
	var created []client.Object
	for _, obj := range objs {
		var err error
		if absent[apply.IDOf(obj)] {
			var uid types.UID
			if uid, err = r.Applier.ApplyAbsent(ctx, obj); err == nil {
				obj.SetUID(uid)
				created = append(created, obj)
				continue
			}
			if apierrors.IsConflict(err) {
				owned, found, lerr := r.ownedLive(ctx, kap, obj)
				switch {
				case lerr != nil:
					return false, lerr
				case found && !owned:
					logf.FromContext(ctx).Info("an object of a rendered name appeared before the cache saw it; looking again",
						"kind", obj.GetObjectKind().GroupVersionKind().Kind, "name", obj.GetName())
					return true, r.undoCreates(ctx, created)
				case owned:
					_, err = r.Applier.Apply(ctx, obj)
				}
			}
		} else {
			_, err = r.Applier.Apply(ctx, obj)
		}
		if err != nil {
			component := obj.GetLabels()[render.LabelComponent]
			if obs.applyErrors[component] == nil {
				obs.applyErrors[component] = err
			}
			logf.FromContext(ctx).Error(err, "apply failed", "kind", obj.GetObjectKind().GroupVersionKind().Kind, "name", obj.GetName())
		}
	}
	return false, nil
}

// undoCreates deletes the objects created by this reconcile, as created.
func (r *Reconciler) undoCreates(ctx context.Context, created []client.Object) error {
	for _, obj := range created {
		uid := obj.GetUID()
		err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting %s %s/%s again: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// announceAdoptions records what was taken over, and, once per generation,
// what is used as it is.
func (r *Reconciler) announceAdoptions(p render.Plan, foreign []foreignObject, obs *observation) {
	kap := p.Stored
	for _, f := range foreign {
		switch {
		case f.role != "" && kap.Status.ObservedGeneration != kap.Generation:
			r.event(kap, "Adopted", "Adopt", "Using the existing %s as it is; it stays yours and outlives this KialiAuthProxy", f)
		case f.role == "" && obs.applyErrors[f.obj.GetLabels()[render.LabelComponent]] == nil:
			r.event(kap, "Adopted", "Adopt", "Took over the existing %s", f)
		}
	}
}

// prune deletes the objects of this KialiAuthProxy that are no longer
// rendered, and the generated htpasswd files the proxy no longer mounts.
// The record of remote writes is kept for as long as the KialiAuthProxy,
// and release 0.1.0's CA bundle, which may be the Kiali operator's, is
// released, never pruned (legacy.go).
func (r *Reconciler) prune(ctx context.Context, p render.Plan, kinds presence, objs []client.Object, in *resolved) error {
	kap, n := p.Stored, p.Names
	keep := map[apply.ObjectID]bool{
		{GroupKind: schema.GroupKind{Kind: "ConfigMap"}, Namespace: kap.Namespace, Name: n.RemoteWriteRecord}: true,
		legacyCABundleID(n): true,
	}
	for _, obj := range objs {
		keep[apply.IDOf(obj)] = true
	}
	deleted, err := r.Applier.Prune(ctx, kap.Namespace, render.OwnerLabels(kap), kap.UID, kinds.applied(), keep)
	if err == nil {
		keepHtpasswd := map[apply.ObjectID]bool{}
		if h := in.generatedHtpasswd; h != "" {
			keepHtpasswd[apply.ObjectID{GroupKind: secretGK, Namespace: kap.Namespace, Name: h}] = true
		}
		var gone []apply.ObjectID
		gone, err = r.Applier.Prune(ctx, kap.Namespace, htpasswdLabels(kap), kap.UID,
			[]schema.GroupVersionKind{secretGK.WithVersion("v1")}, keepHtpasswd)
		deleted = append(deleted, gone...)
	}
	for _, id := range deleted {
		r.event(kap, "Pruned", "Delete", "Deleted %s %s/%s, which the spec no longer asks for", id.GroupKind.Kind, id.Namespace, id.Name)
	}
	return err
}

var secretGK = schema.GroupKind{Kind: "Secret"}
