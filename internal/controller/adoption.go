package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
)

// adoptionRetry is how often a refused KialiAuthProxy looks again: the
// objects in the way are not the operator's, so it gets no event when the
// user deletes them.
const adoptionRetry = time.Minute

// foreignObject is an object the operator would apply that exists but was
// not made by this KialiAuthProxy.
type foreignObject struct {
	obj   client.Object // as rendered
	kind  string
	key   types.NamespacedName
	owner *metav1.OwnerReference // its controller, when it has one
	// role says what the object is for when the kind does not.
	role string
}

func (f foreignObject) String() string {
	s := fmt.Sprintf("%s %s/%s", f.kind, f.key.Namespace, f.key.Name)
	if f.role != "" {
		s += " (" + f.role + ")"
	}
	if f.owner != nil {
		s += fmt.Sprintf(" controlled by %s %s", f.owner.Kind, f.owner.Name)
	}
	return s
}

// findForeign returns the objects among objs that exist and are not
// controlled by kap, and the IDs of those that do not exist. The manager's
// cache holds the objects that carry the operator's label and Unmanaged the
// metadata of the others, so the look-up costs no request. An object in
// neither cache may still exist, made an instant ago and not seen yet:
// applyAll applies those only on the condition that they are absent, so an
// object in the way is never taken over unseen.
func (r *Reconciler) findForeign(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, objs []client.Object) ([]foreignObject, map[apply.ObjectID]bool, error) {
	var foreign []foreignObject
	absent := map[apply.ObjectID]bool{}
	for _, obj := range objs {
		gvk := obj.GetObjectKind().GroupVersionKind()
		key := client.ObjectKeyFromObject(obj)
		cached, err := r.Applier.NewObject(gvk)
		if err != nil {
			return nil, nil, err
		}
		err = r.Client.Get(ctx, key, cached)
		if err == nil {
			if f := foreignUnlessOurs(kap, obj, cached); f != nil {
				foreign = append(foreign, *f)
			}
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, key.Namespace, key.Name, err)
		}
		other := &metav1.PartialObjectMetadata{}
		other.SetGroupVersionKind(gvk)
		err = r.unmanaged().Get(ctx, key, other)
		switch {
		case apierrors.IsNotFound(err):
			absent[apply.IDOf(obj)] = true
		case err != nil:
			return nil, nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, key.Namespace, key.Name, err)
		default:
			if f := foreignUnlessOurs(kap, obj, other); f != nil {
				foreign = append(foreign, *f)
			}
		}
	}
	sort.Slice(foreign, func(i, j int) bool { return foreign[i].String() < foreign[j].String() })
	return foreign, absent, nil
}

// confirmAbsent reads from the API server the objects the caches showed
// absent, and returns those that exist and are not kap's; the others stay
// in absent.
func (r *Reconciler) confirmAbsent(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, objs []client.Object, absent map[apply.ObjectID]bool) ([]foreignObject, error) {
	var foreign []foreignObject
	for _, obj := range objs {
		id := apply.IDOf(obj)
		if !absent[id] {
			continue
		}
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
		err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), live)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s %s/%s: %w", id.GroupKind.Kind, id.Namespace, id.Name, err)
		}
		delete(absent, id)
		if f := foreignUnlessOurs(kap, obj, live); f != nil {
			foreign = append(foreign, *f)
		}
	}
	return foreign, nil
}

// unmanaged reads the objects without the operator's label.
func (r *Reconciler) unmanaged() client.Reader {
	if r.Unmanaged != nil {
		return r.Unmanaged
	}
	return r.APIReader
}

// ownedLive reads obj's metadata from the API server and reports whether
// kap controls it; found is false when it does not exist.
func (r *Reconciler) ownedLive(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, obj client.Object) (owned, found bool, err error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), live)
	if apierrors.IsNotFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("reading %s %s/%s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return foreignUnlessOurs(kap, obj, live) == nil, true, nil
}

