// Package apply writes rendered objects with server-side apply under one
// field manager, creates generated objects only when absent, and prunes
// objects that are no longer rendered.
//
// Every write is skipped when the object in the cache already holds every
// value we would apply, so a reconcile of an unchanged KialiAuthProxy makes
// no write at all: no load on the API server and no churn for GitOps tools
// that watch the objects.
package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AppliedHashAnnotation holds a hash of the document last applied. Because
// every apply writes it, a change that only removes a field from what we
// render still differs from the live object, and is applied.
const AppliedHashAnnotation = "mesh.kialiauth.io/applied-hash"

// Applier applies objects under a single field manager.
type Applier struct {
	// Client writes to the API server and reads from the cache.
	Client client.Client
	Scheme *runtime.Scheme
	// FieldOwner is the server-side apply field manager.
	FieldOwner string
	// MetadataOnly lists the kinds the cache holds as metadata only (their
	// informers were started with OnlyMetadata); they are read that way here
	// too, so no second, full informer is started for them.
	MetadataOnly map[schema.GroupKind]bool
	// Cache, when set, is read for the metadata-only kinds instead of the
	// Client, which reads some kinds (Secrets) from the API server whatever
	// the form asked for.
	Cache client.Reader
}

// reader is where the kind is read: the metadata-only kinds from Cache,
// when set, the others through the Client.
func (a *Applier) reader(gk schema.GroupKind) client.Reader {
	if a.MetadataOnly[gk] && a.Cache != nil {
		return a.Cache
	}
	return a.Client
}

// Apply makes the live object carry every field of desired. It reports
// whether it wrote.
func (a *Applier) Apply(ctx context.Context, desired client.Object) (bool, error) {
	u, err := Document(desired)
	if err != nil {
		return false, err
	}
	if err := stampHash(u); err != nil {
		return false, err
	}
	live, found, err := a.getLive(ctx, u)
	if err != nil {
		return false, err
	}
	if found && isSubset(u.Object, live.Object) {
		return false, nil
	}
	if _, err := a.apply(ctx, u); err != nil {
		return false, fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return true, nil
}

// absentVersion is a resourceVersion no object reaches: the API server keeps
// a resource version from etcd's revision, an int64 counting every write of
// the cluster.
const absentVersion = "9223372036854775807"

// ApplyAbsent applies desired only if no object of its kind and name exists,
// and reports the created object's UID. The object is created by a
// server-side apply, so its fields are owned as those of any other apply;
// an existing object is left as it is, and the error satisfies
// apierrors.IsConflict. A resourceVersion in an apply is its precondition:
// the API server refuses a write to an object at another version, and
// ignores the version when the write creates the object
// ((*Store).Update, k8s.io/apiserver/pkg/registry/generic/registry/store.go).
func (a *Applier) ApplyAbsent(ctx context.Context, desired client.Object) (types.UID, error) {
	u, err := Document(desired)
	if err != nil {
		return "", err
	}
	if err := stampHash(u); err != nil {
		return "", err
	}
	u.SetResourceVersion(absentVersion)
	uid, err := a.apply(ctx, u)
	if apierrors.IsConflict(err) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return uid, nil
}

// apply sends u as a server-side apply and returns the UID of the object
// applied. The response is asked for as metadata only: nothing reads the
// rest, and a whole object, with its managed fields, costs the API server
// to encode and the manager to decode on every write.
func (a *Applier) apply(ctx context.Context, u *unstructured.Unstructured) (types.UID, error) {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return "", err
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(u.GroupVersionKind())
	m.SetNamespace(u.GetNamespace())
	m.SetName(u.GetName())
	err = a.Client.Patch(ctx, m, client.RawPatch(types.ApplyPatchType, raw), client.FieldOwner(a.FieldOwner), client.ForceOwnership)
	return m.UID, err
}

// CreateIfAbsent creates obj unless an object of its kind and name exists.
// It never updates: used for generated secrets, which must never be
// regenerated behind the user's back. It reports whether it created.
func (a *Applier) CreateIfAbsent(ctx context.Context, obj client.Object) (bool, error) {
	err := a.Client.Create(ctx, obj, client.FieldOwner(a.FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return true, nil
}

// stampHash records a hash of the document in its annotations.
func stampHash(u *unstructured.Unstructured) error {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AppliedHashAnnotation] = hex.EncodeToString(sum[:8])
	u.SetAnnotations(ann)
	return nil
}

// getLive reads the object from the cache as a JSON document.
func (a *Applier) getLive(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	obj, err := a.NewObject(u.GroupVersionKind())
	if err != nil {
		return nil, false, err
	}
	err = a.reader(u.GroupVersionKind().GroupKind()).Get(ctx, client.ObjectKeyFromObject(u), obj)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	live, err := Document(obj)
	if err != nil {
		return nil, false, err
	}
	return live, true, nil
}

// NewObject returns an empty object of the kind, in the form the cache
// holds it: metadata only, typed when the scheme knows the kind, otherwise
// unstructured.
func (a *Applier) NewObject(gvk schema.GroupVersionKind) (client.Object, error) {
	o, err := a.empty(gvk, false)
	if err != nil {
		return nil, err
	}
	obj, ok := o.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", gvk)
	}
	return obj, nil
}

// newList is NewObject for lists.
func (a *Applier) newList(gvk schema.GroupVersionKind) (client.ObjectList, error) {
	o, err := a.empty(gvk, true)
	if err != nil {
		return nil, err
	}
	list, ok := o.(client.ObjectList)
	if !ok {
		return nil, fmt.Errorf("%sList is not a list", gvk)
	}
	return list, nil
}

func (a *Applier) empty(gvk schema.GroupVersionKind, list bool) (runtime.Object, error) {
	want := gvk
	if list {
		want = gvk.GroupVersion().WithKind(gvk.Kind + "List")
	}
	var o runtime.Object
	switch {
	case a.MetadataOnly[gvk.GroupKind()] && list:
		o = &metav1.PartialObjectMetadataList{}
	case a.MetadataOnly[gvk.GroupKind()]:
		o = &metav1.PartialObjectMetadata{}
	case a.Scheme.Recognizes(want):
		var err error
		if o, err = a.Scheme.New(want); err != nil {
			return nil, err
		}
	case list:
		o = &unstructured.UnstructuredList{}
	default:
		o = &unstructured.Unstructured{}
	}
	o.GetObjectKind().SetGroupVersionKind(want)
	return o, nil
}
