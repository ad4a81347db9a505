package guard

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

const accessPolicy = "kiali-auth-proxy-operator-spoke-access"

// remoteAccess is Kiali's access as the operator renders it for a
// KialiAuthProxy kiali/kiali whose Istio namespace is ns.
func remoteAccess(ns, version string, viewOnly bool) render.RemoteAccess {
	kap := &meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: "kiali", Name: "kiali"}}
	kap.Spec.Kiali.Version, kap.Spec.Kiali.IstioNamespace, kap.Spec.Kiali.ViewOnlyMode = version, ns, &viewOnly
	return render.RemoteAccessFor(render.PlanFor(kap, ""))
}

func unstructuredOf(obj client.Object) *unstructured.Unstructured {
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	return &unstructured.Unstructured{Object: raw}
}

// What the spoke writer makes for Kiali with kialiAccess: Managed
// (internal/multicluster/access.go): it holds cluster-admin here, so only
// the policy stands between it and granting anything.
var _ = Describe("the spoke writer's access for Kiali", func() {
	var ns string

	BeforeEach(func() {
		ns = freshNamespace("istio")
	})

	for _, c := range []struct {
		version  string
		viewOnly bool
	}{{"v1.73", false}, {"v2.29", false}, {"v2.29", true}, {"v2.4", true}} {
		It("makes, uses and removes Kiali's access as the operator renders it for "+c.version, func() {
			a := remoteAccess(ns, c.version, c.viewOnly)
			for _, obj := range a.Objects() {
				Expect(apply(spokeWriter, unstructuredOf(obj), true)).To(Succeed(), "%s %s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
			}
			anchor := render.TokenAnchor(render.PlanFor(&meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: "kiali", Name: "kiali"},
				Spec: meshv1alpha1.KialiAuthProxySpec{Kiali: meshv1alpha1.KialiSpec{IstioNamespace: ns}}}, ""), "0a1b2c3d")
			Expect(spokeWriter.Create(ctx, anchor)).To(Succeed())
			tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Secret", Name: anchor.Name, UID: anchor.UID},
			}}
			Expect(spokeWriter.SubResource("token").Create(ctx, a.ServiceAccount, tr)).To(Succeed())
			Expect(tr.Status.Token).NotTo(BeEmpty())
			objs := append([]client.Object{anchor}, a.Objects()...)
			for i := len(objs) - 1; i >= 0; i-- {
				Expect(spokeWriter.Delete(ctx, objs[i])).To(Succeed())
			}
		})
	}

	It("may not grant more than Kiali's permissions, or to anyone else", func() {
		a := remoteAccess(ns, "v2.29", true)
		for _, rules := range [][]rbacv1.PolicyRule{
			{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
			{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}},
			{{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"escalate"}}},
			{{APIGroups: []string{"networking.istio.io"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
			{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get"}}},
			{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}}},
		} {
			cr := a.ClusterRole.DeepCopy()
			cr.Rules = append(cr.Rules, rules...)
			Expect(apply(spokeWriter, unstructuredOf(cr), true)).To(beDeniedBy(accessPolicy,
				"the spoke writer may not create clusterroles.rbac.authorization.k8s.io "+cr.Name,
				"grants only what Kiali reads and writes"), "%v", rules)
		}
		crb := a.ClusterRoleBinding.DeepCopy()
		crb.RoleRef.Name = "cluster-admin"
		Expect(apply(spokeWriter, unstructuredOf(crb), true)).To(beDeniedBy(accessPolicy, "binds the role of its own name"))
		crb = a.ClusterRoleBinding.DeepCopy()
		crb.Subjects = append(crb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, Name: "mallory"})
		Expect(apply(spokeWriter, unstructuredOf(crb), true)).To(beDeniedBy(accessPolicy, "to the ServiceAccount of its own name"))

		other := a.ClusterRole.DeepCopy()
		other.Name = "kiali-viewer"
		Expect(apply(spokeWriter, unstructuredOf(other), true)).To(beDeniedBy(accessPolicy, "only objects named kialiauthproxy-*"))
		unlabelled := a.ServiceAccount.DeepCopy()
		unlabelled.Labels = nil
		Expect(apply(spokeWriter, unstructuredOf(unlabelled), true)).To(beDeniedBy(accessPolicy, "carry the label app.kubernetes.io/managed-by"))

		// No token for anyone else's ServiceAccount.
		istiod := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "istiod"}}
		Expect(k.Create(ctx, istiod)).To(Succeed())
		Expect(spokeWriter.SubResource("token").Create(ctx, istiod, &authenticationv1.TokenRequest{})).To(beDeniedBy(accessPolicy,
			"the spoke writer may not create serviceaccounts/token "+ns+"/istiod"))
	})
})
