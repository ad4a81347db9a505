package multicluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// userWorkloadMonitoring is OpenShift's user-workload monitoring, whose
// configuration is one ConfigMap at a fixed place.
type userWorkloadMonitoring struct{}

func (userWorkloadMonitoring) kind() string { return senderUserWorkloadMonitoring }

func (userWorkloadMonitoring) placeOf(p *meshv1alpha1.SpokePrometheus) (place, bool) {
	if p.UserWorkloadMonitoring == nil {
		return place{}, false
	}
	return place{namespace: uwmNamespace, name: uwmConfigMap, key: uwmKey}, true
}

func (userWorkloadMonitoring) describe(w wiring) string { return configMapPlace(w) }

// wire says whether user-workload monitoring is on: the entry is written
// either way, but sends nothing while it is off.
func (userWorkloadMonitoring) wire(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry, creds map[string][]byte) (wiring, *finding, error) {
	f := userWorkloadState(ctx, cl, w.Cluster)
	if err := syncCredentials(ctx, cl, w, creds); err != nil {
		return w, f, err
	}
	w, err := wireUWM(ctx, cl, w, e)
	return w, f, err
}

func (userWorkloadMonitoring) preview(w wiring, e remotewrite.Entry) (string, string, error) {
	text, _, err := remotewrite.MergeUWM("", e)
	return fmt.Sprintf("prometheus.remoteWrite in key %s of ConfigMap %s/%s (merged with what is there)", w.Key, w.Namespace, w.Name), text, err
}

func (userWorkloadMonitoring) unwire(ctx context.Context, cl client.Client, w wiring) error {
	return unwireUWM(ctx, cl, w)
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
		if err := cl.Create(ctx, cm, client.FieldOwner(render.Operator)); err != nil {
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
