package faults

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

var _ = Describe("Deleting a KialiAuthProxy", func() {
	It("leaves the garbage collector every child to delete, and the user's Secrets untouched", func() {
		ns := newNamespace()
		password := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "admin-password", Namespace: ns},
			StringData: map[string]string{"password": "correct horse battery staple"},
		}
		Expect(k.Create(ctx, password)).To(Succeed())
		session := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "my-session", Namespace: ns},
			StringData: map[string]string{"cookie": "0123456789abcdef0123456789abcdef"},
		}
		Expect(k.Create(ctx, session)).To(Succeed())
		kap := reference(ns)
		kap.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Users: []meshv1alpha1.HtpasswdUser{{
			Name: "admin", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: password.Name, Key: "password"},
		}}}
		kap.Spec.Proxy.SessionSecret = &meshv1alpha1.SecretKeyReference{Name: session.Name, Key: "cookie"}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(converged(kap)).Should(Succeed())

		children := owned(Default, kap)
		// Every kind it makes, plus the htpasswd file built for the user.
		Expect(len(children)).To(BeNumerically(">=", 10))
		for _, o := range children {
			ref := metav1.GetControllerOf(o)
			Expect(ref).NotTo(BeNil())
			Expect(ref.BlockOwnerDeletion).To(HaveValue(BeTrue()), "%T %s: the owner's foreground deletion waits for it", o, o.GetName())
		}
		Expect(k.Get(ctx, client.ObjectKeyFromObject(password), password)).To(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(session), session)).To(Succeed())

		Expect(k.Delete(ctx, kap)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)) }).Should(BeTrue())
		Eventually(func(g Gomega) { g.Expect(owned(g, kap)).To(BeEmpty()) }, "90s").Should(Succeed())

		// The user's Secrets are exactly as they were.
		for _, s := range []*corev1.Secret{password, session} {
			cur := &corev1.Secret{}
			Expect(k.Get(ctx, client.ObjectKeyFromObject(s), cur)).To(Succeed())
			Expect(cur.ResourceVersion).To(Equal(s.ResourceVersion), "Secret %s was written", s.Name)
			Expect(cur.Data).To(Equal(s.Data))
			Expect(cur.OwnerReferences).To(BeEmpty())
		}
	})
})
