package ha

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

var _ = Describe("The status metrics", func() {
	It("are served by the leader and the standby on /metrics, and end with their KialiAuthProxy", func() {
		leader := startManager("status-a")
		Eventually(leader.leading).Should(BeTrue(), "see %s", leader.log)
		standby := startManager("status-b")
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())

		obj := fmt.Sprintf(`namespace=%q`, kap.Namespace)
		for _, m := range []*manager{leader, standby} {
			Eventually(func(g Gomega) {
				cur := &meshv1alpha1.KialiAuthProxy{}
				g.Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
				series, err := m.scrape()
				g.Expect(err).NotTo(HaveOccurred(), "see %s", m.log)
				g.Expect(cur.Status.Conditions).NotTo(BeEmpty())
				for _, c := range cur.Status.Conditions {
					typ := fmt.Sprintf(`type=%q`, c.Type)
					// One series per status value, 1 for the stored one.
					g.Expect(series.Count("kialiauthproxy_condition", obj, typ)).To(Equal(3), "%s: %s", m.name, c.Type)
					g.Expect(series.Sum("kialiauthproxy_condition", obj, typ, fmt.Sprintf(`status=%q`, c.Status))).To(Equal(1.0), "%s: %s", m.name, c.Type)
					spec, _ := meshv1alpha1.ConditionSpecOf(c.Type)
					good := 0.0
					if c.Status == spec.Good {
						good = 1
					}
					g.Expect(series.Count("kialiauthproxy_condition_good", obj, typ)).To(Equal(1), "%s: %s", m.name, c.Type)
					g.Expect(series.Sum("kialiauthproxy_condition_good", obj, typ)).To(Equal(good), "%s: %s", m.name, c.Type)
				}
				// Degraded is False in the converged reference: good news.
				g.Expect(series.Sum("kialiauthproxy_condition_good", obj, `type="Degraded"`)).To(Equal(1.0))
				g.Expect(series.Sum("kialiauthproxy_condition", obj, `type="Degraded"`, `status="False"`)).To(Equal(1.0))
			}).Should(Succeed())
		}

		Expect(k.Delete(ctx, kap)).To(Succeed())
		for _, m := range []*manager{leader, standby} {
			Eventually(func(g Gomega) int {
				series, err := m.scrape()
				g.Expect(err).NotTo(HaveOccurred(), "see %s", m.log)
				return series.Count("kialiauthproxy_condition", obj) + series.Count("kialiauthproxy_condition_good", obj)
			}).Should(BeZero(), "%s still serves the series of a deleted KialiAuthProxy", m.name)
		}
	})
})
