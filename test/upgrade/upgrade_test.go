package upgrade

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const (
	// newImage is the current operator's default proxy image here: no
	// release ships it, so it differs from the snapshot's whichever release
	// that is.
	newImage = "registry.example.com/oauth-proxy:upgrade-test"
	// newArg is a proxy argument the previous release did not pass.
	newArg = "-upstream-timeout=2m"
)

// The upgrade runs once for each layout of the Kiali operator's CA bundles
// (testbed.KialiLayouts), each in a cluster of its own: in both, the
// previous release's CA bundle is a ConfigMap the Kiali operator or the
// user writes to as well.
var _ = Describe("Upgrading from "+previous, func() {
	for _, layout := range testbed.KialiLayouts {
		Context("next to "+layout.Name, Ordered, func() { upgradeSpecs(layout) })
	}
})

func upgradeSpecs(layout testbed.KialiLayout) {
	var (
		kap       *meshv1alpha1.KialiAuthProxy
		objs      []*unstructured.Unstructured
		before    state
		proxy     *appsv1.Deployment
		deletions *deletionLog
		canary    *corev1.ConfigMap
		kiali     kialiState
	)

	BeforeAll(func() {
		startCluster()
		var err error
		objs, err = previousObjects()
		Expect(err).NotTo(HaveOccurred())
		kap, err = referenceKAP()
		Expect(err).NotTo(HaveOccurred())
		createUserObjects(kap)
		Expect(k.Create(ctx, kap)).To(Succeed())
		kiali = leaveWithKiali(layout, kap, objs)

		before = readState(objs)
		proxy = getProxy(Default, kap)
		Expect(proxy.Spec.Template.Spec.Containers[0].Image).NotTo(Equal(newImage), "the upgrade must bring a new default image")
		// Deleted once the upgrade is over, to show the watches saw it all.
		canary = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "upgrade-canary", Namespace: namespace}}
		Expect(k.Create(ctx, canary)).To(Succeed())

		deletions = watchDeletions(objs)
		startOperator(newImage)
	})

	It("rolls the proxy to the new default image in place, keeping every pod until its replacement is ready", func() {
		Eventually(func(g Gomega) {
			d := getProxy(g, kap)
			g.Expect(d.UID).To(Equal(proxy.UID), "the Deployment was deleted and created again")
			g.Expect(d.Generation).To(BeNumerically(">", proxy.Generation))
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(newImage))
			g.Expect(d.Spec.Selector).To(Equal(proxy.Spec.Selector))
			expectNoDowntimeStrategy(g, d)
		}).Should(Succeed())
	})

	It("converges on the KialiAuthProxy", func() {
		Eventually(converged(kap)).Should(Succeed())
	})

	It("keeps every other object, the Service's address and the session secret", func() {
		Expect(deletions.list()).To(BeEmpty(), "deleted during the upgrade")
		expectKept(before)
	})

	It("rolls the proxy in place when its arguments change", func() {
		rolled := getProxy(Default, kap)
		Eventually(func() error {
			if err := k.Get(ctx, client.ObjectKeyFromObject(kap), kap); err != nil {
				return err
			}
			kap.Spec.Proxy.ExtraArgs = append(kap.Spec.Proxy.ExtraArgs, newArg)
			return k.Update(ctx, kap)
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			d := getProxy(g, kap)
			g.Expect(d.UID).To(Equal(proxy.UID), "the Deployment was deleted and created again")
			g.Expect(d.Generation).To(BeNumerically(">", rolled.Generation))
			c := d.Spec.Template.Spec.Containers[0]
			g.Expect(c.Args).To(ContainElement(newArg))
			g.Expect(c.Args).To(HaveLen(len(rolled.Spec.Template.Spec.Containers[0].Args) + 1))
			g.Expect(c.Image).To(Equal(newImage))
			g.Expect(d.Spec.Strategy).To(Equal(rolled.Spec.Strategy))
			expectNoDowntimeStrategy(g, d)
		}).Should(Succeed())
		Eventually(converged(kap)).Should(Succeed())
		Expect(deletions.list()).To(BeEmpty(), "deleted during the upgrade")
		expectKept(before)
	})

	It("gives the proxy a CA bundle of its own and mounts it", func() {
		expectOwnCABundle(kap)
	})

	It("releases the previous CA bundle: kept with every other writer's fields, without this KialiAuthProxy's", func() {
		Eventually(func(g Gomega) { expectReleased(g, kap, kiali) }).Should(Succeed())
		expectReleasedEvent(kap)
	})

	It("writes no more to the released ConfigMap, never to the Kiali operator's, and labels no other ConfigMap", func() {
		released := &corev1.ConfigMap{}
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kiali.legacy), released)).To(Succeed())
		Consistently(func(g Gomega) { expectKialiUntouched(g, kap, kiali, released.ResourceVersion) }).Should(Succeed())
	})

	It("deleted nothing", func() {
		Consistently(deletions.list).Should(BeEmpty(), "deletions during the upgrade")
		Expect(k.Delete(ctx, canary)).To(Succeed())
		Eventually(deletions.list).Should(ConsistOf("ConfigMap " + namespace + "/" + canary.Name + " deleted"))
	})
}

// getProxy reads the proxy's Deployment.
func getProxy(g Gomega, kap *meshv1alpha1.KialiAuthProxy) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: kap.Namespace, Name: render.NamesFor(kap).Proxy}
	g.ExpectWithOffset(1, k.Get(ctx, key, d)).To(Succeed())
	return d
}

// expectNoDowntimeStrategy checks that a roll starts a new pod before it
// stops an old one.
func expectNoDowntimeStrategy(g Gomega, d *appsv1.Deployment) {
	g.ExpectWithOffset(1, d.Spec.Strategy.Type).To(Equal(appsv1.RollingUpdateDeploymentStrategyType))
	g.ExpectWithOffset(1, d.Spec.Strategy.RollingUpdate).NotTo(BeNil())
	g.ExpectWithOffset(1, d.Spec.Strategy.RollingUpdate.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(0))))
	g.ExpectWithOffset(1, d.Spec.Strategy.RollingUpdate.MaxSurge).To(HaveValue(Equal(intstr.FromInt32(1))))
}

// converged checks that the current operator reconciled the latest spec.
// ProxyAvailable is left out: envtest runs no pods.
func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return func(g Gomega) {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		for _, t := range []string{meshv1alpha1.ConditionKialiConfigured, meshv1alpha1.ConditionExposed} {
			c := meta.FindStatusCondition(cur.Status.Conditions, t)
			g.Expect(c).NotTo(BeNil(), "condition %s not set", t)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", t, c.Message)
			g.Expect(c.ObservedGeneration).To(Equal(cur.Generation), "%s is not for the latest generation", t)
		}
		// No kubelet runs Kiali's pods here: the lock-down can be applied, not
		// proven (test/integration runs pods for that).
		g.Expect(testbed.LockDownApplied(cur)).To(BeTrue(), "the lock-down is not applied")
	}
}
