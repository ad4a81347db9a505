package faults

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
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
		Expect(syscall.Kill(childPID("kube-apiserver"), syscall.SIGKILL)).To(Succeed())
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

// childPID finds the process of this test named name (envtest starts the
// control plane as children).
func childPID(name string) int {
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != name {
			continue
		}
		if ppid, _ := strconv.Atoi(strings.Fields(s[end+2:])[1]); ppid == os.Getpid() {
			return pid
		}
	}
	Fail("no child process named " + name)
	return 0
}
