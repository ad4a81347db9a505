package upgrade

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func id(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// What Kubernetes will not change in place, or what the operator would
// delete, must stay as the previous release left it; otherwise the upgrade
// needs a migration of its own.
func TestNothingThePreviousReleaseMadeMustBeReplaced(t *testing.T) {
	now := map[string]*unstructured.Unstructured{}
	for _, u := range rendered(t, previousImage) {
		now[id(u)] = u
	}
	for _, old := range previousObjects(t) {
		cur, ok := now[id(old)]
		if !ok {
			t.Errorf("%s, made by %s, is no longer rendered: the upgrade would delete it (prune); that needs a migration", id(old), previous)
			continue
		}
		for _, path := range immutableFields[old.GetKind()] {
			was, _, _ := unstructured.NestedFieldNoCopy(old.Object, path...)
			is, _, _ := unstructured.NestedFieldNoCopy(cur.Object, path...)
			if !equality.Semantic.DeepEqual(was, is) {
				t.Errorf("%s: %v was %v in %s and is now %v: Kubernetes rejects the change (or it replaces the object); that needs a migration",
					id(old), path, was, previous, is)
			}
		}
	}
}

// immutableFields are, per kind, the fields whose change forces a delete
// and create, or loses state users depend on.
var immutableFields = map[string][][]string{
	"Deployment": {{"spec", "selector"}},
	// A Service's type decides its IP; its selector which pods serve.
	"Service": {{"spec", "type"}, {"spec", "selector"}},
	// The session secret is immutable: a new key or value logs every user
	// out.
	"Secret": {{"data"}, {"type"}, {"immutable"}},
}
