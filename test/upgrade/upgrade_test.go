package upgrade

import (
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

const newImage = "registry.example.com/oauth-proxy:0.2.0"

var _ = Describe("Upgrading from the previous release", func() {
	It("changes its objects in place: the proxy rolls with maxUnavailable 0, nothing is deleted", func() {
		Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(k.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "htpasswd", Namespace: namespace},
			StringData: map[string]string{"auth": "admin:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K"},
		})).To(Succeed())
		kap := referenceKAP(GinkgoT())
		Expect(k.Create(ctx, kap)).To(Succeed())

		// The cluster as the previous release left it: its objects applied
		// by its field manager, owned by the KialiAuthProxy.
		leaveAsPrevious(kap)
		before := snapshot()

		deletions := watchDeletions()
		startOperator(newImage)

		// The new default image rolls the proxy: same Deployment, a new
		// generation, old pods kept until new ones are ready.
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "kiali-oauth"}, d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(newImage))
			g.Expect(d.UID).To(Equal(before["Deployment"].GetUID()))
			g.Expect(d.Generation).To(BeNumerically(">", before["Deployment"].GetGeneration()))
			expectRollingWithoutDowntime(g, d)
		}).Should(Succeed())
		Eventually(converged(kap)).Should(Succeed())
		expectKept(before)

		// A change of the proxy's arguments does the same.
		Eventually(func() error {
			if err := k.Get(ctx, client.ObjectKeyFromObject(kap), kap); err != nil {
				return err
			}
			kap.Spec.Proxy.ExtraArgs = []string{"-request-logging=true"}
			return k.Update(ctx, kap)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "kiali-oauth"}, d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("-request-logging=true"))
			g.Expect(d.UID).To(Equal(before["Deployment"].GetUID()))
			expectRollingWithoutDowntime(g, d)
		}).Should(Succeed())
		Eventually(converged(kap)).Should(Succeed())
		expectKept(before)

		Consistently(deletions.list).Should(BeEmpty(), "objects were deleted during the upgrade")
	})
})

// leaveAsPrevious writes the previous release's objects as its operator
// did: server-side applied under the operator's field manager (the applier
// is unchanged since), and the session secret created once.
func leaveAsPrevious(kap *meshv1alpha1.KialiAuthProxy) {
	applier := &apply.Applier{Client: k, Scheme: k.Scheme(), FieldOwner: controller.FieldOwner}
	for _, u := range previousObjects(GinkgoT()) {
		Expect(controllerutil.SetControllerReference(kap, u, k.Scheme())).To(Succeed())
		if u.GetKind() == "Secret" {
			Expect(k.Create(ctx, u, client.FieldOwner(controller.FieldOwner))).To(Succeed())
			continue
		}
		_, err := applier.Apply(ctx, u)
		Expect(err).NotTo(HaveOccurred())
	}
}

// snapshot reads the objects whose identity the upgrade must keep.
func snapshot() map[string]client.Object {
	out := map[string]client.Object{
		"Deployment": &appsv1.Deployment{}, "Service": &corev1.Service{}, "ServiceAccount": &corev1.ServiceAccount{},
		"Secret": &corev1.Secret{}, "Kiali": kialiObject(),
	}
	names := map[string]string{"Deployment": "kiali-oauth", "Service": "kiali-oauth", "ServiceAccount": "kiali-oauth", "Secret": "kiali-proxy", "Kiali": "kiali"}
	for kind, obj := range out {
		Expect(k.Get(ctx, client.ObjectKey{Namespace: namespace, Name: names[kind]}, obj)).To(Succeed(), kind)
	}
	return out
}

func kialiObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(render.KialiGVK)
	return u
}

// expectKept checks that each object is the one the previous release made,
// and that the session secret and the Service's IP are unchanged.
func expectKept(before map[string]client.Object) {
	now := snapshot()
	for kind, was := range before {
		Expect(now[kind].GetUID()).To(Equal(was.GetUID()), "%s was replaced", kind)
	}
	Expect(now["Secret"].(*corev1.Secret).Data).To(Equal(before["Secret"].(*corev1.Secret).Data))
	Expect(now["Secret"].GetResourceVersion()).To(Equal(before["Secret"].GetResourceVersion()), "the session secret was written")
	Expect(now["Service"].(*corev1.Service).Spec.ClusterIP).To(Equal(before["Service"].(*corev1.Service).Spec.ClusterIP))
}

func expectRollingWithoutDowntime(g Gomega, d *appsv1.Deployment) {
	g.Expect(d.Spec.Strategy.Type).To(Equal(appsv1.RollingUpdateDeploymentStrategyType))
	g.Expect(d.Spec.Strategy.RollingUpdate).NotTo(BeNil())
	g.Expect(d.Spec.Strategy.RollingUpdate.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(0))))
	g.Expect(d.Spec.Strategy.RollingUpdate.MaxSurge).To(HaveValue(Equal(intstr.FromInt32(1))))
}

func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return func(g Gomega) {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		for _, t := range []string{controller.ConditionKialiConfigured, controller.ConditionExposed, controller.ConditionMeshLocked} {
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, t)).To(BeTrue(), t)
		}
	}
}

// deletionLog records every deletion in the namespace, of every kind the
// operator makes there.
type deletionLog struct {
	mu      sync.Mutex
	deleted []string
}

func (l *deletionLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.deleted...)
}

func watchDeletions() *deletionLog {
	l := &deletionLog{}
	lists := []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ServiceAccountList{},
		&corev1.SecretList{}, &corev1.ConfigMapList{}}
	for _, gvk := range []string{"Kiali", "VirtualService", "AuthorizationPolicy", "PeerAuthentication"} {
		u := &unstructured.UnstructuredList{}
		switch gvk {
		case "Kiali":
			u.SetGroupVersionKind(render.KialiGVK.GroupVersion().WithKind("KialiList"))
		case "VirtualService":
			u.SetAPIVersion("networking.istio.io/v1")
			u.SetKind("VirtualServiceList")
		default:
			u.SetAPIVersion("security.istio.io/v1")
			u.SetKind(gvk + "List")
		}
		lists = append(lists, u)
	}
	for _, list := range lists {
		w, err := k.Watch(ctx, list, client.InNamespace(namespace))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type != watch.Deleted {
					continue
				}
				if o, ok := ev.Object.(client.Object); ok {
					l.mu.Lock()
					l.deleted = append(l.deleted, o.GetName())
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}
