package integration

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	routev1 "github.com/openshift/api/route/v1"
	istionetworking "istio.io/client-go/pkg/apis/networking/v1"
	istiosecurity "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

func kialiCR(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(render.KialiGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func expectControlledBy(o client.Object, kap *meshv1alpha1.KialiAuthProxy) {
	ref := metav1.GetControllerOf(o)
	ExpectWithOffset(1, ref).NotTo(BeNil(), "%s has no controller reference", describe(o))
	ExpectWithOffset(1, ref.UID).To(Equal(kap.UID), "%s is controlled by something else", describe(o))
	ExpectWithOffset(1, ref.Kind).To(Equal("KialiAuthProxy"))
	ExpectWithOffset(1, *ref.BlockOwnerDeletion).To(BeTrue())
}

// Specs share one control plane and run in order: the first one needs the
// Kiali CRD to be absent, the rest need it installed.
var _ = Describe("KialiAuthProxy", Ordered, func() {

	Context("when the Kiali CRD is not installed", func() {
		It("reports KialiCRDMissing, configures the rest, and recovers once the CRD is installed", func() {
			ns := newNamespace()
			createHtpasswd(ns)
			kap := reference(ns)
			Expect(k.Create(ctx, kap)).To(Succeed())

			Eventually(condition(kap, meshv1alpha1.ConditionKialiConfigured)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonKialiCRDMissing),
				HaveField("Message", ContainSubstring("kialis.kiali.io")),
			))
			Eventually(condition(kap, meshv1alpha1.ConditionReady)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonKialiCRDMissing),
			))
			// Waiting for the CRD is not a hot loop: with nothing changing,
			// the controller does not reconcile again and again.
			before := reconcileCount()
			Expect(before).To(BeNumerically(">", 0), "no reconcile counted: the metric is not read")
			Consistently(reconcileCount, "3s", "500ms").Should(BeNumerically("<=", before+2))

			// Everything else is there already.
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, &appsv1.Deployment{})).To(Succeed())
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, &istionetworking.VirtualService{})).To(Succeed())

			installKialiCRD()

			Eventually(condition(kap, meshv1alpha1.ConditionKialiConfigured)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonKialiApplied),
			))
			Expect(k.Get(ctx, key(kap), kap)).To(Succeed())
			kiali := kialiCR(ns, "kiali")
			Expect(k.Get(ctx, key(kiali), kiali)).To(Succeed())
			expectControlledBy(kiali, kap)
		})
	})

	Context("with the reference setup", Ordered, func() {
		var (
			ns  string
			kap *meshv1alpha1.KialiAuthProxy
		)
		BeforeAll(func() {
			ns = newNamespace()
			createHtpasswd(ns)
			kap = reference(ns)
			// Labels and annotations of a GitOps tool, which must not spread
			// to the objects the operator makes.
			kap.Labels = map[string]string{"app.kubernetes.io/instance": "kiali", "argocd.argoproj.io/instance": "mesh"}
			kap.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "mesh:mesh.kialiauth.io/KialiAuthProxy:kiali/kiali"}
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(HaveField("Status", metav1.ConditionTrue))
			Expect(k.Get(ctx, key(kap), kap)).To(Succeed())
		})

		It("creates the oauth-proxy Deployment the reference setup describes", func() {
			d := &appsv1.Deployment{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
			Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))
			pod := d.Spec.Template
			Expect(pod.Annotations).To(HaveKeyWithValue("sidecar.istio.io/inject", "true"))
			Expect(pod.Annotations).To(HaveKeyWithValue(render.InputsChecksumAnnotation, HavePrefix("sha256:")))
			Expect(pod.Spec.ServiceAccountName).To(Equal("kiali-oauth"))
			Expect(pod.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
			Expect(pod.Spec.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))

			Expect(pod.Spec.Containers).To(HaveLen(1))
			c := pod.Spec.Containers[0]
			Expect(c.Image).To(Equal("registry.example.com/oauth-proxy:test"), "the operator's RELATED_IMAGE_OAUTH_PROXY default")
			Expect(c.Args).To(Equal([]string{
				"-provider=openshift",
				"-http-address=:3080",
				"-https-address=:3001",
				"-upstream=https://kiali." + ns + ".svc.cluster.local:20001",
				"-upstream-ca=/etc/proxy/upstream-ca/service-ca.crt",
				"-openshift-service-account=kiali-oauth",
				`-openshift-sar=[{"namespace":"istio-system","resource":"pods","verb":"get"}]`,
				"-openshift-ca=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
				"-email-domain=*",
				"-cookie-secret-file=/etc/proxy/session/session_secret",
				"-cookie-expire=8h0m0s",
				"-cookie-samesite=lax",
				"-cookie-secure=true",
				"-request-logging=true",
				"-htpasswd-file=/etc/proxy/htpasswd/htpasswd",
				"-display-htpasswd-form=false",
				"-tls-cert=/etc/tls/private/tls.crt",
				"-tls-key=/etc/tls/private/tls.key",
			}))
			for _, probe := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				Expect(probe.HTTPGet.Path).To(Equal("/oauth/healthz"))
				Expect(probe.HTTPGet.Port.String()).To(Equal("http"))
			}
			Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
			Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
			Expect(c.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
			Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))

			volumes := map[string]corev1.VolumeSource{}
			for _, v := range pod.Spec.Volumes {
				volumes[v.Name] = v.VolumeSource
			}
			Expect(volumes["session-secret"].Secret.SecretName).To(Equal("kiali-proxy"))
			Expect(volumes["session-secret"].Secret.Items).To(ConsistOf(corev1.KeyToPath{Key: "session_secret", Path: "session_secret"}))
			Expect(volumes["htpasswd"].Secret.SecretName).To(Equal("htpasswd"))
			Expect(volumes["htpasswd"].Secret.Items).To(ConsistOf(corev1.KeyToPath{Key: "auth", Path: "htpasswd"}))
			Expect(volumes["serving-cert"].Secret.SecretName).To(Equal("kiali-oauth-tls"))
			Expect(volumes["upstream-ca"].ConfigMap.Name).To(Equal(render.NamesFor(kap).CABundle))
			expectControlledBy(d, kap)
		})

		It("creates the Service, ServiceAccount and CA bundle ConfigMap", func() {
			svc := &corev1.Service{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, svc)).To(Succeed())
			Expect(svc.Annotations).To(HaveKeyWithValue("service.beta.openshift.io/serving-cert-secret-name", "kiali-oauth-tls"))
			Expect(svc.Spec.Ports).To(HaveLen(2))
			Expect(svc.Spec.Ports[0]).To(And(HaveField("Name", "http-kiali-oauth"), HaveField("Port", BeEquivalentTo(3080))))
			Expect(svc.Spec.Ports[1]).To(And(HaveField("Name", "https-kiali-oauth"), HaveField("Port", BeEquivalentTo(3001))))
			expectControlledBy(svc, kap)

			sa := &corev1.ServiceAccount{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, sa)).To(Succeed())
			Expect(sa.Annotations).To(HaveKeyWithValue("serviceaccounts.openshift.io/oauth-redirecturi.primary", "https://kiali.mesh.apps.north.example.com"))
			expectControlledBy(sa, kap)

			cm := &corev1.ConfigMap{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: render.NamesFor(kap).CABundle}, cm)).To(Succeed())
			Expect(cm.Annotations).To(HaveKeyWithValue("service.beta.openshift.io/inject-cabundle", "true"))
			expectControlledBy(cm, kap)
		})

		It("creates the Kiali CR with the anonymous strategy inside the mesh", func() {
			kiali := kialiCR(ns, "kiali")
			Expect(k.Get(ctx, key(kiali), kiali)).To(Succeed())
			spec := kiali.Object["spec"].(map[string]any)
			Expect(spec).To(HaveKeyWithValue("version", "default"))
			Expect(spec).To(HaveKeyWithValue("istio_namespace", "istio-system"))
			Expect(spec["auth"]).To(Equal(map[string]any{"strategy": "anonymous"}))
			deployment := spec["deployment"].(map[string]any)
			Expect(deployment["pod_annotations"]).To(Equal(map[string]any{
				"proxy.istio.io/config":   `{ "holdApplicationUntilProxyStarts": true }`,
				"sidecar.istio.io/inject": "true",
			}))
			Expect(deployment["pod_labels"]).To(Equal(map[string]any{"sidecar.istio.io/inject": "true", render.KialiPodLabel: "kiali", render.LabelInstance: "kiali"}))
			Expect(deployment).To(HaveKeyWithValue("view_only_mode", false))
			Expect(deployment).To(HaveKeyWithValue("namespace", ns))
			ext := spec["external_services"].(map[string]any)
			Expect(ext["grafana"]).To(Equal(map[string]any{
				"in_cluster_url": "https://grafana-http.istio-system.svc:3000",
				"url":            "https://grafana-istio-system.apps.north.example.com",
			}))
			Expect(ext["istio"]).To(Equal(map[string]any{
				"config_map_name":                        "istio-basic",
				"istio_sidecar_injector_config_map_name": "istio-sidecar-injector-basic",
				"istiod_deployment_name":                 "istiod-basic",
				"url_service_version":                    "http://istiod-basic.istio-system:15014/version",
			}))
			Expect(ext["prometheus"]).To(Equal(map[string]any{"url": "http://prometheus-http.istio-system.svc:9090"}))
			Expect(ext["tracing"]).To(Equal(map[string]any{"enabled": false}))
		})

		It("locks Kiali down so that only the proxy's identity reaches it", func() {
			selector := map[string]string{render.KialiPodLabel: "kiali"}
			ap := &istiosecurity.AuthorizationPolicy{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-lockdown"}, ap)).To(Succeed())
			Expect(ap.Spec.Selector.MatchLabels).To(Equal(selector))
			Expect(ap.Spec.Action.String()).To(Equal("ALLOW"))
			Expect(ap.Spec.Rules).To(HaveLen(1), "anything but the proxy's rule would let others in")
			Expect(ap.Spec.Rules[0].From).To(HaveLen(1))
			Expect(ap.Spec.Rules[0].From[0].Source.Principals).To(Equal([]string{"cluster.local/ns/" + ns + "/sa/kiali-oauth"}))
			Expect(ap.Spec.Rules[0].To[0].Operation.Ports).To(Equal([]string{"20001"}))
			expectControlledBy(ap, kap)

			pa := &istiosecurity.PeerAuthentication{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-lockdown"}, pa)).To(Succeed())
			Expect(pa.Spec.Selector.MatchLabels).To(Equal(selector))
			Expect(pa.Spec.Mtls.Mode.String()).To(Equal("STRICT"))
			Expect(pa.Spec.PortLevelMtls).To(BeEmpty())
			expectControlledBy(pa, kap)

			np := &networkingv1.NetworkPolicy{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-lockdown"}, np)).To(Succeed())
			Expect(np.Spec.PodSelector.MatchLabels).To(Equal(selector))
			Expect(np.Spec.Ingress[0].From[0].PodSelector.MatchLabels).To(Equal(render.ProxySelector(kap)))
			Expect(np.Spec.Ingress[0].Ports[0].Port.IntValue()).To(Equal(20001))
			Expect(np.Spec.Ingress).To(HaveLen(2))
			Expect(np.Spec.Ingress[1].Ports).To(HaveLen(1))
			Expect(np.Spec.Ingress[1].Ports[0].Port.IntValue()).To(Equal(15020), "only the sidecar agent is open to all")
			expectControlledBy(np, kap)

			// The proxy's pods carry what the NetworkPolicy admits.
			d := &appsv1.Deployment{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
			for key, v := range np.Spec.Ingress[0].From[0].PodSelector.MatchLabels {
				Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(key, v))
			}
			// Applied; proven once Kiali's pods run in the mesh.
			Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonKialiNotRunning),
			))
			Expect(testbed.RunMeshPods(ctx, k, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonLockedDown),
			))
			Expect(condition(kap, meshv1alpha1.ConditionHtpasswdBypassesSAR)(Default)).To(HaveField("Status", metav1.ConditionTrue))
		})

		It("creates the VirtualService on the mesh gateway", func() {
			vs := &istionetworking.VirtualService{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, vs)).To(Succeed())
			Expect(vs.Spec.Hosts).To(Equal([]string{"kiali.mesh.apps.north.example.com"}))
			Expect(vs.Spec.Gateways).To(Equal([]string{"istio-system/mesh-apps-gateway"}))
			Expect(vs.Spec.Http).To(HaveLen(1))
			dest := vs.Spec.Http[0].Route[0].Destination
			Expect(dest.Host).To(Equal("kiali-oauth." + ns + ".svc.cluster.local"))
			Expect(dest.Port.Number).To(BeEquivalentTo(3080))
			// No passthrough to the service CA's certificate, which no browser
			// accepts for the host.
			Expect(vs.Spec.Tls).To(BeEmpty())
			expectControlledBy(vs, kap)
		})

		It("never writes or clears the CA bundle the service CA operator injects", func() {
			cm := &corev1.ConfigMap{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: render.NamesFor(kap).CABundle}, cm)).To(Succeed())
			// What OpenShift's service CA operator does.
			cm.Data = map[string]string{render.CABundleKey: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}
			Expect(k.Update(ctx, cm, client.FieldOwner("service-ca-operator"))).To(Succeed())

			// A new generation makes the operator apply everything again.
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Kiali.ViewOnlyMode = ptr.To(true)
			})
			Eventually(func(g Gomega) any {
				kiali := kialiCR(ns, "kiali")
				g.Expect(k.Get(ctx, key(kiali), kiali)).To(Succeed())
				v, _, _ := unstructured.NestedBool(kiali.Object, "spec", "deployment", "view_only_mode")
				return v
			}).Should(BeTrue())
			Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(HaveField("Status", metav1.ConditionTrue))

			Expect(k.Get(ctx, key(cm), cm)).To(Succeed())
			Expect(cm.Data).To(HaveKey(render.CABundleKey))
			for _, mf := range cm.ManagedFields {
				if mf.Manager == controller.FieldOwner {
					Expect(string(mf.FieldsV1.Raw)).NotTo(ContainSubstring("f:data"))
				}
			}
		})

		It("generates the session secret once: 32 random alphanumeric characters, owned and immutable", func() {
			s := &corev1.Secret{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-proxy"}, s)).To(Succeed())
			Expect(s.Data).To(HaveLen(1))
			Expect(string(s.Data["session_secret"])).To(MatchRegexp(`^[A-Za-z0-9]{32}$`))
			Expect(s.Immutable).To(HaveValue(BeTrue()))
			expectControlledBy(s, kap)

			var events eventsv1.EventList
			Expect(k.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			Expect(events.Items).To(ContainElement(And(
				HaveField("Reason", "SessionSecretCreated"),
				HaveField("Regarding.Name", kap.Name),
				HaveField("Note", Not(ContainSubstring(string(s.Data["session_secret"])))),
			)))
		})

		It("never copies the KialiAuthProxy's labels or annotations to what it makes", func() {
			objs := []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ServiceAccount{}}
			for _, o := range objs {
				Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, o)).To(Succeed())
			}
			objs = append(objs, &corev1.ConfigMap{}, &corev1.Secret{}, &istionetworking.VirtualService{}, kialiCR(ns, "kiali"))
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: render.NamesFor(kap).CABundle}, objs[3])).To(Succeed())
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-proxy"}, objs[4])).To(Succeed())
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, objs[5])).To(Succeed())
			Expect(k.Get(ctx, key(objs[6]), objs[6])).To(Succeed())
			for _, o := range objs {
				Expect(o.GetLabels()).NotTo(HaveKey("argocd.argoproj.io/instance"), describe(o))
				// Argo CD's default tracking label: never on what we make.
				Expect(o.GetLabels()).NotTo(HaveKey("app.kubernetes.io/instance"), describe(o))
				Expect(o.GetAnnotations()).NotTo(HaveKey("argocd.argoproj.io/tracking-id"), describe(o))
				Expect(o.GetLabels()).To(HaveKeyWithValue(render.LabelManagedBy, render.ManagedByValue), describe(o))
			}
		})

		It("reports the status with observedGeneration, the URL and the proxy's availability", func() {
			Eventually(func(g Gomega) {
				g.Expect(k.Get(ctx, key(kap), kap)).To(Succeed())
				g.Expect(kap.Status.ObservedGeneration).To(Equal(kap.Generation))
			}).Should(Succeed())
			Expect(kap.Status.URL).To(Equal("https://kiali.mesh.apps.north.example.com"))
			Expect(condition(kap, meshv1alpha1.ConditionKialiConfigured)(Default)).To(HaveField("Status", metav1.ConditionTrue))
			Expect(condition(kap, meshv1alpha1.ConditionExposed)(Default)).To(HaveField("Reason", meshv1alpha1.ReasonVirtualServiceApplied))
			Expect(condition(kap, meshv1alpha1.ConditionDegraded)(Default)).To(HaveField("Status", metav1.ConditionFalse))
			Expect(condition(kap, meshv1alpha1.ConditionProxyAvailable)(Default)).To(HaveField("Status", metav1.ConditionFalse))
			Expect(condition(kap, meshv1alpha1.ConditionReady)(Default)).To(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Message", ContainSubstring("ProxyAvailable")),
			))

			markDeploymentAvailable(ns, "kiali-oauth")
			Eventually(condition(kap, meshv1alpha1.ConditionProxyAvailable)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonDeploymentAvailable),
			))
			Eventually(condition(kap, meshv1alpha1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		})

		It("makes no write when it reconciles an unchanged KialiAuthProxy", func() {
			r, writes := countingReconciler()
			req := reconcile.Request{NamespacedName: key(kap)}
			// Once the cache has caught up with the last writes, a reconcile
			// writes nothing, and keeps writing nothing.
			Eventually(func() int64 {
				before := writes.count()
				_, err := r.Reconcile(ctx, req)
				Expect(err).NotTo(HaveOccurred())
				return writes.count() - before
			}).Should(BeZero())
			for i := 0; i < 5; i++ {
				_, err := r.Reconcile(ctx, req)
				Expect(err).NotTo(HaveOccurred())
			}
			Expect(writes.count()).To(BeZero())
		})

		It("puts back a deleted child", func() {
			svc := &corev1.Service{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, svc)).To(Succeed())
			oldUID := svc.UID
			Expect(k.Delete(ctx, svc)).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(k.Get(ctx, key(svc), svc)).To(Succeed())
				g.Expect(svc.UID).NotTo(Equal(oldUID))
			}).Should(Succeed())

			vs := &istionetworking.VirtualService{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, vs)).To(Succeed())
			oldUID = vs.UID
			Expect(k.Delete(ctx, vs)).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(k.Get(ctx, key(vs), vs)).To(Succeed())
				g.Expect(vs.UID).NotTo(Equal(oldUID))
			}).Should(Succeed())
		})

		It("restores the fields it owns after another manager edits them, keeping that manager's own fields", func() {
			d := &appsv1.Deployment{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
			want := d.Spec.Template.Spec.Containers[0].Args
			d.Spec.Template.Spec.Containers[0].Args = []string{"-provider=openshift", "-skip-auth-regex=.*"}
			d.Spec.Replicas = ptr.To[int32](3)
			d.Annotations["example.com/owner"] = "platform-team"
			Expect(k.Update(ctx, d, client.FieldOwner("kubectl-edit"))).To(Succeed())

			Eventually(func(g Gomega) {
				g.Expect(k.Get(ctx, key(d), d)).To(Succeed())
				g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(Equal(want))
				g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))
			}).Should(Succeed())
			Expect(d.Annotations).To(HaveKeyWithValue("example.com/owner", "platform-team"))

			kiali := kialiCR(ns, "kiali")
			Expect(k.Get(ctx, key(kiali), kiali)).To(Succeed())
			Expect(unstructured.SetNestedField(kiali.Object, "token", "spec", "auth", "strategy")).To(Succeed())
			Expect(k.Update(ctx, kiali, client.FieldOwner("kubectl-edit"))).To(Succeed())
			Eventually(func(g Gomega) string {
				g.Expect(k.Get(ctx, key(kiali), kiali)).To(Succeed())
				s, _, _ := unstructured.NestedString(kiali.Object, "spec", "auth", "strategy")
				return s
			}).Should(Equal("anonymous"))
		})

		It("keeps the generated session secret across reconciles and manager restarts", func() {
			s := &corev1.Secret{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-proxy"}, s)).To(Succeed())
			before := s.DeepCopy()

			// New generations make the operator reconcile and roll out.
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Proxy.Replicas = ptr.To[int32](2)
			})
			Eventually(func(g Gomega) {
				d := &appsv1.Deployment{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
				g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
			}).Should(Succeed())

			stopManager()
			startManager()
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Proxy.Replicas = ptr.To[int32](1)
			})
			Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(HaveField("Status", metav1.ConditionTrue))

			Expect(k.Get(ctx, key(s), s)).To(Succeed())
			Expect(s.UID).To(Equal(before.UID))
			Expect(s.ResourceVersion).To(Equal(before.ResourceVersion))
			Expect(s.Data).To(Equal(before.Data))
		})

		It("rolls the proxy pods when a secret it reads changes", func() {
			d := &appsv1.Deployment{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
			before := d.Spec.Template.Annotations[render.InputsChecksumAnnotation]

			h := &corev1.Secret{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "htpasswd"}, h)).To(Succeed())
			h.Data["auth"] = append(h.Data["auth"], []byte("second:$2y$05$abcdefghijklmnopqrstuuJ9z6Zt2n7m3nq9wCw0C3UuKq1p6v1o\n")...)
			Expect(k.Update(ctx, h)).To(Succeed())

			Eventually(func(g Gomega) string {
				g.Expect(k.Get(ctx, key(d), d)).To(Succeed())
				return d.Spec.Template.Annotations[render.InputsChecksumAnnotation]
			}).ShouldNot(Equal(before))
		})

		It("prunes what it no longer renders when the exposure changes", func() {
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Exposure.VirtualService = nil
				kap.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
			})

			Eventually(func() bool {
				err := k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, &istionetworking.VirtualService{})
				return apierrors.IsNotFound(err)
			}).Should(BeTrue())
			route := &routev1.Route{}
			Eventually(func() error {
				return k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, route)
			}).Should(Succeed())
			Expect(route.Spec.Host).To(Equal("kiali.mesh.apps.north.example.com"))
			Expect(route.Spec.To.Name).To(Equal("kiali-oauth"))
			Expect(route.Spec.TLS.Termination).To(Equal(routev1.TLSTerminationReencrypt))
			expectControlledBy(route, kap)
			// The router resolves a named target port against the Service's
			// port names.
			svc := &corev1.Service{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, svc)).To(Succeed())
			Expect(svc.Spec.Ports).To(ContainElement(HaveField("Name", route.Spec.Port.TargetPort.String())))
			Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(HaveField("Reason", meshv1alpha1.ReasonRouteApplied))
		})
	})

	Context("with the HTTPS listener turned off", func() {
		It("removes what only the listener needed from the live objects", func() {
			ns := newNamespace()
			createHtpasswd(ns)
			kap := reference(ns)
			kap.Spec.Exposure.VirtualService.Passthrough = &meshv1alpha1.PassthroughSpec{
				CertificateSecret: meshv1alpha1.SecretReference{Name: "kiali-host-cert"}}
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(func(g Gomega) {
				vs := &istionetworking.VirtualService{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, vs)).To(Succeed())
				g.Expect(vs.Spec.Tls).To(HaveLen(1))
			}).Should(Succeed())

			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: ptr.To(false)}
				kap.Spec.Exposure.VirtualService.Passthrough = nil
			})
			Eventually(func(g Gomega) {
				svc := &corev1.Service{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, svc)).To(Succeed())
				g.Expect(svc.Spec.Ports).To(HaveLen(1))
				g.Expect(svc.Spec.Ports[0].Name).To(Equal("http-kiali-oauth"))
				g.Expect(svc.Annotations).NotTo(HaveKey("service.beta.openshift.io/serving-cert-secret-name"))

				vs := &istionetworking.VirtualService{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-mesh"}, vs)).To(Succeed())
				g.Expect(vs.Spec.Tls).To(BeEmpty())
				g.Expect(vs.Spec.Http).To(HaveLen(1))

				d := &appsv1.Deployment{}
				g.Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
				args := d.Spec.Template.Spec.Containers[0].Args
				g.Expect(args).To(ContainElement("-https-address="))
				g.Expect(args).NotTo(ContainElement(HavePrefix("-tls-")))
				g.Expect(d.Spec.Template.Spec.Volumes).NotTo(ContainElement(HaveField("Name", "serving-cert")))
				g.Expect(d.Spec.Template.Spec.Containers[0].Ports).To(HaveLen(1))
			}).Should(Succeed())
		})
	})

	Context("with user-provided secrets", func() {
		It("only reads them, and generates no session secret of its own", func() {
			ns := newNamespace()
			htpasswd := createHtpasswd(ns)
			session := createSecret(ns, "my-session", map[string]string{"cookie": "0123456789abcdef0123456789abcdef"})
			kap := reference(ns)
			kap.Spec.Proxy.SessionSecret = &meshv1alpha1.SecretKeyReference{Name: "my-session", Key: "cookie"}
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(HaveField("Status", metav1.ConditionFalse))

			d := &appsv1.Deployment{}
			Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth"}, d)).To(Succeed())
			Expect(d.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("VolumeSource.Secret.SecretName", "my-session")))

			// Trigger more reconciles.
			updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) {
				kap.Spec.Proxy.Replicas = ptr.To[int32](2)
			})
			Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(HaveField("Status", metav1.ConditionTrue))

			for _, s := range []*corev1.Secret{htpasswd, session} {
				now := &corev1.Secret{}
				Expect(k.Get(ctx, key(s), now)).To(Succeed())
				Expect(now.ResourceVersion).To(Equal(s.ResourceVersion), "Secret %s was written", s.Name)
				Expect(now.OwnerReferences).To(BeEmpty())
				Expect(now.Labels).To(BeEmpty())
			}
			Expect(apierrors.IsNotFound(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-proxy"}, &corev1.Secret{}))).To(BeTrue())
		})

		It("reports a missing htpasswd Secret as Degraded, and recovers when it is created", func() {
			ns := newNamespace()
			kap := reference(ns)
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
				HaveField("Message", ContainSubstring("Secret "+ns+"/htpasswd referenced by spec.proxy.htpasswd does not exist")),
			))
			Eventually(condition(kap, meshv1alpha1.ConditionReady)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
			))

			Eventually(func(g Gomega) []eventsv1.Event {
				var events eventsv1.EventList
				g.Expect(k.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
				return events.Items
			}).Should(ContainElement(And(
				HaveField("Type", corev1.EventTypeWarning),
				HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
				HaveField("Regarding.Name", kap.Name),
			)))

			createHtpasswd(ns)
			Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
				HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", meshv1alpha1.ReasonReferencesValid),
			))
		})

		It("reports a session secret of the wrong length without printing it", func() {
			ns := newNamespace()
			createHtpasswd(ns)
			// Not base64, so oauth-proxy takes its 13 bytes as they are.
			value := "short+secret!"
			createSecret(ns, "short", map[string]string{"session_secret": value})
			kap := reference(ns)
			kap.Spec.Proxy.SessionSecret = &meshv1alpha1.SecretKeyReference{Name: "short"}
			Expect(k.Create(ctx, kap)).To(Succeed())
			Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
				HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", meshv1alpha1.ReasonSessionSecretInvalid),
				HaveField("Message", And(ContainSubstring("this one gives 13"), Not(ContainSubstring(value)))),
			))
		})
	})

	Context("at admission", func() {
		valid := func() *meshv1alpha1.KialiAuthProxy {
			kap := reference("default")
			kap.Name = "admission"
			return kap
		}
		DescribeTable("rejects an invalid KialiAuthProxy with a clear message",
			func(mutate func(*meshv1alpha1.KialiAuthProxy), message string) {
				kap := valid()
				mutate(kap)
				err := k.Create(ctx, kap, client.DryRunAll)
				Expect(err).To(HaveOccurred())
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), err.Error())
				Expect(err.Error()).To(ContainSubstring(message))
				// The rule's message is the whole detail of one cause, not a
				// fragment of something longer.
				var status apierrors.APIStatus
				Expect(errors.As(err, &status)).To(BeTrue())
				causes := status.Status().Details.Causes
				var details []string
				for _, c := range causes {
					details = append(details, c.Field+": "+c.Message)
				}
				Expect(details).To(ContainElement(HaveSuffix(message)))
			},
			Entry("a host that is not a DNS name", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Exposure.Host = "Kiali_Host" },
				"spec.exposure.host must be a lowercase DNS name such as kiali.apps.example.com"),
			Entry("no exposure", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Exposure.VirtualService = nil },
				"spec.exposure needs exactly one of virtualService, route or httpRoute"),
			Entry("two exposures", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{} },
				"spec.exposure needs exactly one of virtualService, route or httpRoute"),
			Entry("a gateway without its namespace", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Exposure.VirtualService.Gateways = []string{"mesh-apps-gateway"}
			}, "each gateway must be namespace/name, such as istio-system/mesh-apps-gateway"),
			Entry("no gateway", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Exposure.VirtualService.Gateways = []string{} },
				"spec.exposure.virtualService.gateways: Invalid value: 0: spec.exposure.virtualService.gateways in body should have at least 1 items"),
			Entry("a pod annotation that would take Kiali out of the mesh", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"sidecar.istio.io/inject": "false"}
			}, refusedAnnotationMessage("sidecar.istio.io/inject")),
			Entry("a pod annotation that is not an annotation name", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"my team": "a"}
			}, "spec.kiali.podAnnotations keys must be annotation names such as example.com/team"),
			Entry("a cookie refresh with the OpenShift provider", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Expire: &metav1.Duration{Duration: 7200e9}, Refresh: &metav1.Duration{Duration: 3600e9}}
			}, "spec.proxy.cookie.refresh is not supported with the OpenShift provider: oauth-proxy validates the session's token again by sending it as an access_token query parameter, which the OpenShift API server does not accept, so every session would end at its first refresh; remove it and bound sessions with spec.proxy.cookie.expire"),
			Entry("a passthrough without the HTTPS listener", func(k *meshv1alpha1.KialiAuthProxy) {
				off := false
				k.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: &off}
				k.Spec.Exposure.VirtualService.Passthrough = &meshv1alpha1.PassthroughSpec{CertificateSecret: meshv1alpha1.SecretReference{Name: "host-cert"}}
			}, "spec.exposure.virtualService.passthrough needs the proxy's HTTPS listener: remove spec.proxy.tls.enabled: false"),
			Entry("a pod annotation faking the sidecar's injection", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"sidecar.istio.io/status": "{}"}
			}, refusedAnnotationMessage("sidecar.istio.io/status")),
			Entry("a pod annotation injecting an agent without capture", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"inject.istio.io/templates": "grpc-agent"}
			}, refusedAnnotationMessage("inject.istio.io/templates")),
			Entry("a SubjectAccessReview without a verb", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.SubjectAccessReviews = []meshv1alpha1.SubjectAccessReview{{Resource: "pods"}}
			}, "spec.proxy.subjectAccessReviews[0].verb: Invalid value: \"\": spec.proxy.subjectAccessReviews[0].verb in body should be at least 1 chars long"),
			Entry("a SubjectAccessReview without a resource", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.SubjectAccessReviews = []meshv1alpha1.SubjectAccessReview{{Verb: "get"}}
			}, "spec.proxy.subjectAccessReviews[0].resource: Invalid value: \"\": spec.proxy.subjectAccessReviews[0].resource in body should be at least 1 chars long"),
			Entry("a Prometheus URL that is not a URL", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.Prometheus.URL = "prometheus:9090 please"
			}, "spec.kiali.prometheus.url must be an http or https URL such as http://prometheus.istio-system.svc:9090"),
			Entry("an unknown Kiali version", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.Version = "1.73" },
				`spec.kiali.version in body should match '^(default|latest|v[0-9]+\.([0-9]+|x)(\.[0-9]+)?)$'`),
			Entry("too many replicas", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.Replicas = ptr.To[int32](50) },
				"spec.proxy.replicas in body should be less than or equal to 20"),
			Entry("an extra argument that is not a flag", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.ExtraArgs = []string{"upstream=x"} },
				"spec.proxy.extraArgs[0] in body should match '^--?[a-z][-a-z0-9]*(=.*)?$'"),
			Entry("an invalid image reference", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.Image = "quay.io/oauth proxy" },
				`spec.proxy.image: Invalid value: "quay.io/oauth proxy": spec.proxy.image must be an image reference such as quay.io/openshift/origin-oauth-proxy:4.18 or registry/name@sha256:<digest>`),
			Entry("an image tag with a slash", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.Image = "quay.io/oauth-proxy:4.18/x" },
				"spec.proxy.image must be an image reference such as quay.io/openshift/origin-oauth-proxy:4.18 or registry/name@sha256:<digest>"),
			Entry("an extra argument overriding a managed flag", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.ExtraArgs = []string{"-skip-provider-button", "--upstream=http://elsewhere:8080"}
			}, "spec.proxy.extraArgs must not set -skip-provider-button: the operator skips the sign-in page when OpenShift login is the only way in, that is without spec.proxy.htpasswd"),
			Entry("an extra argument bypassing authentication", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.ExtraArgs = []string{"-skip-auth-regex=.*"}
			}, meshv1alpha1.ExtraArgsRules()[0].Message),
			Entry("an extra argument skipping TLS verification", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.ExtraArgs = []string{"--ssl-insecure-skip-verify=true"}
			}, meshv1alpha1.ExtraArgsRules()[0].Message),
			Entry("a pod annotation letting traffic around the sidecar", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"traffic.sidecar.istio.io/excludeInboundPorts": "20001"}
			}, refusedAnnotationMessage("traffic.sidecar.istio.io/excludeInboundPorts")),
			Entry("a pod annotation replacing the proxy config", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Kiali.PodAnnotations = map[string]string{"proxy.istio.io/config": "{}"}
			}, refusedAnnotationMessage("proxy.istio.io/config")),
			Entry("a Grafana URL that is not a URL", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.Grafana.InClusterURL = "grafana:3000" },
				"spec.kiali.grafana.inClusterURL must be an http or https URL"),
			Entry("a Grafana external URL that is not http", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.Grafana.ExternalURL = "ftp://grafana" },
				"spec.kiali.grafana.externalURL must be an http or https URL"),
			Entry("an istiod version URL that is not a URL", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.Istio.URLServiceVersion = "istiod:15014" },
				"spec.kiali.istio.urlServiceVersion must be an http or https URL"),
			Entry("an htpasswd key without its Secret", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Key: "auth", Users: []meshv1alpha1.HtpasswdUser{{Name: "a", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "pw"}}}}
			}, "spec.proxy.htpasswd.key goes with spec.proxy.htpasswd.name"),
			Entry("an extra argument turning off basic-auth passing", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.ExtraArgs = []string{"-pass-basic-auth=false"}
			}, "spec.proxy.extraArgs must not set -pass-basic-auth: it decides whether an htpasswd user's password is forwarded to Kiali"),
			Entry("an htpasswd Secret and users at once", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.Htpasswd.Users = []meshv1alpha1.HtpasswdUser{{Name: "admin", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "pw"}}}
			}, "spec.proxy.htpasswd needs exactly one of name (an htpasswd Secret) or users"),
			Entry("a cookie refresh alone", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Refresh: &metav1.Duration{Duration: 48 * 3600e9}}
			}, "spec.proxy.cookie.refresh is not supported with the OpenShift provider: oauth-proxy validates the session's token again by sending it as an access_token query parameter, which the OpenShift API server does not accept, so every session would end at its first refresh; remove it and bound sessions with spec.proxy.cookie.expire"),
			Entry("a trust domain that is not a DNS name", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.MeshSecurity = &meshv1alpha1.MeshSecuritySpec{TrustDomain: "Cluster Local"}
			}, "spec.meshSecurity.trustDomain must be a lowercase DNS name such as cluster.local"),
			Entry("a cluster's Prometheus without a receiver", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "east", Prometheus: &meshv1alpha1.SpokePrometheus{UserWorkloadMonitoring: &meshv1alpha1.UserWorkloadMonitoringTarget{}}}}
			}, "spec.metrics.receiver is required when a cluster has a prometheus: it is where the clusters write"),
			Entry("a cluster's Prometheus given twice", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{URL: "https://hub.example.com/api/v1/write"}}
				k.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "east", Prometheus: &meshv1alpha1.SpokePrometheus{
					UserWorkloadMonitoring: &meshv1alpha1.UserWorkloadMonitoringTarget{},
					Resource:               &meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "k8s"},
				}}}
			}, "spec.clusters[].prometheus needs exactly one of resource, userWorkloadMonitoring or configMap"),
			Entry("a plain Prometheus without a place for the receiver credentials", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{
					URL: "https://hub.example.com/api/v1/write", BearerToken: &meshv1alpha1.SecretKeyReference{Name: "token"}}}
				k.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "east", Prometheus: &meshv1alpha1.SpokePrometheus{
					ConfigMap: &meshv1alpha1.PrometheusConfigMap{ObjectReference: meshv1alpha1.ObjectReference{Namespace: "istio-system", Name: "prometheus"}},
				}}}
			}, "spec.clusters[].prometheus.configMap.credentialsDir is required when the receiver has credentials: a plain Prometheus reads them from files"),
			Entry("a cluster name that is not a DNS label", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "East_1"}}
			}, "spec.clusters[].name must be a DNS label such as east"),
			Entry("the same cluster twice", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "east"}, {Name: "east"}}
			}, `spec.clusters[1]: Duplicate value: {"name":"east"}`),
			Entry("a receiver URL that is not a URL", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{URL: "hub:9090/api/v1/write"}}
			}, "spec.metrics.receiver.url must be an http or https URL"),
			Entry("a receiver with a token and basic auth", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{URL: "https://hub.example.com/api/v1/write",
					BearerToken: &meshv1alpha1.SecretKeyReference{Name: "t"}, BasicAuth: &meshv1alpha1.SecretReference{Name: "b"}}}
			}, "spec.metrics.receiver takes a bearerToken or basicAuth, not both: Prometheus sends one Authorization header"),
			Entry("a cluster label that is not a label name", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Spec.Metrics = &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{URL: "https://hub.example.com/api/v1/write"}, ClusterLabel: "__cluster"}
			}, "spec.metrics.clusterLabel must be a Prometheus label name such as cluster"),
			Entry("a name too long to derive object names from", func(k *meshv1alpha1.KialiAuthProxy) {
				k.Name = strings.Repeat("k", 41)
			}, "metadata.name must be at most 40 characters: the names of the objects made for it are derived from it"),
			Entry("an adoption policy that does not exist", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Adoption = "Merge" },
				`supported values: "Refuse", "Adopt"`),
			Entry("a name that cannot name a Service", func(k *meshv1alpha1.KialiAuthProxy) { k.Name = "1kiali" },
				"metadata.name must be a DNS label starting with a letter: it names the proxy's Service"),
		)

		It("accepts every sample", func() {
			for _, file := range []string{"mesh_v1alpha1_kialiauthproxy.yaml", "mesh_v1alpha1_kialiauthproxy_v2.yaml", "mesh_v1alpha1_kialiauthproxy_multicluster.yaml"} {
				kap := sample(file, "default")
				Expect(k.Create(ctx, kap, client.DryRunAll)).To(Succeed(), file)
			}
		})

		It("stores a KialiAuthProxy exactly as given: no defaults are written into it", func() {
			kap := valid()
			kap.Name = "as-given"
			Expect(k.Create(ctx, kap, client.DryRunAll)).To(Succeed())
			stored, err := json.Marshal(kap.Spec)
			Expect(err).NotTo(HaveOccurred())
			given, err := json.Marshal(valid().Spec)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(stored)).To(MatchJSON(string(given)))
			Expect(regexp.MustCompile(`"image"`).MatchString(string(stored))).To(BeFalse())
		})
	})

	securitySpecs()
})
