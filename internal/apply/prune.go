package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ObjectID identifies one object.
type ObjectID struct {
	GroupKind schema.GroupKind
	Namespace string
	Name      string
}

// IDOf is the ObjectID of an object with its kind set.
func IDOf(o client.Object) ObjectID {
	return ObjectID{
		GroupKind: o.GetObjectKind().GroupVersionKind().GroupKind(),
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
	}
}

// Prune deletes the objects of the given kinds in namespace that carry the
// owner labels and are controlled by owner, but are not in keep. The
// controller check keeps us from deleting anything a user labelled alike.
// It returns what it deleted.
func (a *Applier) Prune(ctx context.Context, namespace string, ownerLabels map[string]string, owner types.UID,
	kinds []schema.GroupVersionKind, keep map[ObjectID]bool) ([]ObjectID, error) {
	var deleted []ObjectID
	for _, gvk := range kinds {
		list, err := a.newList(gvk)
		if err != nil {
			return deleted, err
		}
		if err := a.reader(gvk.GroupKind()).List(ctx, list, client.InNamespace(namespace), client.MatchingLabels(ownerLabels)); err != nil {
			return deleted, fmt.Errorf("listing %s to prune: %w", gvk.Kind, err)
		}
		err = meta.EachListItem(list, func(o runtime.Object) error {
			obj, ok := o.(client.Object)
			if !ok {
				return nil
			}
			id := ObjectID{GroupKind: gvk.GroupKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
			if keep[id] || !controlledBy(obj, owner) || obj.GetDeletionTimestamp() != nil {
				return nil
			}
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			// Preconditions make sure we delete the object we looked at, not
			// one recreated under the same name in the meantime.
			uid := obj.GetUID()
			err := a.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("pruning %s %s/%s: %w", gvk.Kind, id.Namespace, id.Name, err)
			}
			deleted = append(deleted, id)
			return nil
		})
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

func controlledBy(obj client.Object, owner types.UID) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == owner
}
