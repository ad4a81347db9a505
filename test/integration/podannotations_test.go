package integration

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// refusedAnnotationMessage is the message the CRD refuses a protected pod
// annotation with, from meshv1alpha1.ProtectedPodAnnotations. Table entries
// call it while the suite is built, before any Expect may run.
func refusedAnnotationMessage(key string) string {
	a, ok := meshv1alpha1.RefusedPodAnnotation(key)
	if !ok {
		panic(key + " is not a protected pod annotation")
	}
	return a.Message()
}

// The API server, not only the offline validator, enforces the pod
// annotation rules generated from meshv1alpha1.ProtectedPodAnnotations.
var _ = Describe("spec.kiali.podAnnotations at admission", func() {
	create := func(annotations map[string]string) error {
		kap := reference("default")
		kap.Name = "pod-annotations"
		kap.Spec.Kiali.PodAnnotations = annotations
		return k.Create(ctx, kap, client.DryRunAll)
	}

	It("refuses every protected annotation with the message of its rule", func() {
		for _, a := range meshv1alpha1.ProtectedPodAnnotations {
			key := a.Key
			if strings.HasSuffix(key, "/") {
				key += "excludeInboundPorts"
			}
			err := create(map[string]string{key: "x", "example.com/team": "mesh"})
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", key, err)
			Expect(err.Error()).To(ContainSubstring(a.Message()), key)
		}
	})

	It("accepts annotations Istio does not read to make the sidecar", func() {
		Expect(create(map[string]string{"example.com/team": "mesh", "sidecar.istio.io/logLevel": "debug", "istio.io/rev": "canary"})).To(Succeed())
	})
})
