package guard

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

var (
	authorizationPolicyGVK = schema.GroupVersionKind{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicy"}
	prometheusGVK          = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "Prometheus"}
	configMapGVK           = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	deploymentGVK          = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	serviceAccountGVK      = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
)

// entry is the name of the remote_write entry the operator writes for
// KialiAuthProxy kiali/kiali.
var entry = render.NamesFor(&meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: "kiali", Name: "kiali"}}).RemoteWriteEntry

// namesOf are the names the operator renders for KialiAuthProxy kap.
func namesOf(kap *unstructured.Unstructured) render.Names {
	return render.NamesFor(&meshv1alpha1.KialiAuthProxy{ObjectMeta: metav1.ObjectMeta{Namespace: kap.GetNamespace(), Name: kap.GetName()}})
}

// renderedFor is every object the operator renders for KialiAuthProxy kap,
// exposed by its VirtualService and, again, by a Route, as the operator
// applies it, without owner references.
func renderedFor(kap *unstructured.Unstructured) []*unstructured.Unstructured {
	typed := &meshv1alpha1.KialiAuthProxy{}
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(kap.Object, typed)).To(Succeed())
	routed := typed.DeepCopy()
	routed.Spec.Exposure.VirtualService = nil
	routed.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
	in := render.Inputs{
		SessionSecret: render.SecretKey{Name: namesOf(kap).SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey},
		Htpasswd:      &render.SecretKey{Name: "htpasswd", Key: meshv1alpha1.DefaultHtpasswdKey},
	}
	var out []*unstructured.Unstructured
	for _, o := range append(render.Objects(typed, in), render.Objects(routed, in)...) {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		Expect(err).NotTo(HaveOccurred())
		u := &unstructured.Unstructured{Object: raw}
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		out = append(out, u)
	}
	return out
}

// controllerRefTo is the controller reference the operator's apply puts on
// what it makes for KialiAuthProxy kap.
func controllerRefTo(kap *unstructured.Unstructured) map[string]any {
	return map[string]any{
		"apiVersion": "mesh.kialiauth.io/v1alpha1", "kind": "KialiAuthProxy",
		"name": kap.GetName(), "uid": string(kap.GetUID()),
		"controller": true, "blockOwnerDeletion": true,
	}
}

// setOwnerReferences sets u's metadata.ownerReferences to refs.
func setOwnerReferences(u *unstructured.Unstructured, refs ...map[string]any) {
	list := make([]any, len(refs))
	for i, r := range refs {
		list[i] = r
	}
	u.Object["metadata"].(map[string]any)["ownerReferences"] = list
}

// labels are the operator's label, which is all the guard looks at.
func labels() map[string]string { return map[string]string{managedByLabel: managedByValue} }

func newObject(gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// apply server-side applies u as the operator does, forcing ownership
// when force is set.
func apply(c client.Client, u *unstructured.Unstructured, force bool) error {
	opts := []client.ApplyOption{client.FieldOwner(fieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...)
}

// mergePatch sends patch, a JSON merge patch, as the operator's field
// manager.
func mergePatch(c client.Client, obj client.Object, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	Expect(err).NotTo(HaveOccurred())
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(fieldManager))
}

func jsonPatch(c client.Client, obj client.Object, ops ...map[string]any) error {
	raw, err := json.Marshal(ops)
	Expect(err).NotTo(HaveOccurred())
	return c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, raw), client.FieldOwner(fieldManager))
}

