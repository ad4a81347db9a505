package multicluster

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// Kiali's access to other clusters, made by the operator (kialiAccess:
// Managed) on the spoke, whose API server issues and checks the
// ServiceAccount tokens itself; and checked, for access the user made
// (Provided), against the hub's API server standing in for a second
// remote cluster.
const (
	accessNS = "kiali-access"
	// remoteKiali is Kiali's ServiceAccount and roles on the spoke.
	remoteKiali = "kialiauthproxy-" + accessNS + "-kiali"
	istioNS     = "istio-system"
)

func accessKAP() *meshv1alpha1.KialiAuthProxy {
	kap := &meshv1alpha1.KialiAuthProxy{}
	Expect(hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: "kiali"}, kap)).To(Succeed())
	return kap
}

// kialiClient is a client that uses the kubeconfig of a remote-cluster
// Secret, as Kiali does.
func kialiClient(secret *corev1.Secret, cluster string) client.Client {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data[cluster])
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// kialiStatus is a cluster's status of Kiali's access, empty until
// reported.
func kialiStatus(kap *meshv1alpha1.KialiAuthProxy, name string) meshv1alpha1.KialiClusterStatus {
	if k := clusterStatus(kap, name).Kiali; k != nil {
		return *k
	}
	return meshv1alpha1.KialiClusterStatus{}
}

func hubSecret(name string) *corev1.Secret {
	s := &corev1.Secret{}
	Expect(hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: name}, s)).To(Succeed())
	return s
}

// kialiCRClusters are the clusters the Kiali CR lists, as name=secret.
func kialiCRClusters() []string {
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(render.KialiGVK)
	if err := hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: "kiali"}, k); err != nil {
		return []string{err.Error()}
	}
	list, _, _ := unstructured.NestedSlice(k.Object, "spec", "kiali_feature_flags", "clustering", "clusters")
	out := []string{}
	for _, c := range list {
		m := c.(map[string]any)
		out = append(out, m["name"].(string)+"="+m["secret_name"].(string))
	}
	return out
}

func istiod(clusterID string) *appsv1.Deployment {
	labels := map[string]string{"app": "istiod"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "istiod", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "discovery", Image: "docker.io/istio/pilot:1.24.0",
					Env: []corev1.EnvVar{{Name: "CLUSTER_ID", Value: clusterID}},
				}}},
			},
		},
	}
}

