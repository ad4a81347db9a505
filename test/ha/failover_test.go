package ha

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var _ = Describe("Two managers", func() {
	It("reconcile with one leader, and the standby takes over when the leader dies", func() {
		a := startManager("a")
		Eventually(a.leading).Should(BeTrue(), "see %s", a.log)
		b := startManager("b")

		first, second := createReference(), createReference()
		Eventually(converged(first)).Should(Succeed())
		Eventually(converged(second)).Should(Succeed())

		// The standby does nothing: no reconcile, so no write racing the
		// leader's; and the converged objects stay as they are.
		Expect(b.leading(Default)).To(BeFalse())
		Expect(b.reconciles(Default)).To(BeZero())
		versions := childVersions(first)
		Consistently(func(g Gomega) {
			g.Expect(b.reconciles(g)).To(BeZero())
			g.Expect(childVersions(first)).To(Equal(versions))
		}).Should(Succeed())

		a.kill()
		Eventually(b.leading).Should(BeTrue(), "see %s", b.log)

		// The new leader converges what changed while it took over, and
		// what is new.
		Eventually(func() error {
			if err := k.Get(ctx, client.ObjectKeyFromObject(first), first); err != nil {
				return err
			}
			first.Spec.Proxy.Replicas = ptr(int32(2))
			return k.Update(ctx, first)
		}).Should(Succeed())
		third := createReference()
		Eventually(converged(first)).Should(Succeed())
		Eventually(converged(third)).Should(Succeed())
		Eventually(func(g Gomega) int32 {
			d := &appsv1.Deployment{}
			g.Expect(k.Get(ctx, client.ObjectKey{Namespace: first.Namespace, Name: render.NamesFor(first).Proxy}, d)).To(Succeed())
			return *d.Spec.Replicas
		}).Should(Equal(int32(2)))
		Expect(b.reconciles(Default)).To(BeNumerically(">", 0))

		// One of each object per KialiAuthProxy, each controlled by it.
		for _, kap := range []*meshv1alpha1.KialiAuthProxy{first, second, third} {
			Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
			list := &appsv1.DeploymentList{}
			Expect(k.List(ctx, list, client.InNamespace(kap.Namespace), client.MatchingLabels(render.OwnerLabels(kap)))).To(Succeed())
			Expect(list.Items).To(HaveLen(1))
			Expect(metav1.GetControllerOf(&list.Items[0]).UID).To(Equal(kap.UID))
		}

		// A restarted manager joins as the standby.
		c := startManager("c")
		Consistently(func(g Gomega) {
			g.Expect(c.leading(g)).To(BeFalse())
			g.Expect(c.reconciles(g)).To(BeZero())
		}).Should(Succeed())
	})

	It("is what the deployed manager does: leader election is on", func() {
		raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "manager", "manager.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var d *appsv1.Deployment
		for _, doc := range strings.Split(string(raw), "\n---") {
			obj := &appsv1.Deployment{}
			Expect(yaml.Unmarshal([]byte(doc), obj)).To(Succeed())
			if obj.Kind == "Deployment" {
				d = obj
			}
		}
		Expect(d).NotTo(BeNil(), "no Deployment in config/manager/manager.yaml")
		Expect(d.Spec.Template.Spec.Containers).NotTo(BeEmpty())
		Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--leader-elect"))
	})
})

func createReference() *meshv1alpha1.KialiAuthProxy {
	ns := testbed.NewNamespace(ctx, k, "ha-")
	testbed.CreateHtpasswd(ctx, k, ns)
	kap := testbed.Reference(ns)
	Expect(k.Create(ctx, kap)).To(Succeed())
	return kap
}

// converged: the status describes the current generation with the Kiali
// CR, the exposure and the lock-down applied.
func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return func(g Gomega) {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		for _, t := range []string{meshv1alpha1.ConditionKialiConfigured, meshv1alpha1.ConditionExposed} {
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, t)).To(BeTrue(), t)
		}
		g.Expect(testbed.LockDownApplied(cur)).To(BeTrue(), "the lock-down is not applied")
	}
}

// childVersions maps the proxy objects of kap to their resourceVersions.
func childVersions(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	out := map[string]string{}
	n := render.NamesFor(kap)
	for name, obj := range map[string]client.Object{
		"Deployment": &appsv1.Deployment{}, "Service": &corev1.Service{}, "ServiceAccount": &corev1.ServiceAccount{},
	} {
		Expect(k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: n.Proxy}, obj)).To(Succeed())
		out[name] = obj.GetResourceVersion()
	}
	return out
}

func ptr[T any](v T) *T { return &v }
