package testbed

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestGarbageCollector shows that StartGarbageCollector gives envtest a
// working garbage collector: without one, dependents outlive their owners
// and no test could tell that owner references are set right.
func TestGarbageCollector(t *testing.T) {
	// The operator's CRD alone, for a custom resource owner.
	env, err := NewEnvironment(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	var log SyncBuffer
	stop, err := StartGarbageCollectorWithLog(env, cfg, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			// The error holds the log.
			t.Error(err)
		} else if t.Failed() {
			t.Logf("kube-controller-manager:\n%s", log.String())
		}
	})
	k, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("background", func(t *testing.T) {
		ns := namespace(t, k, "gc-background")
		owner := configMap(t, k, ns, "owner")
		dependent := secretOwnedBy(t, k, ns, "dependent", owner)
		if err := k.Delete(t.Context(), owner, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, k, dependent)
	})

	t.Run("foreground", func(t *testing.T) {
		ns := namespace(t, k, "gc-foreground")
		owner := configMap(t, k, ns, "owner")
		dependent := secretOwnedBy(t, k, ns, "dependent", owner)
		if err := k.Delete(t.Context(), owner, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
		// The API server only marks the owner; the garbage collector deletes
		// the blocking dependent first and then releases the owner.
		waitGone(t, k, dependent)
		waitGone(t, k, owner)
	})

	t.Run("custom resource owner", func(t *testing.T) {
		// The operator's children are owned by a KialiAuthProxy, a kind the
		// garbage collector only knows through discovery of the CRD.
		ns := namespace(t, k, "gc-custom")
		raw, err := os.ReadFile(filepath.Join(Root(), "config", "samples", "mesh_v1alpha1_kialiauthproxy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		owner := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &owner.Object); err != nil {
			t.Fatal(err)
		}
		owner.SetNamespace(ns)
		if err := k.Create(t.Context(), owner); err != nil {
			t.Fatal(err)
		}
		dependent := secretOwnedBy(t, k, ns, "dependent", owner)
		if err := k.Delete(t.Context(), owner, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, k, dependent)
	})

	t.Run("surviving owner", func(t *testing.T) {
		// A dependent with another owner left is kept; only the reference to
		// the deleted owner goes.
		ns := namespace(t, k, "gc-survivor")
		deleted := configMap(t, k, ns, "deleted")
		kept := configMap(t, k, ns, "kept")
		dependent := secretOwnedBy(t, k, ns, "dependent", deleted, kept)
		if err := k.Delete(t.Context(), deleted, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			if err := k.Get(ctx, client.ObjectKeyFromObject(dependent), dependent); err != nil {
				return false, err
			}
			return len(dependent.OwnerReferences) == 1, nil
		})
		if err != nil {
			t.Fatalf("waiting for the reference to %s to be removed: %v", deleted.GetName(), err)
		}
		if got := dependent.OwnerReferences[0].UID; got != kept.GetUID() {
			t.Errorf("the remaining owner reference is to %s, want %s", got, kept.GetUID())
		}
	})
}

func namespace(t *testing.T, k client.Client, name string) string {
	t.Helper()
	if err := k.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

func configMap(t *testing.T, k client.Client, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if err := k.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

// secretOwnedBy creates a Secret with a blocking reference to each owner,
// as controllerutil.SetControllerReference and SetOwnerReference make them.
func secretOwnedBy(t *testing.T, k client.Client, ns, name string, owners ...client.Object) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, o := range owners {
		gvk, err := k.GroupVersionKindFor(o)
		if err != nil {
			t.Fatal(err)
		}
		s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{
			APIVersion:         gvk.GroupVersion().String(),
			Kind:               gvk.Kind,
			Name:               o.GetName(),
			UID:                o.GetUID(),
			BlockOwnerDeletion: ptr.To(true),
		})
	}
	if err := k.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitGone waits for the garbage collector to have deleted o.
func waitGone(t *testing.T, k client.Client, o client.Object) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		err := k.Get(ctx, client.ObjectKeyFromObject(o), o)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("waiting for %T %s to be deleted: %v", o, o.GetName(), err)
	}
}