// foreignUnlessOurs is nil when live is controlled by kap.
func foreignUnlessOurs(kap *meshv1alpha1.KialiAuthProxy, rendered, live client.Object) *foreignObject {
	owner := metav1.GetControllerOf(live)
	if owner != nil && owner.UID == kap.UID {
		return nil
	}
	return &foreignObject{
		obj:   rendered,
		kind:  rendered.GetObjectKind().GroupVersionKind().Kind,
		key:   client.ObjectKeyFromObject(rendered),
		owner: owner,
	}
}

// adoptionProblem is why nothing may be applied, or nil.
func adoptionProblem(policy meshv1alpha1.AdoptionPolicy, foreign []foreignObject) *conditions.Problem {
	var controlled, unowned []string
	for _, f := range foreign {
		if f.owner != nil {
			controlled = append(controlled, f.String())
		} else {
			unowned = append(unowned, f.String())
		}
	}
	switch {
	case len(controlled) > 0:
		return &conditions.Problem{Reason: meshv1alpha1.ReasonControlledByAnother, Message: fmt.Sprintf(
			"Nothing was applied: %s already exist under the names this KialiAuthProxy uses and belong to another owner, which is never taken over; "+
				"delete them, or give this KialiAuthProxy another name (or spec.kiali.name, spec.exposure.*.name)",
			strings.Join(controlled, ", "))}
	case len(unowned) > 0 && policy != meshv1alpha1.AdoptionAdopt:
		return &conditions.Problem{Reason: meshv1alpha1.ReasonAdoptionRequired, Message: fmt.Sprintf(
			"Nothing was applied: %s already exist and were not made by this KialiAuthProxy; "+
				"set spec.adoption: Adopt to take them over (a session secret keeps its content and stays yours), or delete them; checked again every %s",
			strings.Join(unowned, ", "), adoptionRetry)}
	}
	return nil
}

// adoptionBlockers names what keeps objects in the way from being adopted:
// a Deployment's selector cannot change, so a hand-made Deployment that
// selects its pods differently cannot become the rendered one in place.
// Deleting it is the user's call, as it stops the proxy until the
// operator's own Deployment is up.
func (r *Reconciler) adoptionBlockers(ctx context.Context, foreign []foreignObject) (*conditions.Problem, error) {
	var msgs []string
	for _, f := range foreign {
		want, ok := f.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		live := &appsv1.Deployment{}
		if err := r.APIReader.Get(ctx, f.key, live); err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		if !equality.Semantic.DeepEqual(live.Spec.Selector, want.Spec.Selector) {
			msgs = append(msgs, fmt.Sprintf("%s selects its pods by %s and the operator's by %s, and a Deployment's selector cannot change: "+
				"delete it (the proxy is down until the operator's Deployment is available)",
				f, metav1.FormatLabelSelector(live.Spec.Selector), metav1.FormatLabelSelector(want.Spec.Selector)))
		}
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	return &conditions.Problem{Reason: meshv1alpha1.ReasonAdoptionImpossible, Message: "Nothing was applied: " + strings.Join(msgs, "; ")}, nil
}

// adopt prepares a hand-made object for the apply that takes it over. The
// apply itself adds the owner reference and the operator's fields. For a
// Deployment, the fields that hand-made edits own (kubectl create, apply,
// edit: "Update" operations on the object itself) are handed to the
// operator's field manager first, so that the apply removes whatever it
// does not render: a hand-made container or volume left beside the
// rendered ones would break the proxy. Other kinds keep fields they do not
// render (a Kiali CR's extra settings, an annotation), and controllers'
// status writes are never touched.
func (r *Reconciler) adopt(ctx context.Context, f foreignObject) error {
	if f.kind != "Deployment" {
		return nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(f.obj.GetObjectKind().GroupVersionKind())
	if err := r.APIReader.Get(ctx, f.key, live); err != nil {
		return fmt.Errorf("reading %s to adopt it: %w", f, err)
	}
	managers := sets.New[string]()
	for _, e := range live.GetManagedFields() {
		if e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == "" && e.Manager != FieldOwner {
			managers.Insert(e.Manager)
		}
	}
	// The patch replaces the managed fields only if the object is still at
	// the resourceVersion read.
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, managers, FieldOwner)
	if err != nil || patch == nil {
		return err
	}
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("taking over the fields of %s: %w", f, err)
	}
	return nil
}
