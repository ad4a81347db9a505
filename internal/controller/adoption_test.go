package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
)

// unseen is a cache that has not seen anything yet.
type unseen struct{ client.Client }

func (unseen) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: obj.GetObjectKind().GroupVersionKind().Kind}, key.Name)
}

func serviceAccount(name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "mesh", Name: name, UID: types.UID("uid-" + name)},
	}
}

// An object made an instant before the caches see it is found by the
// conditional apply: another owner's is never taken over, and what the
// reconcile created beside it is deleted again; this KialiAuthProxy's own is
// applied as any other.
func TestApplyAllNeverTakesOverAnObjectTheCachesHaveNotSeen(t *testing.T) {
	kap := &meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: "mesh", Name: "kiali", UID: "kap-uid"}}
	kap.SetGroupVersionKind(meshv1alpha1.GroupVersion.WithKind("KialiAuthProxy"))
	for _, tc := range []struct {
		name     string
		ours     bool
		lateFind bool
	}{
		{name: "another owner's", lateFind: true},
		{name: "this KialiAuthProxy's", ours: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scheme := NewScheme()
			existing := serviceAccount("kiali-oauth")
			if tc.ours {
				if err := controllerutil.SetControllerReference(kap, existing, scheme); err != nil {
					t.Fatal(err)
				}
			}
			api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(existing).Build()
			cache := unseen{api}
			r := &Reconciler{
				Client: cache, APIReader: api, Unmanaged: cache, Scheme: scheme,
				Applier: &apply.Applier{Client: cache, Scheme: scheme, FieldOwner: FieldOwner},
			}
			var objs []client.Object
			for _, name := range []string{"first", "kiali-oauth", "last"} {
				obj := serviceAccount(name)
				obj.UID = ""
				if err := controllerutil.SetControllerReference(kap, obj, scheme); err != nil {
					t.Fatal(err)
				}
				objs = append(objs, obj)
			}
			ctx := context.Background()
			foreign, absent, err := r.findForeign(ctx, kap, objs)
			if err != nil || len(foreign) != 0 || len(absent) != 3 {
				t.Fatalf("findForeign = %v, %v, %v; want every object absent", foreign, absent, err)
			}
			obs := &observation{applyErrors: map[string]error{}}
			lateFind, err := r.applyAll(ctx, kap, objs, absent, obs)
			if err != nil || lateFind != tc.lateFind || len(obs.applyErrors) != 0 {
				t.Fatalf("applyAll = %v, %v (apply errors %v); want lateFind %v", lateFind, err, obs.applyErrors, tc.lateFind)
			}
			got := &corev1.ServiceAccount{}
			if err := api.Get(ctx, client.ObjectKeyFromObject(existing), got); err != nil {
				t.Fatal(err)
			}
			if owned := metav1.IsControlledBy(got, kap); owned != tc.ours {
				t.Errorf("the existing ServiceAccount is controlled by the KialiAuthProxy: %v, want %v", owned, tc.ours)
			}
			if !tc.ours && got.Labels != nil {
				t.Errorf("the existing ServiceAccount was written to: %+v", got.ObjectMeta)
			}
			for _, name := range []string{"first", "last"} {
				err = api.Get(ctx, client.ObjectKey{Namespace: "mesh", Name: name}, &corev1.ServiceAccount{})
				if there := err == nil; there != tc.ours {
					t.Errorf("ServiceAccount %s is there: %v (%v), want %v", name, there, err, tc.ours)
				}
			}
		})
	}
}