func get[T client.Object](obj T) T {
	Expect(k.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

var _ = Describe("the operator's own writes", func() {
	var ns string

	BeforeEach(func() {
		ns = freshNamespace("kiali")
	})

	Context("Secrets", func() {
		It("may not create a service-account-token Secret, labelled or not", func() {
			Expect(operator.Create(ctx, tokenSecret(ns, "minted"))).To(beDeniedBy(writesPolicy,
				"the operator may not create service-account-token Secret "+ns+"/minted"))
		})

		It("creates a labelled Opaque Secret", func() {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-proxy", Labels: labels()},
				Type:       corev1.SecretTypeOpaque,
				Data:       map[string][]byte{"session_secret": []byte("0123456789abcdef")},
			}
			Expect(operator.Create(ctx, s, client.FieldOwner(fieldManager))).To(Succeed())
		})
	})

	Context("objects of others", func() {
		var istio string
		BeforeEach(func() {
			istio = namespace("istio-system")
		})

		It("may not update an unlabelled ConfigMap of the control plane, nor claim it with the label", func() {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: istio, Name: "istio-basic"},
				Data:       map[string]string{"mesh": "defaultConfig: {}\n"},
			}
			Expect(k.Create(ctx, cm)).To(Succeed())

			Expect(mergePatch(operator, cm, map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"example.com/touched": "true"}},
			})).To(beDeniedBy(writesPolicy,
				"the operator may not update configmaps istio-system/istio-basic: it does not carry the operator's label"))
			Expect(mergePatch(operator, cm, map[string]any{
				"metadata": map[string]any{"labels": labels()},
			})).To(beDeniedBy(writesPolicy, "may not update configmaps istio-system/istio-basic"))
			// A data edit is one of the operator's only where it adds or
			// takes out its remote_write entry.
			Expect(mergePatch(operator, cm, map[string]any{
				"data": map[string]any{"mesh": "defaultConfig: {}\nextensionProviders: []\n"},
			})).To(beDeniedBy(writesPolicy, "may not update configmaps istio-system/istio-basic"))
			Expect(get(cm).GetLabels()).To(BeEmpty())
			Expect(cm.GetAnnotations()).To(BeEmpty())
			Expect(cm.Data).To(Equal(map[string]string{"mesh": "defaultConfig: {}\n"}))
		})

		It("leaves the writes of anyone else alone", func() {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: istio, Name: "istio-sidecar-injector-basic"},
				Data:       map[string]string{"config": "policy: enabled\n"},
			}
			Expect(k.Create(ctx, cm)).To(Succeed())
			Expect(mergePatch(k, cm, map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"example.com/touched": "true"}},
				"data":     map[string]any{"config": "policy: disabled\n", "values": "{}"},
			})).To(Succeed())
			Expect(k.Delete(ctx, cm)).To(Succeed())
		})

		It("may not delete an unlabelled mesh-wide AuthorizationPolicy", func() {
			ap := newObject(authorizationPolicyGVK, istio, "allow-nothing")
			ap.Object["spec"] = map[string]any{}
			Expect(k.Create(ctx, ap)).To(Succeed())
			Expect(operator.Delete(ctx, ap)).To(beDeniedBy(writesPolicy,
				"the operator may not delete authorizationpolicies.security.istio.io istio-system/allow-nothing"))
			get(ap)
		})

		It("deletes its own AuthorizationPolicy", func() {
			ap := newObject(authorizationPolicyGVK, ns, "kiali-lockdown")
			ap.SetLabels(labels())
			ap.Object["spec"] = map[string]any{"action": "ALLOW"}
			Expect(apply(operator, ap, true)).To(Succeed())
			Expect(operator.Delete(ctx, ap)).To(Succeed())
		})

		It("may not take its label off an object that is not a released CA bundle", func() {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-oauth", Labels: labels()},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 3080}}},
			}
			Expect(operator.Create(ctx, svc, client.FieldOwner(fieldManager))).To(Succeed())
			Expect(mergePatch(operator, svc, map[string]any{
				"metadata": map[string]any{"labels": map[string]any{managedByLabel: nil}},
			})).To(beDeniedBy(writesPolicy, "may not update services "+ns+"/kiali-oauth: the update takes off the operator's label"))
			Expect(operator.Delete(ctx, svc)).To(Succeed())
		})
	})

	Context("adoption", func() {
		var owner *unstructured.Unstructured
		BeforeEach(func() {
			ns = freshNamespace("adoption")
			owner = sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			Expect(k.Create(ctx, owner)).To(Succeed())
		})

		controllerRef := func() map[string]any { return controllerRefTo(owner) }

		It("hands a hand-made Deployment's fields over, then takes it over with its label and owner reference", func() {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-oauth"},
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "kiali-oauth"}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "kiali-oauth"}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{
							{Name: "oauth-proxy", Image: "registry.example.com/oauth-proxy:hand-made"},
							{Name: "debug", Image: "registry.example.com/debug:latest"},
						}},
					},
				},
			}
			Expect(k.Create(ctx, d, client.FieldOwner("kubectl-create"))).To(Succeed())

			// adopt, in internal/controller/adoption.go.
			live := newObject(deploymentGVK, ns, d.Name)
			Expect(k.Get(ctx, client.ObjectKeyFromObject(live), live)).To(Succeed())
			patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, sets.New("kubectl-create"), fieldManager)
			Expect(err).NotTo(HaveOccurred())
			Expect(patch).NotTo(BeNil())
			Expect(operator.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch))).To(Succeed())
			Expect(get(d).GetManagedFields()).To(ContainElement(HaveField("Manager", fieldManager)))
			Expect(d.GetManagedFields()).NotTo(ContainElement(HaveField("Manager", "kubectl-create")))

			// The apply that follows: the rendered Deployment, without the
			// hand-made container, with the label and owner reference.
			rendered := newObject(deploymentGVK, ns, d.Name)
			rendered.SetLabels(labels())
			rendered.Object["metadata"].(map[string]any)["ownerReferences"] = []any{controllerRef()}
			rendered.Object["spec"] = map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": "kiali-oauth"}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "kiali-oauth"}},
					"spec": map[string]any{"containers": []any{
						map[string]any{"name": "oauth-proxy", "image": "registry.example.com/oauth-proxy:rendered"},
					}},
				},
			}
			Expect(apply(operator, rendered, true)).To(Succeed())
			Expect(get(d).Spec.Template.Spec.Containers).To(HaveLen(1))
			Expect(metav1.GetControllerOf(d)).To(HaveField("UID", owner.GetUID()))
		})

		It("hands over nothing but the managed fields", func() {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hand-made"},
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hand-made"}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "hand-made"}},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/c:1"}}},
					},
				},
			}
			Expect(k.Create(ctx, d, client.FieldOwner("kubectl-create"))).To(Succeed())
			Expect(mergePatch(operator, d, map[string]any{"spec": map[string]any{"replicas": 0}})).To(
				beDeniedBy(writesPolicy, "may not update deployments.apps "+ns+"/hand-made"))
		})

		It("takes over a hand-made Service no one controls", func() {
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-oauth"},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 3080}}},
			}
			Expect(k.Create(ctx, svc, client.FieldOwner("kubectl-create"))).To(Succeed())
			rendered := newObject(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns, svc.Name)
			rendered.SetLabels(labels())
			rendered.Object["metadata"].(map[string]any)["ownerReferences"] = []any{controllerRef()}
			rendered.Object["spec"] = map[string]any{"ports": []any{
				map[string]any{"name": "http-kiali-oauth", "port": int64(3080), "protocol": "TCP"},
			}}
			Expect(apply(operator, rendered, true)).To(Succeed())
		})

		It("may not take over an object another owner controls", func() {
			other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "another-owner"}}
			Expect(k.Create(ctx, other)).To(Succeed())
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ns, Name: "kiali-oauth",
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "v1", Kind: "ConfigMap", Name: other.Name, UID: other.UID, Controller: ptr.To(true),
					}},
				},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 3080}}},
			}
			Expect(k.Create(ctx, svc)).To(Succeed())
			// A merge patch replaces the list, so the other owner's
			// reference goes and one controller is left, as validation
			// requires.
			Expect(mergePatch(operator, svc, map[string]any{"metadata": map[string]any{
				"labels":          labels(),
				"ownerReferences": []any{controllerRef()},
			}})).To(beDeniedBy(writesPolicy, "may not update services "+ns+"/kiali-oauth"))
			Expect(metav1.GetControllerOf(get(svc))).To(HaveField("UID", other.UID))
		})

		// A controller reference is written by whoever writes the object,
		// so it proves nothing alone: only a kind and name the operator
		// renders for that KialiAuthProxy may be taken over.
		It("may not take over the mesh ConfigMap, with a KialiAuthProxy's controller reference or not", func() {
			istio := namespace("istio-system")
			// A KialiAuthProxy of the control plane's own namespace, so that
			// the reference is one the garbage collector would follow.
			meshOwner := sample("mesh_v1alpha1_kialiauthproxy.yaml", istio)
			Expect(k.Create(ctx, meshOwner)).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, meshOwner)).To(Succeed()) })
			mesh := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: istio, Name: "istio"},
				Data:       map[string]string{"mesh": "defaultConfig: {}\n"},
			}
			Expect(k.Create(ctx, mesh, client.FieldOwner("istio-operator"))).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, mesh)).To(Succeed()) })

			claimed := newObject(configMapGVK, istio, "istio")
			claimed.SetLabels(labels())
			setOwnerReferences(claimed, controllerRefTo(meshOwner))
			claimed.Object["data"] = map[string]any{"mesh": "defaultConfig: {}\nextensionProviders:\n" +
				"- name: ext-authz\n  envoyExtAuthzHttp: {service: evil.example.com, port: 443}\n"}
			Expect(apply(operator, claimed, true)).To(beDeniedBy(writesPolicy,
				"the operator may not update configmaps istio-system/istio: it does not carry the operator's label",
				"adoption of an object it renders"))
			// Claimed with its data left alone, it is still no name the
			// operator renders.
			unstructured.RemoveNestedField(claimed.Object, "data")
			Expect(apply(operator, claimed, true)).To(beDeniedBy(writesPolicy, "may not update configmaps istio-system/istio"))

			Expect(get(mesh).GetLabels()).To(BeEmpty())
			Expect(mesh.GetOwnerReferences()).To(BeEmpty())
			Expect(mesh.Data).To(Equal(map[string]string{"mesh": "defaultConfig: {}\n"}))
		})

		It("may not take over an unrelated ServiceAccount to give it an OAuth redirect", func() {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "builder"}}
			Expect(k.Create(ctx, sa, client.FieldOwner("kubectl-create"))).To(Succeed())
			claimed := newObject(serviceAccountGVK, ns, "builder")
			claimed.SetLabels(labels())
			claimed.SetAnnotations(map[string]string{render.OAuthRedirectAnnotation: "https://evil.example.com"})
			setOwnerReferences(claimed, controllerRef())
			Expect(apply(operator, claimed, true)).To(beDeniedBy(writesPolicy,
				"the operator may not update serviceaccounts "+ns+"/builder: it does not carry the operator's label"))
			Expect(get(sa).GetLabels()).To(BeEmpty())
			Expect(sa.GetAnnotations()).To(BeEmpty())
			Expect(sa.GetOwnerReferences()).To(BeEmpty())
		})

		// The guard's resourceRules list the kinds of internal/controller's
		// kinds table by hand; every kind the operator renders, and the
		// Secrets it makes, must be among them, or its writes would go
		// unchecked.
		It("guards every kind it renders", func() {
			vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
			Expect(k.Get(ctx, client.ObjectKey{Name: writesPolicy}, vap)).To(Succeed())
			guarded := func(gvk schema.GroupVersionKind) bool {
				m, err := k.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
				Expect(err).NotTo(HaveOccurred(), gvk.String())
				for _, r := range vap.Spec.MatchConstraints.ResourceRules {
					ops := sets.New(r.Operations...)
					if sets.New(r.APIGroups...).Has(gvk.Group) && (sets.New(r.APIVersions...).HasAny("*", gvk.Version)) &&
						sets.New(r.Resources...).Has(m.Resource.Resource) &&
						ops.HasAll(admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete) {
						return true
					}
				}
				return false
			}
			for _, u := range renderedFor(owner) {
				Expect(guarded(u.GroupVersionKind())).To(BeTrue(), "%s is not among the resourceRules of %s", u.GroupVersionKind(), writesPolicy)
			}
			Expect(guarded(schema.GroupVersionKind{Version: "v1", Kind: "Secret"})).To(BeTrue())
		})

		// The guard's renderedName spells out the names of
		// internal/render/names.go; every object the operator renders,
		// exposed either way, must be one it lets the operator take over.
		It("takes over a hand-made copy of every object it renders, under the name it renders", func() {
			seen := map[string]bool{}
			for _, rendered := range renderedFor(owner) {
				id := rendered.GetKind() + " " + rendered.GetName()
				if seen[id] {
					continue
				}
				seen[id] = true

				hand := rendered.DeepCopy()
				hand.SetLabels(nil)
				hand.SetOwnerReferences(nil)
				Expect(k.Create(ctx, hand, client.FieldOwner("kubectl-create"))).To(Succeed(), id)
				setOwnerReferences(rendered, controllerRef())
				Expect(apply(operator, rendered, true)).To(Succeed(), id)
			}
			Expect(seen).To(HaveKey("Route " + namesOf(owner).Proxy))
		})

		It("takes over a hand-made ServiceAccount of the name it renders", func() {
			proxy := namesOf(owner).Proxy
			Expect(proxy).To(Equal(owner.GetName() + "-oauth"))
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxy}}
			Expect(k.Create(ctx, sa, client.FieldOwner("kubectl-create"))).To(Succeed())
			rendered := newObject(serviceAccountGVK, ns, proxy)
			rendered.SetLabels(labels())
			rendered.SetAnnotations(map[string]string{render.OAuthRedirectAnnotation: "https://kiali.mesh.apps.north.example.com"})
			setOwnerReferences(rendered, controllerRef())
			Expect(apply(operator, rendered, true)).To(Succeed())
			Expect(metav1.GetControllerOf(get(sa))).To(HaveField("UID", owner.GetUID()))
			Expect(sa.GetAnnotations()).To(HaveKeyWithValue(render.OAuthRedirectAnnotation, "https://kiali.mesh.apps.north.example.com"))
		})
	})

	Context("the hub Prometheus", func() {
		var hub *unstructured.Unstructured
		BeforeEach(func() {
			namespace("monitoring")
			hub = newObject(prometheusGVK, "monitoring", "k8s")
			hub.Object["spec"] = map[string]any{"replicas": int64(1)}
			Expect(k.Create(ctx, hub)).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, hub)).To(Succeed()) })
		})

		It("switches its remote-write receiver on and off, and changes nothing else", func() {
			// switchReceiverOn, in internal/controller/multicluster.go.
			on := newObject(prometheusGVK, "monitoring", "k8s")
			on.Object["spec"] = map[string]any{"enableRemoteWriteReceiver": true}
			on.SetResourceVersion(hub.GetResourceVersion())
			Expect(apply(operator, on, true)).To(Succeed())

			more := newObject(prometheusGVK, "monitoring", "k8s")
			more.Object["spec"] = map[string]any{"enableRemoteWriteReceiver": true, "replicas": int64(3)}
			Expect(apply(operator, more, true)).To(beDeniedBy(writesPolicy,
				"may not update prometheuses.monitoring.coreos.com monitoring/k8s"))
			Expect(mergePatch(operator, hub, map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"mesh.kialiauth.io/allowed-namespaces": "kiali"}},
			})).To(beDeniedBy(writesPolicy, "monitoring/k8s"))

			// releaseReceiver.
			live := get(newObject(prometheusGVK, "monitoring", "k8s"))
			Expect(mergePatch(operator, live, map[string]any{
				"metadata": map[string]any{"resourceVersion": live.GetResourceVersion()},
				"spec":     map[string]any{"enableRemoteWriteReceiver": nil},
			})).To(Succeed())
			get(live)
			Expect(live.Object["spec"]).NotTo(HaveKey("enableRemoteWriteReceiver"))
			Expect(live.Object["spec"]).To(HaveKeyWithValue("replicas", int64(1)))
		})

		// Those entries are written on other clusters, with the spoke
		// writer's identity (spoke_test.go).
		It("may not add or remove a remote_write entry", func() {
			item := map[string]any{"name": entry, "url": "https://hub.example.com/api/v1/write"}
			// wirePrometheus, in internal/controller/spokes.go.
			wired := newObject(prometheusGVK, "monitoring", "k8s")
			wired.Object["spec"] = map[string]any{"remoteWrite": []any{item}}
			wired.SetResourceVersion(hub.GetResourceVersion())
			Expect(apply(operator, wired, true)).To(beDeniedBy(writesPolicy,
				"the operator may not update prometheuses.monitoring.coreos.com monitoring/k8s: it does not carry the operator's label"))
			Expect(get(newObject(prometheusGVK, "monitoring", "k8s")).Object["spec"]).NotTo(HaveKey("remoteWrite"))

			// unwirePrometheus, of an entry written there otherwise.
			Expect(mergePatch(k, hub, map[string]any{"spec": map[string]any{"remoteWrite": []any{item}}})).To(Succeed())
			live := get(newObject(prometheusGVK, "monitoring", "k8s"))
			Expect(jsonPatch(operator, live,
				map[string]any{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
				map[string]any{"op": "remove", "path": "/spec/remoteWrite"},
			)).To(beDeniedBy(writesPolicy, "the operator may not update prometheuses.monitoring.coreos.com monitoring/k8s"))
			Expect(get(live).Object["spec"]).To(HaveKeyWithValue("remoteWrite", ConsistOf(HaveKeyWithValue("name", entry))))
		})
	})

	Context("release 0.1.0's CA bundle", func() {
		BeforeEach(func() {
			ns = freshNamespace("legacy")
		})

		It("takes back its label, owner reference and annotation, and nothing else", func() {
			owner := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			Expect(k.Create(ctx, owner)).To(Succeed())
			// What 0.1.0 applied...
			made := newObject(configMapGVK, ns, "kiali-cabundle")
			made.SetLabels(map[string]string{managedByLabel: managedByValue, "mesh.kialiauth.io/instance": "kiali"})
			made.SetAnnotations(map[string]string{
				"service.beta.openshift.io/inject-cabundle": "true",
				"mesh.kialiauth.io/applied-hash":            "0123abcd",
			})
			made.Object["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{
				"apiVersion": "mesh.kialiauth.io/v1alpha1", "kind": "KialiAuthProxy",
				"name": owner.GetName(), "uid": string(owner.GetUID()), "controller": true,
			}}
			Expect(apply(operator, made, true)).To(Succeed())
			// ...and what the service CA operator and the Kiali operator added.
			Expect(k.Patch(ctx, made, client.RawPatch(types.MergePatchType,
				[]byte(`{"data":{"service-ca.crt":"-----BEGIN CERTIFICATE-----"}}`)), client.FieldOwner("service-ca-operator"))).To(Succeed())
			kiali := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-stand-in"}}
			Expect(k.Create(ctx, kiali)).To(Succeed())
			Expect(k.Patch(ctx, made, client.RawPatch(types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/ownerReferences/-","value":`+
				`{"apiVersion":"v1","kind":"ConfigMap","name":"kiali-stand-in","uid":"`+string(kiali.UID)+`"}}]`)),
				client.FieldOwner("kiali-operator"))).To(Succeed())

			// releaseLegacyCABundle: an apply of nothing but the annotation.
			release := newObject(configMapGVK, ns, "kiali-cabundle")
			release.SetAnnotations(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"})
			Expect(apply(operator, release, false)).To(Succeed())

			live := get(newObject(configMapGVK, ns, "kiali-cabundle"))
			Expect(live.GetLabels()).To(BeEmpty())
			Expect(live.GetAnnotations()).To(Equal(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"}))
			Expect(live.GetOwnerReferences()).To(ConsistOf(HaveField("Name", "kiali-stand-in")))
			Expect(live.Object["data"]).To(HaveKey("service-ca.crt"))
		})

		It("may not release it with its content changed, or still owned", func() {
			owner := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			owner.SetName("other")
			Expect(k.Create(ctx, owner)).To(Succeed())
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ns, Name: "other-cabundle", Labels: labels(),
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "mesh.kialiauth.io/v1alpha1", Kind: "KialiAuthProxy",
						Name: owner.GetName(), UID: owner.GetUID(), Controller: ptr.To(true),
					}},
				},
				Data: map[string]string{"service-ca.crt": "-----BEGIN CERTIFICATE-----"},
			}
			Expect(operator.Create(ctx, cm, client.FieldOwner(fieldManager))).To(Succeed())
			Expect(mergePatch(operator, cm, map[string]any{
				"metadata": map[string]any{"labels": map[string]any{managedByLabel: nil}, "ownerReferences": nil},
				"data":     map[string]any{"service-ca.crt": "forged"},
			})).To(beDeniedBy(writesPolicy, "may not update configmaps "+ns+"/other-cabundle: the update takes off the operator's label"))
			Expect(mergePatch(operator, cm, map[string]any{
				"metadata": map[string]any{"labels": map[string]any{managedByLabel: nil}},
			})).To(beDeniedBy(writesPolicy, ns+"/other-cabundle"))
		})

		// The label alone does not say the CA bundle was the operator's: it
		// may have been taken off by hand, or never restored from a backup,
		// while the controller reference to the KialiAuthProxy is still
		// there, and left there it would have the garbage collector delete
		// the ConfigMap with the KialiAuthProxy.
		It("releases one whose label was taken off by hand, by the owner reference left", func() {
			owner := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			Expect(k.Create(ctx, owner)).To(Succeed())
			made := newObject(configMapGVK, ns, namesOf(owner).LegacyCABundle)
			made.SetLabels(map[string]string{managedByLabel: managedByValue, "mesh.kialiauth.io/instance": "kiali"})
			made.SetAnnotations(map[string]string{
				"service.beta.openshift.io/inject-cabundle": "true",
				"mesh.kialiauth.io/applied-hash":            "0123abcd",
			})
			setOwnerReferences(made, controllerRefTo(owner))
			Expect(apply(operator, made, true)).To(Succeed())
			Expect(k.Patch(ctx, made, client.RawPatch(types.MergePatchType,
				[]byte(`{"metadata":{"labels":{"`+managedByLabel+`":null}}}`)), client.FieldOwner("kubectl-label"))).To(Succeed())
			Expect(made.GetLabels()).NotTo(HaveKey(managedByLabel))

			// releaseLegacyCABundle's apply.
			release := newObject(configMapGVK, ns, made.GetName())
			release.SetAnnotations(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"})
			Expect(apply(operator, release, false)).To(Succeed())
			live := get(newObject(configMapGVK, ns, made.GetName()))
			Expect(live.GetLabels()).To(BeEmpty())
			Expect(live.GetAnnotations()).To(Equal(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"}))
			Expect(live.GetOwnerReferences()).To(BeEmpty())
		})

		It("strips an owner reference another field manager holds too, with no label left, and nothing else", func() {
			owner := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			Expect(k.Create(ctx, owner)).To(Succeed())
			// A copy restored from a backup: the owner reference and the
			// annotation came back under the restoring tool's field manager,
			// which the release's apply leaves alone, and the label did not.
			restored := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ns, Name: namesOf(owner).LegacyCABundle,
					Annotations: map[string]string{
						"service.beta.openshift.io/inject-cabundle": "true",
						"mesh.kialiauth.io/applied-hash":            "0123abcd",
					},
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "mesh.kialiauth.io/v1alpha1", Kind: "KialiAuthProxy",
						Name: owner.GetName(), UID: owner.GetUID(), Controller: ptr.To(true),
					}},
				},
				Data: map[string]string{"service-ca.crt": "-----BEGIN CERTIFICATE-----"},
			}
			Expect(k.Create(ctx, restored, client.FieldOwner("velero"))).To(Succeed())

			// stripOwnership, in internal/controller/legacy.go.
			strip := func(more ...map[string]any) error {
				return jsonPatch(operator, restored, append([]map[string]any{
					{"op": "test", "path": "/metadata/uid", "value": string(restored.UID)},
					{"op": "test", "path": "/metadata/resourceVersion", "value": restored.ResourceVersion},
					{"op": "remove", "path": "/metadata/ownerReferences/0"},
					{"op": "remove", "path": "/metadata/annotations/mesh.kialiauth.io~1applied-hash"},
				}, more...)...)
			}
			Expect(strip(map[string]any{"op": "replace", "path": "/data/service-ca.crt", "value": "forged"})).To(beDeniedBy(writesPolicy,
				"the operator may not update configmaps "+ns+"/"+restored.Name+": it does not carry the operator's label"))
			Expect(strip(map[string]any{"op": "add", "path": "/metadata/annotations/example.com~1touched", "value": "true"})).To(
				beDeniedBy(writesPolicy, ns+"/"+restored.Name))
			Expect(strip()).To(Succeed())
			Expect(get(restored).OwnerReferences).To(BeEmpty())
			Expect(restored.Annotations).To(Equal(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"}))
			Expect(restored.Data).To(Equal(map[string]string{"service-ca.crt": "-----BEGIN CERTIFICATE-----"}))

			// Released, it holds nothing of the operator's, and a release
			// is no longer how the operator may write to it.
			Expect(mergePatch(operator, restored, map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"service.beta.openshift.io/inject-cabundle": nil}},
			})).To(beDeniedBy(writesPolicy, "the operator may not update configmaps "+ns+"/"+restored.Name))
		})

		It("may not make the CA bundle again, nor delete a copy holding nothing but its own fields", func() {
			// The release's apply, when the ConfigMap was deleted meanwhile,
			// would create it unlabelled: refused.
			release := newObject(configMapGVK, ns, "gone-cabundle")
			release.SetAnnotations(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"})
			Expect(apply(operator, release, false)).To(beDeniedBy(writesPolicy, "may not create configmaps "+ns+"/gone-cabundle"))

			// Such a copy made before the guard was in place: only the
			// operator's field manager wrote it, but a field manager's name
			// is anyone's to use, so that does not make it the operator's
			// to delete.
			copied := newObject(configMapGVK, ns, "gone-cabundle")
			copied.SetAnnotations(map[string]string{"service.beta.openshift.io/inject-cabundle": "true"})
			Expect(apply(k, copied, false)).To(Succeed())
			uid := copied.GetUID()
			Expect(operator.Delete(ctx, copied, client.Preconditions{UID: &uid})).To(beDeniedBy(writesPolicy,
				"the operator may not delete configmaps "+ns+"/gone-cabundle: it does not carry the operator's label"))
			get(copied)

			// One someone else wrote to is not the operator's to delete.
			theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Namespace: ns, Name: "theirs-cabundle",
				Annotations: map[string]string{"service.beta.openshift.io/inject-cabundle": "true"},
			}}
			Expect(k.Create(ctx, theirs, client.FieldOwner("kubectl-create"))).To(Succeed())
			Expect(operator.Delete(ctx, theirs)).To(beDeniedBy(writesPolicy, "may not delete configmaps "+ns+"/theirs-cabundle"))
		})
	})

	It("creates, updates and deletes its own objects", func() {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-remote-write", Labels: labels()},
			Data:       map[string]string{"record": "{}"},
		}
		Expect(operator.Create(ctx, cm, client.FieldOwner(fieldManager))).To(Succeed())
		Expect(mergePatch(operator, cm, map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{"example.com/a": "b"}},
			"data":     map[string]any{"record": `{"east":{}}`, "other": "x"},
		})).To(Succeed())
		Expect(operator.Delete(ctx, cm)).To(Succeed())
	})
})
