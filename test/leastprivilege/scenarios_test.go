package leastprivilege

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The spoke's side of the multi-cluster sample.
const (
	spokeMonitoring = "monitoring"
	spokeUWM        = "openshift-user-workload-monitoring"
	spokePlain      = "istio-system"
	// entry is the remote_write entry of KialiAuthProxy lp-mesh/kiali.
	entry = "kialiauthproxy-lp-mesh-kiali"
)

var _ = Describe("The operator under its own identity", Ordered, func() {
	// The full set of scenarios runs in the install mode that grants the
	// least and spreads over the most namespaces: OLM's MultiNamespace.
	Context("installed by OLM v0 for five namespaces (MultiNamespace)", Ordered, func() {
		const (
			operatorNS = "lp-operators"
			kialiNS    = "lp-kiali"
			consoleNS  = "lp-console"
			meshNS     = "lp-mesh"
			hubMonNS   = "lp-monitoring"
			outsideNS  = "lp-outside"
		)
		var r *running
		BeforeAll(func() {
			for _, ns := range []string{outsideNS, "istio-system"} {
				ensureNamespace(hub, ns)
			}
			// istio-system is watched too: there the guard, not RBAC, refuses
			// what the operator must not write.
			r = install(fromBundle(olmV0, "MultiNamespace", operatorNS, []string{kialiNS, consoleNS, meshNS, hubMonNS, "istio-system"}))
		})
		AfterAll(func() { r.uninstall() })

		It("converges the reference sample, its lock-down proven from the pods it watches", func() {
			kap := reference(kialiNS)
			Expect(hub.Create(ctx, kap)).To(Succeed())
			Eventually(converged(kap)).Should(Succeed())
			Expect(testbed.RunMeshPods(ctx, hub, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(HaveField("Status", metav1.ConditionTrue))
		})

		It("converges the v2 sample", func() {
			createSecret(consoleNS, "console-session", map[string][]byte{
				meshv1alpha1.DefaultSessionSecretKey: []byte("0123456789abcdefghijklmnopqrstuv")})
			kap := sample("mesh_v1alpha1_kialiauthproxy_v2.yaml", consoleNS)
			Expect(hub.Create(ctx, kap)).To(Succeed())
			Eventually(converged(kap)).Should(Succeed())
		})

		It("wires the spoke's Prometheus servers and switches the hub's receiver on", func() {
			// The hub Prometheus, in another watched namespace whose owner
			// allows the KialiAuthProxy's.
			hp := object("monitoring.coreos.com/v1/Prometheus", hubMonNS, "hub")
			hp.Object["spec"] = map[string]any{"replicas": int64(1)}
			hp.SetAnnotations(map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: meshNS})
			Expect(hub.Create(ctx, hp)).To(Succeed())

			kap := multiCluster(meshNS, hubMonNS)
			Expect(hub.Create(ctx, kap)).To(Succeed())
			Eventually(func(g Gomega) {
				c := condition(kap, meshv1alpha1.ConditionMetricsWired)(g)
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			}).Should(Succeed())
			Eventually(converged(kap)).Should(Succeed())
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
			Expect(hp.Object["spec"]).To(HaveKeyWithValue("enableRemoteWriteReceiver", true))
			Expect(entryNames(remoteWrite())).To(Equal([]string{"user-archive", entry}))
			Expect(spokeConfigMap(spokeUWM, "user-workload-monitoring-config", "config.yaml")).To(ContainSubstring("name: " + entry))
			Expect(spokeConfigMap(spokePlain, "prometheus", "prometheus.yml")).To(ContainSubstring("name: " + entry))
		})

		It("says so when the hub's Prometheus is in a namespace it is not installed for", func() {
			hp := object("monitoring.coreos.com/v1/Prometheus", outsideNS, "elsewhere")
			hp.Object["spec"] = map[string]any{"replicas": int64(1)}
			hp.SetAnnotations(map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: kialiNS})
			Expect(hub.Create(ctx, hp)).To(Succeed())
			kap := reference(kialiNS)
			kap.Name = "receiver-outside"
			kap.Spec.Kiali.Name = "kiali-receiver-outside"
			kap.Spec.Exposure.VirtualService.Name = "receiver-outside"
			kap.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{
				URL:        "https://prometheus-hub.apps.hub.example.com/api/v1/write",
				Prometheus: &meshv1alpha1.ObjectReference{Namespace: outsideNS, Name: "elsewhere"},
			}}
			Expect(hub.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionMetricsWired)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonReceiverNotAllowed),
				HaveField("Message", And(ContainSubstring("installed for other namespaces than "+outsideNS),
					ContainSubstring("OperatorGroup's target namespaces"))),
			))
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
			Expect(hp.Object["spec"]).NotTo(HaveKey("enableRemoteWriteReceiver"))
		})

		It("adopts a hand-made Deployment and Service in place", func() {
			kap := reference(kialiNS)
			kap.Name = "adopted"
			kap.Spec.Kiali.Name = "kiali-adopted"
			kap.Spec.Exposure.VirtualService.Name = "adopted"
			kap.Spec.Adoption = meshv1alpha1.AdoptionAdopt
			names := render.NamesFor(kap)
			one := int32(1)
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: kialiNS, Name: names.Proxy},
				Spec: appsv1.DeploymentSpec{
					Replicas: &one,
					Selector: &metav1.LabelSelector{MatchLabels: render.ProxySelector(kap)},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: render.ProxySelector(kap)},
						Spec: corev1.PodSpec{Containers: []corev1.Container{
							{Name: "hand-made", Image: "registry.example.com/oauth-proxy:hand-made"}}},
					},
				},
			}
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: kialiNS, Name: names.Proxy},
				Spec: corev1.ServiceSpec{Selector: render.ProxySelector(kap),
					Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
			}
			for _, o := range []client.Object{d, svc} {
				Expect(hub.Create(ctx, o, client.FieldOwner("kubectl-client-side-apply"))).To(Succeed())
			}
			Expect(hub.Create(ctx, kap)).To(Succeed())
			Eventually(converged(kap)).Should(Succeed())
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
			for _, o := range []client.Object{d, svc} {
				cur := o.DeepCopyObject().(client.Object)
				Expect(hub.Get(ctx, client.ObjectKeyFromObject(o), cur)).To(Succeed())
				Expect(cur.GetUID()).To(Equal(o.GetUID()), "%T was replaced", o)
				Expect(metav1.GetControllerOf(cur)).To(HaveField("UID", kap.UID))
			}
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
			Expect(d.Spec.Template.Spec.Containers).To(ConsistOf(HaveField("Name", render.ProxyContainerName)))
		})

		It("prunes what it no longer renders", func() {
			kap := &meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: kialiNS, Name: "kiali"}}
			updateKAP(kap, func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Exposure.VirtualService = nil
				k.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
			})
			Eventually(converged(kap)).Should(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(hub.Get(ctx, client.ObjectKey{Namespace: kialiNS, Name: "kiali-mesh"},
					object("networking.istio.io/v1/VirtualService", kialiNS, "kiali-mesh")))
			}).Should(BeTrue(), "the VirtualService was not pruned")
			Expect(hub.Get(ctx, client.ObjectKey{Namespace: kialiNS, Name: render.NamesFor(kap).Route},
				object("route.openshift.io/v1/Route", kialiNS, ""))).To(Succeed())
		})

		It("is refused by RBAC what lies outside its namespaces, and by the guard what it must never write", func() {
			refusals(r, outsideNS)
		})

		It("refuses a KialiAuthProxy from a user who could not make its Kiali CR", func() {
			refusedRequester(kialiNS)
		})

		It("deletes: its entries leave the spoke, the receiver is switched off, and the collector takes the rest", func() {
			deleteAll(kialiNS, consoleNS, meshNS)
			hp := object("monitoring.coreos.com/v1/Prometheus", hubMonNS, "hub")
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
			Expect(hp.Object["spec"]).NotTo(HaveKey("enableRemoteWriteReceiver"))
			Expect(entryNames(remoteWrite())).To(Equal([]string{"user-archive"}))
			Expect(spokeConfigMap(spokeUWM, "user-workload-monitoring-config", "config.yaml")).NotTo(ContainSubstring(entry))
			Expect(spokeConfigMap(spokePlain, "prometheus", "prometheus.yml")).NotTo(ContainSubstring(entry))
			Eventually(func(g Gomega) {
				list := &appsv1.DeploymentList{}
				g.Expect(hub.List(ctx, list, client.InNamespace(kialiNS))).To(Succeed())
				g.Expect(list.Items).To(BeEmpty())
			}).Should(Succeed())
		})
	})

	// The other modes differ in what the operator is given: each converges
	// the reference sample where it is installed for, leaves alone what it
	// is not, is refused the same writes, and deletes.
	for _, mode := range []struct {
		label string
		make  func() installation
		// home is where a KialiAuthProxy is reconciled.
		home string
	}{
		{"config/default (AllNamespaces)", func() installation { return fromKustomize("default") }, "lp-anywhere"},
		{"config/namespaced (OwnNamespace)", func() installation { return fromKustomize("namespaced") }, "kiali-auth-proxy-operator-system"},
		{"OLM v0 in OwnNamespace", func() installation { return fromBundle(olmV0, "OwnNamespace", "lp-own", []string{"lp-own"}) }, "lp-own"},
		{"OLM v1 in OwnNamespace", func() installation { return fromBundle(olmV1, "OwnNamespace", "lp-own1", []string{"lp-own1"}) }, "lp-own1"},
		{"OLM v0 in SingleNamespace", func() installation {
			return fromBundle(olmV0, "SingleNamespace", "lp-single-op", []string{"lp-single"})
		}, "lp-single"},
		{"OLM v1 in SingleNamespace", func() installation {
			return fromBundle(olmV1, "SingleNamespace", "lp-single1-op", []string{"lp-single1"})
		}, "lp-single1"},
		{"OLM v0 in AllNamespaces", func() installation { return fromBundle(olmV0, "AllNamespaces", "lp-all-op", nil) }, "lp-everywhere"},
		{"OLM v1 in AllNamespaces", func() installation { return fromBundle(olmV1, "AllNamespaces", "lp-all1-op", nil) }, "lp-everywhere1"},
	} {
		Context("installed by "+mode.label, Ordered, func() {
			const outsideNS = "lp-unwatched"
			var r *running
			BeforeAll(func() {
				for _, ns := range []string{mode.home, outsideNS, "istio-system"} {
					ensureNamespace(hub, ns)
				}
				in := mode.make()
				By(describe(in))
				r = install(in)
			})
			AfterAll(func() {
				deleteAll(mode.home, outsideNS)
				r.uninstall()
			})

			It("converges the reference sample where it is installed for", func() {
				kap := reference(mode.home)
				Expect(hub.Create(ctx, kap)).To(Succeed())
				Eventually(converged(kap)).Should(Succeed())
			})

			It("leaves a KialiAuthProxy elsewhere alone, unless it watches every namespace", func() {
				kap := reference(outsideNS)
				Expect(hub.Create(ctx, kap)).To(Succeed())
				if r.in.watches(outsideNS) {
					Eventually(converged(kap)).Should(Succeed())
					return
				}
				Consistently(func(g Gomega) {
					g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
					g.Expect(kap.Status.Conditions).To(BeEmpty())
				}).Should(Succeed())
			})

			It("is refused what it must never do", func() {
				refusals(r, outsideNS)
			})
		})
	}
})

