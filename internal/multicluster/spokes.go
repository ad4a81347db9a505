package multicluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Writes on other clusters. Each one reads the object, merges the entry
// (internal/remotewrite), and writes only when the merge changed something,
// with the resourceVersion it read as a precondition: a concurrent edit by
// the user fails the write instead of being overwritten, and the next
// reconcile merges again.

// wire puts the entry, and the receiver credentials it needs, in place.
// The finding, when not nil, says why the entry will not take effect, or
// what else there is to know; nothing is written where it says notWired
// because of the place itself (a ConfigMap another controller renders).
func wire(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry, creds map[string][]byte) (wiring, *finding, error) {
	t, err := targetOf(w)
	if err != nil {
		return w, nil, err
	}
	return t.wire(ctx, cl, w, e, creds)
}

// unwire takes the entry and the credentials out again; whatever else is in
// that configuration stays as it is.
func unwire(ctx context.Context, cl client.Client, w wiring) error {
	t, err := targetOf(w)
	if err != nil {
		return err
	}
	if err := t.unwire(ctx, cl, w); err != nil {
		return err
	}
	return syncCredentials(ctx, cl, w, nil)
}

// editConfigMap edits one key of an existing ConfigMap.
func editConfigMap(ctx context.Context, cl client.Client, w wiring, edit func(string) (string, bool, error)) error {
	cm := &corev1.ConfigMap{}
	if err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, cm); err != nil {
		return fmt.Errorf("reading ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	return patchConfigMap(ctx, cl, w, cm, edit)
}

// patchConfigMap writes one key with a merge patch that carries the
// resourceVersion read, so it fails instead of losing a concurrent edit.
func patchConfigMap(ctx context.Context, cl client.Client, w wiring, cm *corev1.ConfigMap, edit func(string) (string, bool, error)) error {
	out, changed, err := edit(cm.Data[w.Key])
	if err != nil {
		return fmt.Errorf("ConfigMap %s/%s key %s on cluster %s: %w", w.Namespace, w.Name, w.Key, w.Cluster, err)
	}
	if !changed {
		return nil
	}
	patch := map[string]any{
		"metadata": map[string]any{"resourceVersion": cm.ResourceVersion},
		"data":     map[string]any{w.Key: out},
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if err := cl.Patch(ctx, cm, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(render.Operator)); err != nil {
		return fmt.Errorf("writing ConfigMap %s/%s key %s on cluster %s: %w", w.Namespace, w.Name, w.Key, w.Cluster, err)
	}
	return nil
}

// syncCredentials keeps the receiver credentials Secret next to the sender:
// written when creds has keys, deleted when not. A Secret of that name that
// the operator did not make is never touched.
func syncCredentials(ctx context.Context, cl client.Client, w wiring, creds map[string][]byte) error {
	live := &corev1.Secret{}
	err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Entry}, live)
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading Secret %s/%s on cluster %s: %w", w.Namespace, w.Entry, w.Cluster, err)
	}
	ours := found && live.Labels[render.LabelManagedBy] == render.ManagedByValue
	if found && !ours {
		if len(creds) == 0 {
			return nil
		}
		return fmt.Errorf("Secret %s/%s on cluster %s exists and was not made by the operator: delete or rename it so the receiver credentials can be written there", w.Namespace, w.Entry, w.Cluster)
	}
	if len(creds) == 0 {
		if !ours {
			return nil
		}
		pre := client.Preconditions{UID: &live.UID}
		if err := cl.Delete(ctx, live, pre); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Secret %s/%s on cluster %s: %w", w.Namespace, w.Entry, w.Cluster, err)
		}
		return nil
	}
	if ours && maps.EqualFunc(live.Data, creds, func(a, b []byte) bool { return string(a) == string(b) }) {
		return nil
	}
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": string(corev1.SecretTypeOpaque),
		"metadata": map[string]any{
			"namespace": w.Namespace, "name": w.Entry,
			"labels": map[string]any{render.LabelManagedBy: render.ManagedByValue},
		},
		"data": secretData(creds),
	}}
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(secret), client.FieldOwner(render.Operator), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing Secret %s/%s on cluster %s: %w", w.Namespace, w.Entry, w.Cluster, err)
	}
	return nil
}

func secretData(creds map[string][]byte) map[string]any {
	out := make(map[string]any, len(creds))
	for k, v := range creds {
		out[k] = base64.StdEncoding.EncodeToString(v)
	}
	return out
}
