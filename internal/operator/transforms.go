package operator

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	ctrlpkg "github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// lastAppliedAnnotation is kubectl's copy of the whole object as last
// applied client-side: as large as the object, and never read here.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// slimObjects is the transform for every cached object: managed fields and
// kubectl's last-applied copy are most of a hand-edited object's metadata,
// and nothing in the operator reads them.
func slimObjects() toolscache.TransformFunc {
	stripManagedFields := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := stripManagedFields(in)
		if err != nil {
			return out, err
		}
		if obj, ok := out.(metav1.Object); ok {
			if ann := obj.GetAnnotations(); ann[lastAppliedAnnotation] != "" {
				delete(ann, lastAppliedAnnotation)
				obj.SetAnnotations(ann)
			}
		}
		return out, nil
	}
}

// ownerMetadata is the transform for the objects the operator did not make
// (metadata only): whether one is in the way needs its identity and its
// controller.
func ownerMetadata(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	m.ObjectMeta = metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		OwnerReferences:   m.OwnerReferences,
		DeletionTimestamp: m.DeletionTimestamp,
	}
	return m, nil
}

// slimSecretMetadata is the transform for the Secrets the operator watches
// (metadata only, cluster-wide, because a KialiAuthProxy may reference any
// of them): the watch needs a Secret's name and namespace to find the
// KialiAuthProxy objects that reference it, and its labels to tell the
// operator's own Secrets apart; of those, pruning the generated htpasswd
// files reads the controller and the deletion too. The rest is dropped;
// there are many Secrets, and their annotations can hold a copy of their
// data.
func slimSecretMetadata(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	slim := metav1.ObjectMeta{
		Name:            m.Name,
		Namespace:       m.Namespace,
		UID:             m.UID,
		ResourceVersion: m.ResourceVersion,
		Labels:          m.Labels,
	}
	if m.Labels[render.LabelManagedBy] == render.ManagedByValue {
		slim.OwnerReferences, slim.DeletionTimestamp = m.OwnerReferences, m.DeletionTimestamp
	}
	m.ObjectMeta = slim
	return m, nil
}

// slimPod is the transform for the cached Kiali and proxy pods: MeshLocked
// needs the labels, the annotations it reads
// (controller.MeshPodAnnotationsRead), the container names (an
// istio-proxy sidecar, or a native one among the init containers) and
// whether the pod runs. Nothing else of a pod is kept.
func slimPod(in any) (any, error) {
	pod, ok := in.(*corev1.Pod)
	if !ok {
		return in, nil
	}
	out := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			Labels:            pod.Labels,
			DeletionTimestamp: pod.DeletionTimestamp,
		},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}
	for _, key := range ctrlpkg.MeshPodAnnotationsRead {
		if v, ok := pod.Annotations[key]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[key] = v
		}
	}
	for _, c := range pod.Spec.Containers {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: c.Name})
	}
	for _, c := range pod.Spec.InitContainers {
		out.Spec.InitContainers = append(out.Spec.InitContainers, corev1.Container{Name: c.Name, RestartPolicy: c.RestartPolicy})
	}
	return out, nil
}