var _ = Describe("Kiali's access to other clusters", Ordered, func() {
	var firstSecret *corev1.Secret

	It("makes Kiali's identity on the spoke with a short-lived token, in a Secret whose kubeconfig reads the spoke as Kiali would and is refused writes", func() {
		ensureNamespace(hub, accessNS)
		ensureNamespace(spoke, istioNS)
		Expect(spoke.Create(ctx, istiod("east"))).To(Succeed())
		// Something of the user's in the same namespace, which the
		// operator must never touch.
		Expect(spoke.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "users-own"}})).To(Succeed())
		Expect(hub.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: accessNS, Name: "east-admin"},
			Data:       map[string][]byte{"kubeconfig": kubeconfigFor("spoke", spokeCfg)},
		})).To(Succeed())
		viewOnly := true
		kap := &meshv1alpha1.KialiAuthProxy{
			ObjectMeta: metav1.ObjectMeta{Namespace: accessNS, Name: "kiali"},
			Spec: meshv1alpha1.KialiAuthProxySpec{
				Exposure: meshv1alpha1.ExposureSpec{
					Host:           "kiali.apps.hub.example.com",
					VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/mesh-gateway"}},
				},
				Kiali: meshv1alpha1.KialiSpec{ViewOnlyMode: &viewOnly},
				Clusters: []meshv1alpha1.ClusterSpec{{
					Name: "east", KialiAccess: meshv1alpha1.KialiAccessManaged,
					Kubeconfig:    &meshv1alpha1.SecretKeyReference{Name: "east-admin", Key: "kubeconfig"},
					TokenLifetime: &metav1.Duration{Duration: time.Hour},
				}},
			},
		}
		Expect(hub.Create(ctx, kap)).To(Succeed())

		var st meshv1alpha1.ClusterStatus
		Eventually(func(g Gomega) {
			kap := accessKAP()
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			st = clusterStatus(kap, "east")
			g.Expect(st.Kiali).NotTo(BeNil())
			g.Expect(st.Kiali.Listed).To(BeTrue(), st.Kiali.Message)
		}).Should(Succeed())
		k := st.Kiali
		Expect(k.Reachable).To(BeTrue())
		Expect(k.MissingPermissions).To(BeEmpty())
		Expect(k.IstioClusterID).To(Equal("east"))
		Expect(k.Secret).To(HavePrefix("kiali-remote-cluster-secret-east-"))
		// The lifetime asked for, renewed at four fifths of it.
		Expect(k.TokenExpiresAt.Time).To(BeTemporally("~", time.Now().Add(time.Hour), time.Minute))
		Expect(k.RenewAt.Time).To(BeTemporally("~", k.TokenExpiresAt.Add(-12*time.Minute), time.Second))
		Expect(kialiCRClusters()).To(Equal([]string{"east=" + k.Secret}))

		// Kiali's form of a remote-cluster Secret, immutable.
		firstSecret = hubSecret(k.Secret)
		Expect(firstSecret.Labels).To(HaveKeyWithValue("kiali.io/multiCluster", "true"))
		Expect(firstSecret.Annotations).To(HaveKeyWithValue("kiali.io/cluster", "east"))
		Expect(firstSecret.Immutable).To(HaveValue(BeTrue()))
		Expect(firstSecret.Data).To(HaveKey("east"))
		kc, err := clientcmd.Load(firstSecret.Data["east"])
		Expect(err).NotTo(HaveOccurred())
		Expect(kc.Clusters).To(HaveKey("east"))
		Expect(kc.Clusters["east"].Server).To(Equal(spokeCfg.Host))
		Expect(kc.Clusters["east"].CertificateAuthorityData).To(Equal(spokeCfg.CAData))
		Expect(kc.AuthInfos["east"].Token).NotTo(BeEmpty())

		// Kiali reads the spoke as Kiali does: its namespaces and pods.
		kiali := kialiClient(firstSecret, "east")
		Expect(kiali.List(ctx, &corev1.NamespaceList{})).To(Succeed())
		Expect(kiali.List(ctx, &corev1.PodList{})).To(Succeed())
		Expect(kiali.List(ctx, &appsv1.DeploymentList{}, client.InNamespace(istioNS))).To(Succeed())
		// View-only: it may not write.
		err = kiali.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "kiali-was-here"}})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		dep := istiod("east")
		err = kiali.Patch(ctx, dep, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`)))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)

		// What the operator made on the spoke: no Secret holds a token.
		cr := &rbacv1.ClusterRole{}
		Expect(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, cr)).To(Succeed())
		Expect(cr.Annotations[render.RoleSourceAnnotation]).To(ContainSubstring("role-viewer.yaml"))
		Expect(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, &rbacv1.ClusterRoleBinding{})).To(Succeed())
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: remoteKiali}, &corev1.ServiceAccount{})).To(Succeed())
		secrets := &corev1.SecretList{}
		Expect(spoke.List(ctx, secrets, client.InNamespace(istioNS))).To(Succeed())
		for _, s := range secrets.Items {
			Expect(s.Data).To(BeEmpty(), "Secret %s on the spoke holds data", s.Name)
			Expect(s.Type).NotTo(Equal(corev1.SecretTypeServiceAccountToken))
		}
	})

	It("renews the token on request: the new one works and the old one is refused at once", func() {
		old := kialiClient(firstSecret, "east")
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Annotations = map[string]string{meshv1alpha1.RotateRemoteAccessAnnotation: "1"}
		})
		var next string
		Eventually(func(g Gomega) {
			st := clusterStatus(accessKAP(), "east")
			g.Expect(st.Kiali).NotTo(BeNil())
			next = st.Kiali.Secret
			g.Expect(next).NotTo(Equal(firstSecret.Name))
			g.Expect(st.Kiali.Listed).To(BeTrue())
			g.Expect(kialiCRClusters()).To(Equal([]string{"east=" + next}))
		}).Should(Succeed())
		// The suite's operator revokes without a grace period.
		Eventually(func() bool {
			err := hub.Get(ctx, client.ObjectKeyFromObject(firstSecret), &corev1.Secret{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the replaced token's Secret is still there")
		Eventually(func() bool {
			return apierrors.IsUnauthorized(old.List(ctx, &corev1.NamespaceList{}))
		}).Should(BeTrue(), "the spoke still takes the replaced token")
		Expect(kialiClient(hubSecret(next), "east").List(ctx, &corev1.NamespaceList{})).To(Succeed())
	})

	It("says when a renewal fails, and how long Kiali keeps the cluster", func() {
		admin := &corev1.Secret{}
		Expect(hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: "east-admin"}, admin)).To(Succeed())
		good := admin.Data["kubeconfig"]
		// The kubeconfig now names an API server nobody listens on.
		broken := clientcmdapi.NewConfig()
		broken.Clusters["x"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: spokeCfg.CAData}
		broken.AuthInfos["x"] = &clientcmdapi.AuthInfo{Token: "nothing"}
		broken.Contexts["x"] = &clientcmdapi.Context{Cluster: "x", AuthInfo: "x"}
		broken.CurrentContext = "x"
		raw, err := clientcmd.Write(*broken)
		Expect(err).NotTo(HaveOccurred())
		admin.Data["kubeconfig"] = raw
		Expect(hub.Update(ctx, admin)).To(Succeed())
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Annotations[meshv1alpha1.RotateRemoteAccessAnnotation] = "2"
		})
		Eventually(func(g Gomega) {
			kap := accessKAP()
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonTokenRenewalFailed), c.Message)
			g.Expect(c.Message).To(MatchRegexp(`the current token expires at \S+, in (\d+m)?\d+s, when Kiali loses the cluster`))
		}).Should(Succeed())
		admin.Data["kubeconfig"] = good
		Expect(hub.Update(ctx, admin)).To(Succeed())
		Eventually(func(g Gomega) {
			c := condition(accessKAP(), meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("shows a permission removed by hand from access the user made", func() {
		// Kiali's identity on the hub, standing in for a second remote
		// cluster, made by hand with the rules the operator gave the spoke.
		ensureNamespace(hub, istioNS)
		spokeRole := &rbacv1.ClusterRole{}
		Expect(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, spokeRole)).To(Succeed())
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "kiali-by-hand"}}
		Expect(hub.Create(ctx, sa)).To(Succeed())
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "kiali-by-hand"}, Rules: spokeRole.Rules}
		Expect(hub.Create(ctx, role)).To(Succeed())
		Expect(hub.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kiali-by-hand"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kiali-by-hand"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: istioNS, Name: "kiali-by-hand"}},
		})).To(Succeed())
		// Kiali v1.73 also reads the Istio CA Secrets, through a Role.
		spokeCA := &rbacv1.Role{}
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: remoteKiali}, spokeCA)).To(Succeed())
		Expect(hub.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "kiali-by-hand"}, Rules: spokeCA.Rules})).To(Succeed())
		Expect(hub.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: istioNS, Name: "kiali-by-hand"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "kiali-by-hand"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: istioNS, Name: "kiali-by-hand"}},
		})).To(Succeed())
		tr := &authenticationv1.TokenRequest{}
		Expect(hub.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
		Expect(hub.Create(ctx, remoteClusterSecret(accessNS, "north", kubeconfigWithToken("north", hubCfg, tr.Status.Token)))).To(Succeed())
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = append(kap.Spec.Clusters, meshv1alpha1.ClusterSpec{Name: "north"})
		})
		Eventually(func(g Gomega) {
			kap := accessKAP()
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(kialiStatus(kap, "north").Reachable).To(BeTrue())
		}).Should(Succeed())

		// Someone takes pods out of the role.
		for i := range role.Rules {
			var kept []string
			for _, r := range role.Rules[i].Resources {
				if r != "pods" {
					kept = append(kept, r)
				}
			}
			role.Rules[i].Resources = kept
		}
		Expect(hub.Update(ctx, role)).To(Succeed())
		pokeAccessKAP()
		Eventually(func(g Gomega) {
			kap := accessKAP()
			k := kialiStatus(kap, "north")
			g.Expect(k.MissingPermissions).To(ConsistOf("get pods", "list pods", "watch pods"))
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonPermissionsMissing), c.Message)
			g.Expect(c.Message).To(ContainSubstring("north: Kiali's credentials for cluster north lack 3 permissions Kiali needs: get pods, list pods, watch pods"))
			g.Expect(c.Message).To(ContainSubstring("the other clusters are not affected"))
			g.Expect(kialiStatus(kap, "east").Reason).To(BeEmpty())
		}).Should(Succeed())
	})

	It("shows a cluster whose name in Istio is not the one Kiali uses, with the fix", func() {
		dep := &appsv1.Deployment{}
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: "istiod"}, dep)).To(Succeed())
		dep.Spec.Template.Spec.Containers[0].Env[0].Value = "east-1"
		Expect(spoke.Update(ctx, dep)).To(Succeed())
		pokeAccessKAP()
		Eventually(func(g Gomega) {
			k := kialiStatus(accessKAP(), "east")
			g.Expect(k.IstioClusterID).To(Equal("east-1"))
			g.Expect(k.Reason).To(Equal(meshv1alpha1.ReasonClusterNameMismatch))
			g.Expect(k.Message).To(ContainSubstring(`istiod istio-system/istiod on cluster east calls the cluster "east-1"`))
			g.Expect(k.Message).To(ContainSubstring(`rename the cluster to "east-1" in spec.clusters`))
			g.Expect(k.Message).To(ContainSubstring("values.global.multiCluster.clusterName: east"))
		}).Should(Succeed())
		dep.Spec.Template.Spec.Containers[0].Env[0].Value = "east"
		Expect(spoke.Update(ctx, dep)).To(Succeed())
	})

	It("keeps a cluster whose Secret does not exist out of the Kiali CR until it does", func() {
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = append(kap.Spec.Clusters, meshv1alpha1.ClusterSpec{Name: "south"})
		})
		Eventually(func(g Gomega) {
			k := kialiStatus(accessKAP(), "south")
			g.Expect(k.Listed).To(BeFalse())
			g.Expect(k.Reason).To(Equal(meshv1alpha1.ReasonKialiSecretMissing))
			g.Expect(k.Message).To(ContainSubstring("Secret kiali-access/kiali-remote-cluster-secret-south does not exist"))
		}).Should(Succeed())
		Consistently(func() []string {
			var names []string
			for _, c := range kialiCRClusters() {
				names = append(names, strings.SplitN(c, "=", 2)[0])
			}
			return names
		}).Should(ConsistOf("east", "north"))
		Expect(hub.Create(ctx, remoteClusterSecret(accessNS, "south", kubeconfigFor("south", spokeCfg)))).To(Succeed())
		pokeAccessKAP()
		Eventually(kialiCRClusters).Should(ContainElement("south=kiali-remote-cluster-secret-south"))
	})

	It("removes what it made on the spoke when the cluster leaves the spec, and nothing of the user's", func() {
		secret := clusterStatus(accessKAP(), "east").Kiali.Secret
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = kap.Spec.Clusters[1:]
		})
		Eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, &rbacv1.ClusterRoleBinding{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, &rbacv1.ClusterRole{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: remoteKiali}, &corev1.ServiceAccount{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: secret}, &corev1.Secret{}))).To(BeTrue())
			anchors := &corev1.SecretList{}
			g.Expect(spoke.List(ctx, anchors, client.InNamespace(istioNS), client.MatchingLabels{render.LabelComponent: render.ComponentRemoteAccess})).To(Succeed())
			g.Expect(anchors.Items).To(BeEmpty())
		}).Should(Succeed())
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: "users-own"}, &corev1.ServiceAccount{})).To(Succeed())
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: "istiod"}, &appsv1.Deployment{})).To(Succeed())
		// The user's Secrets at the hub stay.
		hubSecret("kiali-remote-cluster-secret-north")
		hubSecret("east-admin")
	})

	It("removes Kiali's access from the spoke when the KialiAuthProxy is deleted", func() {
		updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = append(kap.Spec.Clusters, meshv1alpha1.ClusterSpec{
				Name: "east", KialiAccess: meshv1alpha1.KialiAccessManaged,
				Kubeconfig: &meshv1alpha1.SecretKeyReference{Name: "east-admin", Key: "kubeconfig"},
			})
		})
		Eventually(func() error {
			return spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, &rbacv1.ClusterRoleBinding{})
		}).Should(Succeed())
		Expect(hub.Delete(ctx, accessKAP())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(hub.Get(ctx, types.NamespacedName{Namespace: accessNS, Name: "kiali"}, &meshv1alpha1.KialiAuthProxy{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(spoke.Get(ctx, types.NamespacedName{Name: remoteKiali}, &rbacv1.ClusterRoleBinding{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: remoteKiali}, &corev1.ServiceAccount{}))).To(BeTrue())
		}).Should(Succeed())
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: istioNS, Name: "users-own"}, &corev1.ServiceAccount{})).To(Succeed())
	})
})

// pokeAccessKAP changes the spec, for the operator to look again at once:
// other clusters are not watched.
func pokeAccessKAP() {
	GinkgoHelper()
	updateAccessKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
		n := int32(1)
		if kap.Spec.Proxy.Replicas != nil && *kap.Spec.Proxy.Replicas == 1 {
			n = 2
		}
		kap.Spec.Proxy.Replicas = &n
	})
}

func updateAccessKAP(mutate func(*meshv1alpha1.KialiAuthProxy)) {
	GinkgoHelper()
	testbed.UpdateKAP(ctx, hub, &meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: accessNS, Name: "kiali"}}, mutate)
}

// kubeconfigWithToken is a kubeconfig for cfg's API server that
// authenticates with token alone.
func kubeconfigWithToken(name string, cfg *rest.Config, token string) []byte {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	b, err := clientcmd.Write(*kc)
	Expect(err).NotTo(HaveOccurred())
	return b
}
