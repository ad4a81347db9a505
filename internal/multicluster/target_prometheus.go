package multicluster

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// prometheusResource is a Prometheus Operator resource: the entry goes into
// its spec.remoteWrite, the credentials into a Secret beside it.
type prometheusResource struct{}

func (prometheusResource) kind() string { return senderResource }

func (prometheusResource) placeOf(p *meshv1alpha1.SpokePrometheus) (place, bool) {
	if p.Resource == nil {
		return place{}, false
	}
	return place{namespace: p.Resource.Namespace, name: p.Resource.Name}, true
}

func (prometheusResource) describe(w wiring) string {
	return fmt.Sprintf("Prometheus %s/%s on cluster %s", w.Namespace, w.Name, w.Cluster)
}

// wire takes the replica label the resource sets, so that the entry keeps
// its replicas' series apart.
func (prometheusResource) wire(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry, creds map[string][]byte) (wiring, *finding, error) {
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
}

func (prometheusResource) preview(w wiring, e remotewrite.Entry) (string, string, error) {
	item, err := remotewrite.EntryMap(e)
	if err != nil {
		return "", "", err
	}
	text, err := yaml.Marshal(map[string]any{"spec": map[string]any{"remoteWrite": []any{item}}})
	return fmt.Sprintf("an item of spec.remoteWrite of Prometheus %s/%s (the user's items stay; the replica label is read from the resource, %s here)",
		w.Namespace, w.Name, remotewrite.DefaultReplicaLabel), string(text), err
}

func (prometheusResource) unwire(ctx context.Context, cl client.Client, w wiring) error {
	return unwirePrometheus(ctx, cl, w)
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
	if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(patch), client.FieldOwner(render.Operator), client.ForceOwnership); err != nil {
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
	if err := cl.Patch(ctx, live, client.RawPatch(types.JSONPatchType, raw), client.FieldOwner(render.Operator)); err != nil {
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
