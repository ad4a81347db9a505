package integration

import (
	"context"
	"fmt"
	"sync/atomic"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// installKialiCRD installs the Kiali CRD fixture (again: installing is
// idempotent).
func installKialiCRD() {
	_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{testbed.KialiCRD()}})
	Expect(err).NotTo(HaveOccurred())
}

// reconcileCount is how many reconciles the KialiAuthProxy controller ran,
// from controller-runtime's metrics.
func reconcileCount() float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "kialiauthproxy" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// newNamespace creates a namespace of its own for one spec.
func newNamespace() string { return testbed.NewNamespace(ctx, k, "t-") }

// sample loads a KialiAuthProxy from config/samples into namespace ns.
func sample(file, ns string) *meshv1alpha1.KialiAuthProxy { return testbed.Sample(file, ns) }

func reference(ns string) *meshv1alpha1.KialiAuthProxy { return testbed.Reference(ns) }

// updateKAP: see testbed.UpdateKAP.
func updateKAP(kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	testbed.UpdateKAP(ctx, k, kap, mutate)
}

// createSecret creates a user's Secret.
func createSecret(ns, name string, data map[string]string) *corev1.Secret {
	return testbed.CreateSecret(ctx, k, ns, name, data)
}

func createHtpasswd(ns string) *corev1.Secret { return testbed.CreateHtpasswd(ctx, k, ns) }

func key(o client.Object) types.NamespacedName { return client.ObjectKeyFromObject(o) }

// condition: see testbed.Condition.
func condition(kap *meshv1alpha1.KialiAuthProxy, t string) func(Gomega) metav1.Condition {
	return testbed.Condition(ctx, k, kap, t)
}

// markDeploymentAvailable plays the Deployment controller, which envtest
// does not run: it reports the Deployment's current generation available.
func markDeploymentAvailable(ns, name string) {
	Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas = *d.Spec.Replicas
		d.Status.ReadyReplicas = *d.Spec.Replicas
		d.Status.AvailableReplicas = *d.Spec.Replicas
		d.Status.UpdatedReplicas = *d.Spec.Replicas
		d.Status.Conditions = []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.",
			LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
		}}
		g.Expect(k.Status().Update(ctx, d)).To(Succeed())
	}).Should(Succeed())
}

// writeCounter counts the write requests a client makes.
type writeCounter struct{ n atomic.Int64 }

func (w *writeCounter) count() int64 { return w.n.Load() }

// countingClient counts the write requests made through it.
type countingClient struct {
	client.Client
	w *writeCounter
}

func (c countingClient) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	c.w.n.Add(1)
	return c.Client.Create(ctx, o, opts...)
}

func (c countingClient) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	c.w.n.Add(1)
	return c.Client.Update(ctx, o, opts...)
}

func (c countingClient) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.w.n.Add(1)
	return c.Client.Patch(ctx, o, p, opts...)
}

func (c countingClient) Apply(ctx context.Context, o runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.w.n.Add(1)
	return c.Client.Apply(ctx, o, opts...)
}

func (c countingClient) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	c.w.n.Add(1)
	return c.Client.Delete(ctx, o, opts...)
}

func (c countingClient) DeleteAllOf(ctx context.Context, o client.Object, opts ...client.DeleteAllOfOption) error {
	c.w.n.Add(1)
	return c.Client.DeleteAllOf(ctx, o, opts...)
}

func (c countingClient) Status() client.SubResourceWriter { return c.SubResource("status") }

func (c countingClient) SubResource(sub string) client.SubResourceClient {
	return countingSubResource{SubResourceClient: c.Client.SubResource(sub), w: c.w}
}

type countingSubResource struct {
	client.SubResourceClient
	w *writeCounter
}

func (c countingSubResource) Create(ctx context.Context, o, sub client.Object, opts ...client.SubResourceCreateOption) error {
	c.w.n.Add(1)
	return c.SubResourceClient.Create(ctx, o, sub, opts...)
}

func (c countingSubResource) Update(ctx context.Context, o client.Object, opts ...client.SubResourceUpdateOption) error {
	c.w.n.Add(1)
	return c.SubResourceClient.Update(ctx, o, opts...)
}

func (c countingSubResource) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	c.w.n.Add(1)
	return c.SubResourceClient.Patch(ctx, o, p, opts...)
}

func (c countingSubResource) Apply(ctx context.Context, o runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	c.w.n.Add(1)
	return c.SubResourceClient.Apply(ctx, o, opts...)
}

// countingReconciler is the running manager's reconciler, reading the same
// cache, with every write it makes counted.
func countingReconciler() (*controller.Reconciler, *writeCounter) {
	live := reconciler.Load()
	w := &writeCounter{}
	c := countingClient{Client: live.Client, w: w}
	r := *live
	r.Client = c
	applier := *live.Applier
	applier.Client = c
	r.Applier = &applier
	return &r, w
}

func describe(o client.Object) string {
	return fmt.Sprintf("%T %s/%s", o, o.GetNamespace(), o.GetName())
}
