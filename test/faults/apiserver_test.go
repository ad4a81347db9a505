package faults

import (
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var _ = Describe("API server restart", func() {
	It("converges once the API server is back, with no duplicate or orphaned object", func() {
		var kaps []*meshv1alpha1.KialiAuthProxy
		for range 4 {
			kaps = append(kaps, createReference())
		}
		// Mid-reconcile: the operator has just been told about the new
		// objects and is applying their children. The API server dies
		// (SIGKILL: no graceful end of requests or watches) and comes back
		// on the same etcd data, certificates and port.
		apiserver := env.ControlPlane.APIServer
		pid, err := testbed.ChildProcess("kube-apiserver")
		Expect(err).NotTo(HaveOccurred())
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Expect(apiserver.Stop()).To(Succeed())
		time.Sleep(3 * time.Second) // the outage itself
		Expect(apiserver.Start()).To(Succeed())

		// Changes made right after the restart are picked up too.
		updateKAP(kaps[0], func(kap *meshv1alpha1.KialiAuthProxy) { kap.Spec.Proxy.Replicas = ptr(int32(2)) })

		for _, kap := range kaps {
			Eventually(converged(kap), 2*time.Minute).Should(Succeed())
		}
		Eventually(func(g Gomega) { g.Expect(*proxyDeployment(g, kaps[0]).Spec.Replicas).To(Equal(int32(2))) }).Should(Succeed())

		for _, kap := range kaps {
			Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
			objs := owned(Default, kap)
			seen := map[string]bool{}
			for _, o := range objs {
				id := o.GetObjectKind().GroupVersionKind().Kind + "/" + o.GetName()
				Expect(seen).NotTo(HaveKey(id), "duplicate %s", id)
				seen[id] = true
				owner := metav1.GetControllerOf(o)
				Expect(owner).NotTo(BeNil(), "%s has no controller: orphaned", id)
				Expect(owner.UID).To(Equal(kap.UID), "%s is controlled by another object", id)
			}
			n := render.NamesFor(kap)
			for _, want := range []string{"Deployment/" + n.Proxy, "Service/" + n.Proxy, "ServiceAccount/" + n.Proxy,
				"ConfigMap/" + n.CABundle, "Secret/" + n.SessionSecret, "Kiali/" + n.Kiali, "VirtualService/" + n.VirtualService,
				"AuthorizationPolicy/" + n.LockDown, "PeerAuthentication/" + n.LockDown, "NetworkPolicy/" + n.LockDown} {
				Expect(seen).To(HaveKey(want))
			}
		}
	})
})

func ptr[T any](v T) *T { return &v }
