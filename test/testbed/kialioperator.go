package testbed

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the Kiali operator, OpenShift's service CA operator and a Kiali user
// write next to a Kiali CR on OpenShift, for the tests that need it present
// the way it is in a cluster: under their own field managers, with the
// Kiali operator's labels and owner reference. Every fact here is read from
// kiali/kiali-operator; the files are named where they are used.

// Field managers of the writers the operator shares a namespace with.
const (
	// KialiOperatorManager stands for the Kiali operator, an Ansible
	// operator: its k8s module creates and merge-patches (roles/*/kiali-deploy/
	// tasks/process-resource.yml, state: present), which the API server
	// records as Update operations.
	KialiOperatorManager = "kiali-operator"
	// ServiceCAManager is OpenShift's service CA operator, which writes the
	// service CA into every ConfigMap annotated to ask for it.
	ServiceCAManager = "service-ca-operator"
	// UserManager is a user adding their own CAs by hand.
	UserManager = "kubectl-edit"
)

// Keys of a CA bundle ConfigMap.
const (
	// ServiceCAKey is the key the service CA operator writes.
	ServiceCAKey = "service-ca.crt"
	// UserCAKey is a key of extra CAs a user adds for Kiali, as the Kiali
	// operator's own test does (molecule/external-auth-rotation-test/
	// converge.yml, v2.22.0).
	UserCAKey = "additional-ca-bundle.pem"
	// InjectCABundleAnnotation asks the service CA operator for the CA.
	InjectCABundleAnnotation = "service.beta.openshift.io/inject-cabundle"
)

// FakeServiceCA and FakeUserCA stand for the certificates.
const (
	FakeServiceCA = "-----BEGIN CERTIFICATE-----\nc2VydmljZSBDQQ==\n-----END CERTIFICATE-----\n"
	FakeUserCA    = "-----BEGIN CERTIFICATE-----\ndXNlcidzIENB\n-----END CERTIFICATE-----\n"
)

// KialiLayout is where one Kiali operator role keeps the CA bundle of a
// Kiali instance on OpenShift.
type KialiLayout struct {
	Name string
	// Version is a Kiali version of the layout, for the version labels.
	Version string
	// OwnSuffix follows the instance name in the CA bundle ConfigMap the
	// Kiali operator makes (templates/openshift/cabundle.yaml).
	OwnSuffix string
	// UserSuffix follows the instance name in the ConfigMap of extra CAs
	// Kiali mounts when it exists, after its own, so that its keys win
	// (templates/openshift/deployment.yaml); "" when this Kiali mounts none.
	UserSuffix string
}

// KialiLayouts are the two layouts: the operator's own CA bundle moved to
// "-cabundle-openshift" in v2.21.0 (kiali-operator commit eb695f1a), which
// roles/default and roles/v2.22 carry; roles/v1.73 to roles/v2.17, which an
// operator still runs for a Kiali CR asking for those versions, keep
// "-cabundle".
var KialiLayouts = []KialiLayout{
	{Name: "Kiali operator roles v1.73 to v2.17", Version: "v1.73.0", OwnSuffix: "-cabundle"},
	{Name: "Kiali operator v2.21 and later (roles v2.22, default)", Version: "v2.22.0", OwnSuffix: "-cabundle-openshift", UserSuffix: "-cabundle"},
}

// OwnCABundle is the name of the Kiali operator's CA bundle for instance.
func (l KialiLayout) OwnCABundle(instance string) string { return instance + l.OwnSuffix }

// UserCABundle is the name of the user's extra CAs for instance, or "".
func (l KialiLayout) UserCABundle(instance string) string {
	if l.UserSuffix == "" {
		return ""
	}
	return instance + l.UserSuffix
}

// KialiOperatorLabels are the labels the Kiali operator puts on everything
// it makes (kiali_resource_metadata_labels in tasks/main.yml).
func (l KialiLayout) KialiOperatorLabels(instance string) map[string]string {
	return map[string]string{
		"app":                        "kiali",
		"version":                    l.Version,
		"app.kubernetes.io/name":     "kiali",
		"app.kubernetes.io/version":  l.Version,
		"app.kubernetes.io/instance": instance,
		"app.kubernetes.io/part-of":  "kiali",
	}
}

// WriteKialiCABundle writes the Kiali operator's CA bundle of the instance
// of kiali (a Kiali CR), as that operator does, and has the service CA
// operator fill it. Absent, it is created with the Kiali CR as an owner that
// is not the controller: the Ansible operator's proxy adds that reference to
// what it creates, and only then (ansible-operator-plugins,
// internal/ansible/proxy/inject_owner.go, controller/reconcile.go). Present,
// it is merge-patched with the operator's labels and annotation, which
// takes back a label another writer changed.
func WriteKialiCABundle(ctx context.Context, c client.Client, l KialiLayout, kiali client.Object, instance string) (*corev1.ConfigMap, error) {
	gvk := kiali.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		return nil, fmt.Errorf("the Kiali CR %s has no kind set", kiali.GetName())
	}
	key := types.NamespacedName{Namespace: kiali.GetNamespace(), Name: l.OwnCABundle(instance)}
	labels := l.KialiOperatorLabels(instance)
	annotations := map[string]string{InjectCABundleAnnotation: "true"}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: key.Namespace, Name: key.Name, Labels: labels, Annotations: annotations,
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: kiali.GetName(), UID: kiali.GetUID(),
		}},
	}}
	err := c.Create(ctx, cm, client.FieldOwner(KialiOperatorManager))
	if apierrors.IsAlreadyExists(err) {
		err = mergePatch(ctx, c, key, KialiOperatorManager, map[string]any{
			"metadata": map[string]any{"labels": labels, "annotations": annotations},
		})
	}
	if err != nil {
		return nil, fmt.Errorf("writing ConfigMap %s as the Kiali operator: %w", key, err)
	}
	if err := InjectServiceCA(ctx, c, key); err != nil {
		return nil, err
	}
	if err := c.Get(ctx, key, cm); err != nil {
		return nil, err
	}
	return cm, nil
}

// InjectServiceCA writes the service CA into a ConfigMap, as OpenShift's
// service CA operator does for one annotated with inject-cabundle.
func InjectServiceCA(ctx context.Context, c client.Client, key types.NamespacedName) error {
	if err := mergePatch(ctx, c, key, ServiceCAManager, map[string]any{"data": map[string]any{ServiceCAKey: FakeServiceCA}}); err != nil {
		return fmt.Errorf("injecting the service CA into ConfigMap %s: %w", key, err)
	}
	return nil
}

// AddUserCA adds a user's extra CA to a ConfigMap, as editing it by hand
// does, creating it when absent.
func AddUserCA(ctx context.Context, c client.Client, key types.NamespacedName) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Data:       map[string]string{UserCAKey: FakeUserCA},
	}
	err := c.Create(ctx, cm, client.FieldOwner(UserManager))
	if apierrors.IsAlreadyExists(err) {
		err = mergePatch(ctx, c, key, UserManager, map[string]any{"data": map[string]any{UserCAKey: FakeUserCA}})
	}
	if err != nil {
		return fmt.Errorf("adding the user's CA to ConfigMap %s: %w", key, err)
	}
	return nil
}

func mergePatch(ctx context.Context, c client.Client, key types.NamespacedName, manager string, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	return c.Patch(ctx, cm, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(manager))
}
