package guard

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OpenShift's user-workload monitoring ConfigMap, the one ConfigMap the
// spoke writer may create, gain a key in, and delete.
const (
	uwmNamespace = "openshift-user-workload-monitoring"
	uwmName      = "user-workload-monitoring-config"
)

// secretGVK is a Secret as the operator applies one.
var secretGVK = corev1.SchemeGroupVersion.WithKind("Secret")

// refusedToBoth asserts that write is refused to the operator's own
// ServiceAccount by the hub policy and to the spoke writer by its own,
// both naming what, such as "update configmaps ns/name". The operator is
// tried first: a refusal leaves the object as it was for the writer.
func refusedToBoth(write func(client.Client) error, what string) {
	GinkgoHelper()
	Expect(write(operator)).To(beDeniedBy(writesPolicy, "the operator may not "+what))
	Expect(write(spokeWriter)).To(beDeniedBy(spokePolicy, "the spoke writer may not "+what,
		"it writes only the operator's remote_write entries"))
}

// The remote_write entries and the receiver credentials are written on a
// spoke with the identity of the kubeconfig a KialiAuthProxy names
// (internal/controller/spokes.go). Each write the spoke writer is allowed
// here is first tried with the operator's own identity, which the hub
// policy refuses: neither identity can do the other's writes.
var _ = Describe("the spoke writer's writes", func() {
	var ns string

	BeforeEach(func() {
		ns = freshNamespace("spoke")
	})

	Context("Secrets", func() {
		It("may not create a service-account-token Secret, labelled or not", func() {
			Expect(spokeWriter.Create(ctx, tokenSecret(ns, "minted"))).To(beDeniedBy(spokePolicy,
				"the spoke writer may not create service-account-token Secret "+ns+"/minted"))
		})

		It("may not create an unlabelled Secret", func() {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: entry},
				Type:       corev1.SecretTypeOpaque,
				Data:       map[string][]byte{"token": []byte("t0ken")},
			}
			Expect(spokeWriter.Create(ctx, s, client.FieldOwner(fieldManager))).To(beDeniedBy(spokePolicy,
				"the spoke writer may not create secrets "+ns+"/"+entry,
				"the Secrets carrying the label app.kubernetes.io/managed-by=kiali-auth-proxy-operator"))
		})

		It("writes and deletes the labelled receiver credentials, and leaves a user's Secret of that name alone", func() {
			// syncCredentials, in internal/controller/spokes.go.
			creds := func(token string) *unstructured.Unstructured {
				s := newObject(secretGVK, ns, entry)
				s.SetLabels(labels())
				s.Object["type"] = string(corev1.SecretTypeOpaque)
				s.Object["data"] = map[string]any{"token": token}
				return s
			}
			Expect(apply(spokeWriter, creds("dDBrZW4="), true)).To(Succeed())
			Expect(apply(spokeWriter, creds("bmV3"), true)).To(Succeed())
			live := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: entry}}
			Expect(get(live).Data).To(HaveKeyWithValue("token", []byte("new")))
			Expect(spokeWriter.Delete(ctx, live, client.Preconditions{UID: &live.UID})).To(Succeed())

			theirs := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: entry},
				Data:       map[string][]byte{"token": []byte("theirs")},
			}
			Expect(k.Create(ctx, theirs, client.FieldOwner("kubectl-create"))).To(Succeed())
			Expect(apply(spokeWriter, creds("bmV3"), true)).To(beDeniedBy(spokePolicy,
				"the spoke writer may not update secrets "+ns+"/"+entry))
			Expect(spokeWriter.Delete(ctx, theirs)).To(beDeniedBy(spokePolicy,
				"the spoke writer may not delete secrets "+ns+"/"+entry))
			Expect(get(theirs).Data).To(HaveKeyWithValue("token", []byte("theirs")))
			Expect(theirs.GetLabels()).To(BeEmpty())
		})
	})

	Context("a Prometheus", func() {
		var prom *unstructured.Unstructured
		// what names the Prometheus as the messages do.
		var what string
		// create makes the Prometheus with spec, as its user would.
		create := func(spec map[string]any) {
			prom = newObject(prometheusGVK, ns, "k8s")
			prom.Object["spec"] = spec
			Expect(k.Create(ctx, prom, client.FieldOwner("kubectl-create"))).To(Succeed())
			what = "update prometheuses.monitoring.coreos.com " + ns + "/k8s"
		}
		// wire is wirePrometheus (internal/controller/spokes.go): an apply
		// of the whole list, atomic in the CRD, with the resourceVersion
		// read, and with more spec fields when given.
		wire := func(list []any, more map[string]any) func(client.Client) error {
			return func(c client.Client) error {
				live := get(newObject(prometheusGVK, ns, "k8s"))
				u := newObject(prometheusGVK, ns, "k8s")
				spec := map[string]any{"remoteWrite": list}
				for key, v := range more {
					spec[key] = v
				}
				u.Object["spec"] = spec
				u.SetResourceVersion(live.GetResourceVersion())
				return apply(c, u, true)
			}
		}
		// unwire is unwirePrometheus: a JSON patch tested against the
		// resourceVersion read, removing the list or replacing it with rest.
		unwire := func(rest []any) func(client.Client) error {
			return func(c client.Client) error {
				live := get(newObject(prometheusGVK, ns, "k8s"))
				op := map[string]any{"op": "remove", "path": "/spec/remoteWrite"}
				if len(rest) > 0 {
					op = map[string]any{"op": "replace", "path": "/spec/remoteWrite", "value": rest}
				}
				return jsonPatch(c, live,
					map[string]any{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()}, op)
			}
		}
		remoteWrite := func() any {
			v, _, err := unstructured.NestedFieldNoCopy(get(newObject(prometheusGVK, ns, "k8s")).Object, "spec", "remoteWrite")
			Expect(err).NotTo(HaveOccurred())
			return v
		}
		ours := map[string]any{"name": entry, "url": "https://hub.example.com/api/v1/write"}

		It("adds and removes a remote_write entry, and changes nothing else", func() {
			create(map[string]any{"replicas": int64(1)})
			Expect(wire([]any{ours}, nil)(operator)).To(beDeniedBy(writesPolicy, "the operator may not "+what))
			Expect(wire([]any{ours}, nil)(spokeWriter)).To(Succeed())
			Expect(remoteWrite()).To(Equal([]any{ours}))

			refusedToBoth(wire([]any{ours}, map[string]any{"enableRemoteWriteReceiver": true, "replicas": int64(2)}), what)
			refusedToBoth(func(c client.Client) error {
				return mergePatch(c, prom, map[string]any{
					"metadata": map[string]any{"annotations": map[string]any{"example.com/touched": "true"}},
				})
			}, what)

			Expect(unwire(nil)(operator)).To(beDeniedBy(writesPolicy, "the operator may not "+what))
			Expect(unwire(nil)(spokeWriter)).To(Succeed())
			Expect(remoteWrite()).To(BeNil())
			Expect(get(prom).Object["spec"]).To(HaveKeyWithValue("replicas", int64(1)))
		})

		It("keeps every entry of the user's as it was, and in order", func() {
			thanos := map[string]any{"name": "thanos", "url": "https://thanos-receive.example.com/api/v1/receive"}
			mimir := map[string]any{"name": "mimir", "url": "https://mimir.example.com/api/v1/push"}
			create(map[string]any{"remoteWrite": []any{thanos, mimir}})

			// Its own entry added, the user's kept: another hub's entry is
			// one of the operator's too.
			other := map[string]any{"name": "kialiauthproxy-x", "url": "https://other-hub.example.com/api/v1/write"}
			Expect(wire([]any{thanos, mimir, other}, nil)(operator)).To(beDeniedBy(writesPolicy, "the operator may not "+what))
			Expect(wire([]any{thanos, mimir, other}, nil)(spokeWriter)).To(Succeed())
			Expect(wire([]any{thanos, mimir, other, ours}, nil)(spokeWriter)).To(Succeed())

			evil := map[string]any{"name": "thanos", "url": "https://evil.example.com"}
			refusedToBoth(wire([]any{evil, mimir, other, ours}, nil), what)
			refusedToBoth(wire([]any{mimir, other, ours}, nil), what)
			refusedToBoth(wire([]any{mimir, thanos, other, ours}, nil), what)
			refusedToBoth(wire([]any{thanos, mimir, other, ours, map[string]any{
				"name": "exfiltrate", "url": "https://evil.example.com",
			}}, nil), what)
			Expect(remoteWrite()).To(Equal([]any{thanos, mimir, other, ours}))

			Expect(unwire([]any{thanos, mimir, other})(operator)).To(beDeniedBy(writesPolicy, "the operator may not "+what))
			Expect(unwire([]any{thanos, mimir, other})(spokeWriter)).To(Succeed())
			Expect(remoteWrite()).To(Equal([]any{thanos, mimir, other}))
		})
	})

	Context("the user-workload monitoring ConfigMap", func() {
		const target = "configmaps " + uwmNamespace + "/" + uwmName
		var uwm string
		BeforeEach(func() {
			uwm = namespace(uwmNamespace)
		})

		It("creates, edits and deletes the one it made", func() {
			// wireUWM.
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: uwm, Name: uwmName},
				Data:       map[string]string{"config.yaml": "prometheus:\n  remoteWrite:\n  - name: " + entry + "\n"},
			}
			Expect(operator.Create(ctx, cm.DeepCopy(), client.FieldOwner(fieldManager))).To(beDeniedBy(writesPolicy,
				"the operator may not create "+target+": it would not carry the operator's label"))
			Expect(spokeWriter.Create(ctx, cm, client.FieldOwner(fieldManager))).To(Succeed())
			// patchConfigMap.
			edit := map[string]any{
				"metadata": map[string]any{"resourceVersion": cm.ResourceVersion},
				"data":     map[string]any{"config.yaml": "prometheus:\n  remoteWrite: []\n"},
			}
			Expect(mergePatch(operator, cm, edit)).To(beDeniedBy(writesPolicy, "the operator may not update "+target))
			Expect(mergePatch(spokeWriter, cm, edit)).To(Succeed())
			// unwireUWM.
			pre := client.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}
			Expect(operator.Delete(ctx, cm, pre)).To(beDeniedBy(writesPolicy, "the operator may not delete "+target))
			Expect(spokeWriter.Delete(ctx, cm, pre)).To(Succeed())

			// With anything more than config.yaml it is not made that way.
			extra := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: uwm, Name: uwmName},
				Data:       map[string]string{"config.yaml": "{}", "other.yaml": "{}"},
			}
			Expect(spokeWriter.Create(ctx, extra, client.FieldOwner(fieldManager))).To(beDeniedBy(spokePolicy,
				"the spoke writer may not create "+target))
		})

		It("edits, and does not delete, one a user made", func() {
			mine := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: uwm, Name: uwmName},
				Data:       map[string]string{"config.yaml": "prometheus:\n  retention: 24h\n"},
			}
			Expect(k.Create(ctx, mine, client.FieldOwner("kubectl-create"))).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, mine)).To(Succeed()) })
			edit := map[string]any{
				"data": map[string]any{"config.yaml": "prometheus:\n  retention: 24h\n  remoteWrite:\n  - name: " + entry + "\n"},
			}
			Expect(mergePatch(operator, mine, edit)).To(beDeniedBy(writesPolicy, "the operator may not update "+target))
			Expect(mergePatch(spokeWriter, mine, edit)).To(Succeed())
			refusedToBoth(func(c client.Client) error { return c.Delete(ctx, mine) }, "delete "+target)
		})

		It("gains config.yaml in one a user made without it", func() {
			mine := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: uwm, Name: uwmName}}
			Expect(k.Create(ctx, mine, client.FieldOwner("kubectl-create"))).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, mine)).To(Succeed()) })
			edit := map[string]any{
				"data": map[string]any{"config.yaml": "prometheus:\n  remoteWrite:\n  - name: " + entry + "\n"},
			}
			Expect(mergePatch(operator, mine, edit)).To(beDeniedBy(writesPolicy, "the operator may not update "+target))
			Expect(mergePatch(spokeWriter, mine, edit)).To(Succeed())
			Expect(get(mine).Data).To(HaveKey("config.yaml"))
		})
	})

	Context("a key of a ConfigMap", func() {
		var istio string
		BeforeEach(func() {
			istio = namespace("istio-system")
		})

		It("may not create another unlabelled ConfigMap", func() {
			uwm := namespace(uwmNamespace)
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: uwm, Name: "something-else"},
				Data:       map[string]string{"config.yaml": "{}"},
			}
			Expect(operator.Create(ctx, cm.DeepCopy(), client.FieldOwner(fieldManager))).To(beDeniedBy(writesPolicy,
				"may not create configmaps openshift-user-workload-monitoring/something-else: it would not carry the operator's label"))
			Expect(spokeWriter.Create(ctx, cm, client.FieldOwner(fieldManager))).To(beDeniedBy(spokePolicy,
				"the spoke writer may not create configmaps openshift-user-workload-monitoring/something-else"))
		})

		It("edits one key of a prometheus.yml ConfigMap and nothing else", func() {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: istio, Name: "prometheus"},
				Data:       map[string]string{"prometheus.yml": "global: {}\n", "alerts": "{}"},
			}
			Expect(k.Create(ctx, cm, client.FieldOwner("helm"))).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, cm)).To(Succeed()) })
			const target = "update configmaps istio-system/prometheus"
			// patchConfigMap, for a configMap target.
			wired := map[string]any{
				"metadata": map[string]any{"resourceVersion": cm.ResourceVersion},
				"data":     map[string]any{"prometheus.yml": "global: {}\nremote_write:\n- name: " + entry + "\n  url: https://hub.example.com/api/v1/write\n"},
			}
			Expect(mergePatch(operator, cm, wired)).To(beDeniedBy(writesPolicy, "the operator may not "+target))
			Expect(mergePatch(spokeWriter, cm, wired)).To(Succeed())

			for _, patch := range []map[string]any{
				// A key with no remote_write entry of the operator's.
				{"data": map[string]any{"alerts": "groups: []"}},
				// Two keys at once.
				{"data": map[string]any{"prometheus.yml": "global: {}\n", "alerts": "groups: []"}},
				// A key removed.
				{"data": map[string]any{"alerts": nil}},
				// A key added, though it holds an entry of the operator's:
				// only the user-workload monitoring ConfigMap gains one.
				{"data": map[string]any{"remote.yml": "remote_write:\n- name: " + entry + "\n  url: https://evil.example.com\n"}},
				{"binaryData": map[string]any{"extra": "AA=="}},
				{
					"metadata": map[string]any{"labels": map[string]any{"app": "prometheus"}},
					"data":     map[string]any{"prometheus.yml": "global: {}\n"},
				},
			} {
				refusedToBoth(func(c client.Client) error { return mergePatch(c, cm, patch) }, target)
			}
			Expect(get(cm).GetLabels()).To(BeEmpty())
			Expect(cm.Data).To(HaveLen(2))
			Expect(cm.Data["prometheus.yml"]).To(ContainSubstring("remote_write"))
			Expect(cm.Data).To(HaveKeyWithValue("alerts", "{}"))
		})

		It("may not edit the mesh configuration, which holds no remote_write section", func() {
			mesh := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: istio, Name: "istio"},
				Data:       map[string]string{"mesh": "defaultConfig: {}\n"},
			}
			Expect(k.Create(ctx, mesh, client.FieldOwner("istio-operator"))).To(Succeed())
			DeferCleanup(func() { Expect(k.Delete(ctx, mesh)).To(Succeed()) })
			refusedToBoth(func(c client.Client) error {
				return mergePatch(c, mesh, map[string]any{"data": map[string]any{
					"mesh": "defaultConfig: {}\nextensionProviders:\n- name: ext-authz\n  envoyExtAuthzHttp: {service: evil.example.com, port: 443}\n",
				}})
			}, "update configmaps istio-system/istio")
			Expect(get(mesh).Data).To(Equal(map[string]string{"mesh": "defaultConfig: {}\n"}))
		})
	})
})
