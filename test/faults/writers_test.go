package faults

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

var _ = Describe("Other writers", func() {
	It("restores the fields it owns and keeps every field another manager or a user added", func() {
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())
		name := render.NamesFor(kap).Proxy

		// A GitOps tool applies its own idea of the Deployment, taking the
		// replica count and adding an annotation and a label.
		gitops := unstructuredObject("apps/v1/Deployment")
		gitops.SetNamespace(kap.Namespace)
		gitops.SetName(name)
		gitops.SetAnnotations(map[string]string{"gitops.example.com/sync-wave": "3"})
		gitops.SetLabels(map[string]string{"team": "mesh"})
		gitops.Object["spec"] = map[string]any{"replicas": int64(5)}
		Expect(k.Apply(ctx, client.ApplyConfigurationFromUnstructured(gitops), client.FieldOwner("gitops-tool"), client.ForceOwnership)).To(Succeed())
		// A user annotates it by hand.
		Expect(k.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kap.Namespace}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"note":"paged on-call"}}}`)),
			client.FieldOwner("kubectl-annotate"))).To(Succeed())

		Eventually(func(g Gomega) {
			d := proxyDeployment(g, kap)
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)), "the replica count the spec asks for is restored")
			g.Expect(d.Annotations).To(HaveKeyWithValue("gitops.example.com/sync-wave", "3"))
			g.Expect(d.Annotations).To(HaveKeyWithValue("note", "paged on-call"))
			g.Expect(d.Labels).To(HaveKeyWithValue("team", "mesh"))
		}).Should(Succeed())
		// And it stays that way: the operator does not fight the others.
		d := proxyDeployment(Default, kap)
		Consistently(func(g Gomega) string { return proxyDeployment(g, kap).ResourceVersion }).Should(Equal(d.ResourceVersion))
	})

	It("ends on the last of a burst of edits, with observedGeneration equal to it", func() {
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())

		// Edits as fast as the API server takes them, while the operator
		// reconciles and writes status (which conflicts with stale updates).
		const edits = 25
		for i := 1; i <= edits; i++ {
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Proxy.Replicas = ptr(int32(i%3 + 1))
				kap.Spec.Proxy.ExtraArgs = []string{fmt.Sprintf("-upstream-timeout=%ds", i)}
			})
		}
		last := kap.Generation
		Expect(last).To(BeNumerically(">=", int64(edits+1)))

		Eventually(converged(kap)).Should(Succeed())
		Eventually(func(g Gomega) {
			cur := &meshv1alpha1.KialiAuthProxy{}
			g.Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
			g.Expect(cur.Generation).To(Equal(last))
			g.Expect(cur.Status.ObservedGeneration).To(Equal(last))
			d := proxyDeployment(g, kap)
			g.Expect(*d.Spec.Replicas).To(Equal(int32(edits%3 + 1)))
			var edited []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "-upstream-timeout=") {
					edited = append(edited, a)
				}
			}
			g.Expect(edited).To(Equal([]string{fmt.Sprintf("-upstream-timeout=%ds", edits)}), "only the last edit's argument")
		}).Should(Succeed())
	})
})
