package testbed

import (
	"context"

	"github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Converged checks, for Eventually, that kap's status, read through c,
// describes its current generation with the Kiali CR, the exposure and the
// lock-down applied and no problem. The proxy's availability needs pods,
// which envtest does not run, and so does the lock-down's proof
// (LockDownApplied).
func Converged(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy) func(gomega.Gomega) {
	return func(g gomega.Gomega) {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(gomega.Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(gomega.Equal(cur.Generation), "status is not for the latest generation")
		for _, t := range []string{meshv1alpha1.ConditionKialiConfigured, meshv1alpha1.ConditionExposed} {
			cond := meta.FindStatusCondition(cur.Status.Conditions, t)
			g.Expect(cond).NotTo(gomega.BeNil(), "condition %s not set", t)
			g.Expect(cond.Status).To(gomega.Equal(metav1.ConditionTrue), "%s: %s", t, cond.Message)
		}
		g.Expect(LockDownApplied(cur)).To(gomega.BeTrue(), "the lock-down is not applied")
		degraded := meta.FindStatusCondition(cur.Status.Conditions, meshv1alpha1.ConditionDegraded)
		g.Expect(degraded).NotTo(gomega.BeNil(), "condition %s not set", meshv1alpha1.ConditionDegraded)
		g.Expect(degraded.Status).To(gomega.Equal(metav1.ConditionFalse), "Degraded: %s", degraded.Message)
	}
}

// Condition reads, for Eventually, condition t of kap through c, once it
// describes the latest generation.
func Condition(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy, t string) func(gomega.Gomega) metav1.Condition {
	return func(g gomega.Gomega) metav1.Condition {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(gomega.Succeed())
		cond := meta.FindStatusCondition(cur.Status.Conditions, t)
		g.Expect(cond).NotTo(gomega.BeNil(), "condition %s not set yet", t)
		g.Expect(cond.ObservedGeneration).To(gomega.Equal(cur.Generation), "condition %s is not for the latest generation", t)
		return *cond
	}
}
