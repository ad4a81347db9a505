package controller

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
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
	switch w.Sender {
	case senderResource:
		live, err := getPrometheus(ctx, cl, w.Namespace, w.Name, w.Cluster)
		if err != nil {
			return w, nil, err
		}
		label, replicas := senderReplicas(live)
		e.ReplicaLabel = label
		f := replicaFinding(w, label, replicas)
		if err := syncCredentials(ctx, cl, w, creds); err != nil {
			return w, f, err
		}
		return w, f, wirePrometheus(ctx, cl, w, live, e)
	case senderUserWorkloadMonitoring:
		f := userWorkloadState(ctx, cl, w.Cluster)
		if err := syncCredentials(ctx, cl, w, creds); err != nil {
			return w, f, err
		}
		w, err := wireUWM(ctx, cl, w, e)
		return w, f, err
	default:
		cm := &corev1.ConfigMap{}
		if err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, cm); err != nil {
			return w, nil, fmt.Errorf("reading ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
		}
		if who, serviceMesh := renderedBy(cm); who != "" {
			return w, renderedFinding(w, who, serviceMesh), nil
		}
		if err := syncCredentials(ctx, cl, w, creds); err != nil {
			return w, nil, err
		}
		return w, nil, patchConfigMap(ctx, cl, w, cm, func(config string) (string, bool, error) {
			if config == "" {
				return "", false, fmt.Errorf("ConfigMap %s/%s has no Prometheus configuration under key %q", w.Namespace, w.Name, w.Key)
			}
			return remotewrite.MergePrometheusYAML(config, e)
		})
	}
}

// userWorkloadState reads whether user-workload monitoring is on, as far
// as the kubeconfig's user may see.
func userWorkloadState(ctx context.Context, cl client.Client, cluster string) *finding {
	cm := &corev1.ConfigMap{}
	err := cl.Get(ctx, types.NamespacedName{Namespace: clusterMonitoringNamespace, Name: clusterMonitoringConfigMap}, cm)
	if apierrors.IsNotFound(err) {
		return userWorkloadFinding(cluster, nil, false, nil)
	}
	return userWorkloadFinding(cluster, cm.Data, err == nil, err)
}

// unwire takes the entry and the credentials out again; whatever else is in
// that configuration stays as it is.
func unwire(ctx context.Context, cl client.Client, w wiring) error {
	var err error
	switch w.Sender {
	case senderResource:
		err = unwirePrometheus(ctx, cl, w)
	case senderUserWorkloadMonitoring:
		err = unwireUWM(ctx, cl, w)
	default:
		err = editConfigMap(ctx, cl, w, func(config string) (string, bool, error) {
			return remotewrite.RemovePrometheusYAML(config, w.Entry)
		})
	}
	if err != nil {
		return err
	}
	return syncCredentials(ctx, cl, w, nil)
}

// wirePrometheus merges the entry into live, the Prometheus as read.
func wirePrometheus(ctx context.Context, cl client.Client, w wiring, live *unstructured.Unstructured, e remotewrite.Entry) error {
	list, _, err := unstructured.NestedSlice(live.Object, "spec", "remoteWrite")
	if err != nil {
		return fmt.Errorf("Prometheus %s/%s on cluster %s: spec.remoteWrite is not a list: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	merged, changed, err := remotewrite.MergeList(list, e)
	if err != nil || !changed {
		return err
	}
	// Server-side apply of the whole list: it is atomic in the CRD, so the
	// list we send is the user's entries as read plus ours. The
	// resourceVersion makes it fail rather than drop an entry added since.
	patch := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"remoteWrite": merged}}}
	patch.SetGroupVersionKind(clusters.PrometheusGVK)
	patch.SetNamespace(w.Namespace)
	patch.SetName(w.Name)
	patch.SetResourceVersion(live.GetResourceVersion())
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(patch), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("adding the remote_write entry to Prometheus %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	return nil
}

func unwirePrometheus(ctx context.Context, cl client.Client, w wiring) error {
	live, err := getPrometheus(ctx, cl, w.Namespace, w.Name, w.Cluster)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		// Gone with our entry in it.
		return nil
	}
	if err != nil {
		return err
	}
	list, _, err := unstructured.NestedSlice(live.Object, "spec", "remoteWrite")
	if err != nil {
		return fmt.Errorf("Prometheus %s/%s on cluster %s: spec.remoteWrite is not a list: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	rest, changed := remotewrite.RemoveFromList(list, w.Entry)
	if !changed {
		return nil
	}
	// A JSON patch, not an apply: it removes our entry whoever owns the list
	// by now, and the test makes it fail on a concurrent change.
	ops := []map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()}}
	if len(rest) == 0 {
		ops = append(ops, map[string]any{"op": "remove", "path": "/spec/remoteWrite"})
	} else {
		ops = append(ops, map[string]any{"op": "replace", "path": "/spec/remoteWrite", "value": rest})
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if err := cl.Patch(ctx, live, client.RawPatch(types.JSONPatchType, raw), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("removing the remote_write entry from Prometheus %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	return nil
}

func getPrometheus(ctx context.Context, cl client.Client, namespace, name, cluster string) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(clusters.PrometheusGVK)
	err := cl.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, live)
	if err != nil {
		return nil, fmt.Errorf("reading Prometheus %s/%s on cluster %s: %w", namespace, name, cluster, err)
	}
	return live, nil
}

// wireUWM creates the user-workload monitoring ConfigMap when it is missing
// (turning user-workload monitoring on is the user's choice, configuring it
// is ours) and remembers that it did.
func wireUWM(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry) (wiring, error) {
	cm := &corev1.ConfigMap{}
	err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, cm)
	if apierrors.IsNotFound(err) {
		config, _, err := remotewrite.MergeUWM("", e)
		if err != nil {
			return w, err
		}
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: w.Name},
			Data:       map[string]string{w.Key: config},
		}
		if err := cl.Create(ctx, cm, client.FieldOwner(FieldOwner)); err != nil {
			return w, fmt.Errorf("creating ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
		}
		w.CreatedConfigMap = true
		return w, nil
	}
	if err != nil {
		return w, fmt.Errorf("reading ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	return w, patchConfigMap(ctx, cl, w, cm, func(config string) (string, bool, error) {
		return remotewrite.MergeUWM(config, e)
	})
}

func unwireUWM(ctx context.Context, cl client.Client, w wiring) error {
	cm := &corev1.ConfigMap{}
	err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	rest, changed, err := remotewrite.RemoveUWM(cm.Data[w.Key], w.Entry)
	if err != nil {
		return fmt.Errorf("ConfigMap %s/%s key %s on cluster %s: %w", w.Namespace, w.Name, w.Key, w.Cluster, err)
	}
	if w.CreatedConfigMap && rest == "" && len(cm.Data) <= 1 && len(cm.BinaryData) == 0 {
		// We made it and nothing else is in it: leave no empty ConfigMap.
		pre := client.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}
		if err := cl.Delete(ctx, cm, pre); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
		}
		return nil
	}
	if !changed {
		return nil
	}
	return patchConfigMap(ctx, cl, w, cm, func(string) (string, bool, error) { return rest, true, nil })
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
	if err := cl.Patch(ctx, cm, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(FieldOwner)); err != nil {
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
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(secret), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
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
