package integration

import (
	"encoding/base64"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/bcrypt"
	istiosecurity "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// generatedHtpasswd returns the htpasswd Secret the proxy mounts.
func mountedHtpasswd(g Gomega, ns string) *corev1.Secret {
	d := &appsv1.Deployment{}
	g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "htpasswd" {
			s := &corev1.Secret{}
			g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.Secret.SecretName}, s)).To(Succeed())
			return s
		}
	}
	g.Expect("no htpasswd volume").To(BeEmpty())
	return nil
}

// securitySpecs run last in the KialiAuthProxy container (its specs are
// ordered): the secret-hygiene check reads what every spec before it made.
func securitySpecs() {
	Context("security", func() {

		It("builds htpasswd from users' password Secrets, with bcrypt, only when a password changes", func() {
			ns := newNamespace()
			alice := createSecret(ns, "alice-pw", map[string]string{"password": "alice-password-1"})
			createSecret(ns, "bob-pw", map[string]string{"pw": "bob-password-1"})
			kap := reference(ns)
			kap.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Users: []meshv1alpha1.HtpasswdUser{
				{Name: "alice", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "alice-pw"}},
				{Name: "bob", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "bob-pw", Key: "pw"}},
			}}
			Expect(k.Create(ctx, kap)).To(Succeed())

			var first *corev1.Secret
			Eventually(func(g Gomega) { first = mountedHtpasswd(g, ns) }).Should(Succeed())
			Expect(first.Name).To(HavePrefix("kiali-htpasswd-"))
			Expect(first.Immutable).To(HaveValue(BeTrue()))
			expectControlledBy(first, kap)
			lines := strings.Split(strings.TrimSpace(string(first.Data["auth"])), "\n")
			Expect(lines).To(HaveLen(2))
			for i, want := range [][2]string{{"alice", "alice-password-1"}, {"bob", "bob-password-1"}} {
				user, hash, _ := strings.Cut(lines[i], ":")
				Expect(user).To(Equal(want[0]))
				Expect(hash).To(HavePrefix("$2a$"), "oauth-proxy reads $2a$ and $2y$ bcrypt, not $2b$")
				Expect(bcrypt.CompareHashAndPassword([]byte(hash), []byte(want[1]))).To(Succeed())
			}
			Eventually(condition(kap, meshv1alpha1.ConditionHtpasswdBypassesSAR)).Should(HaveField("Status", metav1.ConditionTrue))
			Eventually(func(g Gomega) []eventsv1.Event {
				var events eventsv1.EventList
				g.Expect(k.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
				return events.Items
			}).Should(ContainElement(And(
				HaveField("Type", corev1.EventTypeWarning),
				HaveField("Reason", meshv1alpha1.ReasonHtpasswdConfigured),
			)))

			// A reconcile without a password change keeps the file.
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) { kap.Spec.Proxy.Replicas = ptr.To[int32](2) })
			Eventually(func(g Gomega) {
				d := &appsv1.Deployment{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
				g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
			}).Should(Succeed())
			Expect(mountedHtpasswd(Default, ns).Name).To(Equal(first.Name))

			// A changed password builds a new file and drops the old one.
			alice.Data = map[string][]byte{"password": []byte("alice-password-2")}
			Expect(k.Update(ctx, alice)).To(Succeed())
			var second *corev1.Secret
			Eventually(func(g Gomega) {
				second = mountedHtpasswd(g, ns)
				g.Expect(second.Name).NotTo(Equal(first.Name))
			}).Should(Succeed())
			user, hash, _ := strings.Cut(strings.Split(string(second.Data["auth"]), "\n")[0], ":")
			Expect(user).To(Equal("alice"))
			Expect(bcrypt.CompareHashAndPassword([]byte(hash), []byte("alice-password-2"))).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(k.Get(ctx, key(first), &corev1.Secret{}))
			}).Should(BeTrue())
		})

		It("reports a missing password Secret as Degraded", func() {
			ns := newNamespace()
			kap := reference(ns)
			kap.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Users: []meshv1alpha1.HtpasswdUser{
				{Name: "carol", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "carol-pw"}},
			}}
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
				HaveField("Message", ContainSubstring(`Secret `+ns+`/carol-pw holding the password of htpasswd user "carol"`)),
			))
		})

		It("removes the lock-down and says so when it is turned off", func() {
			ns := newNamespace()
			createHtpasswd(ns)
			kap := reference(ns)
			Expect(k.Create(ctx, kap)).To(Succeed())
			Expect(testbed.RunMeshPods(ctx, k, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(HaveField("Status", metav1.ConditionTrue))

			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.MeshSecurity = &meshv1alpha1.MeshSecuritySpec{LockDown: ptr.To(false)}
			})
			Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonLockDownDisabled),
				HaveField("Message", ContainSubstring("administers it without logging in")),
			))
			name := types.NamespacedName{Namespace: ns, Name: "kiali-lockdown"}
			Eventually(func() bool { return apierrors.IsNotFound(k.Get(ctx, name, &istiosecurity.AuthorizationPolicy{})) }).Should(BeTrue())
			Eventually(func() bool { return apierrors.IsNotFound(k.Get(ctx, name, &istiosecurity.PeerAuthentication{})) }).Should(BeTrue())
			Eventually(func() bool { return apierrors.IsNotFound(k.Get(ctx, name, &networkingv1.NetworkPolicy{})) }).Should(BeTrue())
		})

		It("renders lock-down objects the real Istio and Kubernetes schemas accept strictly", func() {
			ns := newNamespace()
			kap := reference(ns)
			kap.UID = "00000000-0000-0000-0000-000000000000"
			for _, obj := range render.Objects(kap, render.Inputs{SessionSecret: render.SecretKey{Name: "s", Key: "k"}}) {
				if obj.GetLabels()[render.LabelComponent] != render.ComponentLockDown {
					continue
				}
				// Strict field validation fails on any field the schema does not
				// know, instead of dropping it.
				Expect(k.Create(ctx, obj, client.FieldValidation("Strict"))).To(Succeed(), describe(obj))
			}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-lockdown"}, &istiosecurity.AuthorizationPolicy{})).To(Succeed())
		})

		It("never writes a secret's value to its log, events or status", func() {
			// Every secret value this suite put in the cluster.
			var secrets corev1.SecretList
			Expect(k.List(ctx, &secrets)).To(Succeed())
			var values []string
			for _, s := range secrets.Items {
				for _, v := range s.Data {
					if len(v) >= 8 {
						values = append(values, string(v))
					}
				}
			}
			Expect(len(values)).To(BeNumerically(">", 5))

			var events eventsv1.EventList
			Expect(k.List(ctx, &events)).To(Succeed())
			var kaps meshv1alpha1.KialiAuthProxyList
			Expect(k.List(ctx, &kaps)).To(Succeed())
			var status strings.Builder
			for _, kap := range kaps.Items {
				for _, c := range kap.Status.Conditions {
					status.WriteString(c.Message + "\n")
				}
			}
			log := operatorLog.String()
			Expect(log).NotTo(BeEmpty())
			for _, v := range values {
				for _, line := range strings.Split(strings.TrimSpace(v), "\n") {
					// Each line of an htpasswd file, each password, each cookie secret.
					if len(line) < 8 {
						continue
					}
					// As written, and base64-encoded as a logged Secret object would
					// show it.
					for _, form := range []string{line, base64.StdEncoding.EncodeToString([]byte(line)), base64.StdEncoding.EncodeToString([]byte(v))} {
						Expect(log).NotTo(ContainSubstring(form), "a secret value is in the operator's log")
						Expect(status.String()).NotTo(ContainSubstring(form), "a secret value is in a status")
						for _, e := range events.Items {
							Expect(e.Note).NotTo(ContainSubstring(form), "a secret value is in event %s", e.Name)
						}
					}
				}
			}
		})
	})
}