// refusals checks, with the operator's own identity, what RBAC and the
// guard refuse it; in the namespaces it is not installed for RBAC refuses
// first, elsewhere the guard.
func refusals(r *running, outsideNS string) {
	op := r.op
	refused := func(err error, ns string) {
		GinkgoHelper()
		if r.in.watches(ns) {
			Expect(guardDenied(err)).To(BeTrue(), "in %s the guard refuses: %v", ns, err)
		} else {
			Expect(rbacDenied(err)).To(BeTrue(), "in %s RBAC refuses: %v", ns, err)
		}
	}
	home := r.in.namespace
	if r.in.watch != nil {
		home = r.in.watch[0]
	}

	By("a service-account-token Secret, even with the operator's label")
	Eventually(func(g Gomega) { g.Expect(guardDenied(op.Create(ctx, tokenSecret(home)))).To(BeTrue()) }).Should(Succeed())

	By("a write to an unlabelled ConfigMap in istio-system: the mesh's configuration")
	mesh := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio"},
		Data: map[string]string{"mesh": "defaultConfig: {}\n"}}
	Expect(client.IgnoreAlreadyExists(hub.Create(ctx, mesh))).To(Succeed())
	patch := []byte(`{"data":{"mesh":"defaultConfig: {}\nextensionProviders: []\n"}}`)
	err := op.Patch(ctx, mesh, client.RawPatch("application/merge-patch+json", patch))
	refused(err, "istio-system")
	By("claiming that ConfigMap with its label")
	refused(op.Patch(ctx, mesh, client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"app.kubernetes.io/managed-by":"kiali-auth-proxy-operator"}}}`))), "istio-system")

	By("a Deployment in a namespace it is not installed for")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: outsideNS, Name: "anything",
			Labels: map[string]string{render.LabelManagedBy: render.ManagedByValue}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "anything"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "anything"}},
				Spec:       corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	err = op.Create(ctx, d, client.DryRunAll)
	if r.in.watches(outsideNS) {
		// Installed for every namespace, it may: what it makes carries its
		// label, which is all the guard asks.
		Expect(err).NotTo(HaveOccurred())
	} else {
		Expect(rbacDenied(err)).To(BeTrue(), "%v", err)
	}

	By("the deletion of a mesh-wide AuthorizationPolicy")
	ap := object("security.istio.io/v1/AuthorizationPolicy", "istio-system", "mesh-wide-deny")
	ap.Object["spec"] = map[string]any{"action": "DENY", "rules": []any{map[string]any{}}}
	Expect(client.IgnoreAlreadyExists(hub.Create(ctx, ap))).To(Succeed())
	refused(op.Delete(ctx, ap), "istio-system")
	Expect(hub.Get(ctx, client.ObjectKeyFromObject(ap), ap)).To(Succeed())
}

// refusedRequester: a user who may create KialiAuthProxies and read the
// Secrets, but not create Kiali CRs, is refused at admission; given an
// OLM-style edit role for kialis, the same request passes.
func refusedRequester(ns string) {
	const user = "lp-requester"
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{meshv1alpha1.GroupVersion.Group}, Resources: []string{"kialiauthproxies"}, Verbs: []string{"create", "get", "list", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
	}
	Expect(hub.Create(ctx, role)).To(Succeed())
	Expect(hub.Create(ctx, binding)).To(Succeed())
	requester := as(hubCfg, user, ns)
	kap := reference(ns)
	kap.Name = "requested"
	kap.Spec.Kiali.Name = "kiali-requested"
	kap.Spec.Exposure.VirtualService.Name = "requested"
	Eventually(func(g Gomega) {
		err := requester.Create(ctx, kap.DeepCopy())
		g.Expect(guardDenied(err)).To(BeTrue(), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring("kialis"))
	}).Should(Succeed())

	kialis := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user + "-kialis"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"kiali.io"}, Resources: []string{"kialis"},
			Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}}},
	}
	kialisBinding := binding.DeepCopy()
	kialisBinding.Name, kialisBinding.RoleRef.Name, kialisBinding.ResourceVersion = kialis.Name, kialis.Name, ""
	Expect(hub.Create(ctx, kialis)).To(Succeed())
	Expect(hub.Create(ctx, kialisBinding)).To(Succeed())
	Eventually(func() error { return requester.Create(ctx, kap.DeepCopy()) }).Should(Succeed())
	Eventually(converged(kap)).Should(Succeed())
}

// prepareSpoke makes the spoke's Prometheus configurations as their users
// left them and a writer identity bound to only what wiring needs, and
// returns a kubeconfig of that writer.
func prepareSpoke() []byte {
	for _, ns := range []string{spokeMonitoring, spokeUWM, spokePlain, "openshift-monitoring"} {
		ensureNamespace(spoke, ns)
	}
	Expect(spoke.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-monitoring", Name: "cluster-monitoring-config"},
		Data:       map[string]string{"config.yaml": "enableUserWorkload: true\n"},
	})).To(Succeed())
	p := object("monitoring.coreos.com/v1/Prometheus", spokeMonitoring, "k8s")
	p.Object["spec"] = map[string]any{"replicas": int64(1), "remoteWrite": []any{
		map[string]any{"name": "user-archive", "url": "https://archive.example.com/api/v1/write"}}}
	Expect(spoke.Create(ctx, p)).To(Succeed())
	Expect(spoke.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: spokeUWM, Name: "user-workload-monitoring-config"},
		Data:       map[string]string{"config.yaml": "prometheus:\n  retention: 24h\n"},
	})).To(Succeed())
	Expect(spoke.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: spokePlain, Name: "prometheus"},
		Data:       map[string]string{"prometheus.yml": "global:\n  scrape_interval: 15s\n"},
	})).To(Succeed())

	// The writer has the name config/spoke-guard holds to the operator's
	// remote_write writes.
	const writerNS = "kiali-remote"
	writerName := "system:serviceaccount:" + writerNS + ":" + spokeWriter
	writer, err := spokeEnv.AddUser(envtest.User{Name: writerName, Groups: []string{"system:authenticated"}}, spokeCfg)
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "remote-write-wiring"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"monitoring.coreos.com"}, Resources: []string{"prometheuses"}, Verbs: []string{"get", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "create", "patch", "delete"}},
			// Kiali's access (kialiAccess: Managed), as the README lists it:
			// config/spoke-guard keeps escalate and bind to Kiali's own
			// permissions.
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "create", "patch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
			{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"},
				Verbs: []string{"get", "create", "patch", "delete", "escalate", "bind"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"list"}},
		},
	}
	Expect(spoke.Create(ctx, role)).To(Succeed())
	Expect(spoke.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "remote-write-wiring"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: writerName}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	})).To(Succeed())

	cfg := writer.Config()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["spoke"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["spoke"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["spoke"] = &clientcmdapi.Context{Cluster: "spoke", AuthInfo: "spoke"}
	kc.CurrentContext = "spoke"
	raw, err := clientcmd.Write(*kc)
	Expect(err).NotTo(HaveOccurred())
	return raw
}

// multiCluster is the multi-cluster sample in ns, its three clusters on the
// spoke and its receiver the hub Prometheus in receiverNS, with the
// Secrets it names.
func multiCluster(ns, receiverNS string) *meshv1alpha1.KialiAuthProxy {
	kubeconfig := prepareSpoke()
	kap := sample("mesh_v1alpha1_kialiauthproxy_multicluster.yaml", ns)
	for _, c := range kap.Spec.Clusters {
		createSecret(ns, c.Kubeconfig.Name, map[string][]byte{c.Kubeconfig.Key: kubeconfig})
		createSecret(ns, "kiali-remote-cluster-secret-"+c.Name, map[string][]byte{c.Name: kubeconfig})
	}
	createSecret(ns, kap.Spec.Metrics.Receiver.BearerToken.Name, map[string][]byte{meshv1alpha1.DefaultBearerTokenKey: []byte("s3cr3t")})
	kap.Spec.Metrics.Receiver.Prometheus = &meshv1alpha1.ObjectReference{Namespace: receiverNS, Name: "hub"}
	// Nothing here serves the hub's query API.
	off := false
	kap.Spec.Metrics.Verify = &meshv1alpha1.VerifySpec{Enabled: &off}
	return kap
}

// remoteWrite is spec.remoteWrite of the spoke's Prometheus resource.
func remoteWrite() []any {
	p := object("monitoring.coreos.com/v1/Prometheus", spokeMonitoring, "k8s")
	Expect(spoke.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
	list, _, _ := unstructured.NestedSlice(p.Object, "spec", "remoteWrite")
	return list
}

func entryNames(list []any) []string {
	var names []string
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			names = append(names, m["name"].(string))
		}
	}
	return names
}

func spokeConfigMap(ns, name, key string) string {
	cm := &corev1.ConfigMap{}
	Expect(spoke.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
	return cm.Data[key]
}
