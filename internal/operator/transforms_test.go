package operator

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

func TestSlimObjectsDropsManagedFieldsAndLastApplied(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Name:          "kiali-oauth",
		Annotations:   map[string]string{lastAppliedAnnotation: `{"big":"copy"}`, "team": "mesh"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := slimObjects()(d)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.Deployment)
	if len(got.ManagedFields) != 0 {
		t.Errorf("managed fields kept: %v", got.ManagedFields)
	}
	if want := map[string]string{"team": "mesh"}; len(got.Annotations) != 1 || got.Annotations["team"] != "mesh" {
		t.Errorf("annotations = %v, want %v", got.Annotations, want)
	}
}

func TestSlimSecretMetadataKeepsWhatTheWatchReads(t *testing.T) {
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "htpasswd", Namespace: "istio-system", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"app.kubernetes.io/managed-by": "someone"},
		Annotations:     map[string]string{lastAppliedAnnotation: `{"data":{"auth":"c2VjcmV0"}}`},
		OwnerReferences: []metav1.OwnerReference{{Name: "x"}},
		Finalizers:      []string{"f"},
	}}
	out, err := slimSecretMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(*metav1.PartialObjectMetadata)
	if m.Name != "htpasswd" || m.Namespace != "istio-system" || m.UID != "u1" || m.ResourceVersion != "7" ||
		m.Labels["app.kubernetes.io/managed-by"] != "someone" {
		t.Errorf("lost what the watch reads: %+v", m.ObjectMeta)
	}
	if m.Annotations != nil || m.OwnerReferences != nil || m.Finalizers != nil {
		t.Errorf("kept more than the watch reads: %+v", m.ObjectMeta)
	}
	// Anything else passes through untouched.
	d := &appsv1.Deployment{}
	if out, _ := slimSecretMetadata(d); out != d {
		t.Error("a non-metadata object was changed")
	}
}

func TestSlimSecretMetadataKeepsTheControllerOfTheOperatorsSecrets(t *testing.T) {
	now := metav1.Now()
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "kiali-htpasswd-0123456789", Namespace: "istio-system",
		Labels:            map[string]string{render.LabelManagedBy: render.ManagedByValue},
		OwnerReferences:   []metav1.OwnerReference{{Name: "kiali", UID: "u1"}},
		DeletionTimestamp: &now,
		Annotations:       map[string]string{"a": "b"},
	}}
	out, err := slimSecretMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(*metav1.PartialObjectMetadata)
	if len(m.OwnerReferences) != 1 || m.DeletionTimestamp == nil {
		t.Errorf("lost what pruning reads: %+v", m.ObjectMeta)
	}
	if m.Annotations != nil {
		t.Errorf("kept the annotations: %+v", m.ObjectMeta)
	}
}

func TestOwnerMetadataKeepsWhatTheOwnerCheckReads(t *testing.T) {
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "kiali-oauth", Namespace: "istio-system", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"app": "kiali-oauth"},
		Annotations:     map[string]string{lastAppliedAnnotation: `{"big":"copy"}`},
		OwnerReferences: []metav1.OwnerReference{{Name: "x", UID: "u2"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := ownerMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(*metav1.PartialObjectMetadata)
	if m.Name != "kiali-oauth" || m.Namespace != "istio-system" || m.UID != "u1" || len(m.OwnerReferences) != 1 {
		t.Errorf("lost what the owner check reads: %+v", m.ObjectMeta)
	}
	if m.Labels != nil || m.Annotations != nil || m.ManagedFields != nil {
		t.Errorf("kept more than the owner check reads: %+v", m.ObjectMeta)
	}
}
