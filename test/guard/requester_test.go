package guard

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// editHolds tells whether the edit ClusterRole, as aggregation has filled
// it, has a rule for resource of group.
func editHolds(group, resource string) func() bool {
	return func() bool {
		edit := &rbacv1.ClusterRole{}
		if err := k.Get(ctx, client.ObjectKey{Name: "edit"}, edit); err != nil {
			return false
		}
		return slices.ContainsFunc(edit.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource)
		})
	}
}

// withSpec is kap with spec.<path> set to value.
func withSpec(kap *unstructured.Unstructured, value any, path ...string) *unstructured.Unstructured {
	out := kap.DeepCopy()
	Expect(unstructured.SetNestedField(out.Object, value, append([]string{"spec"}, path...)...)).To(Succeed())
	return out
}

// v2Sample is config/samples' Kiali v2 KialiAuthProxy without its session
// secret: it names no Secret.
func v2Sample(ns string) *unstructured.Unstructured {
	kap := sample("mesh_v1alpha1_kialiauthproxy_v2.yaml", ns)
	unstructured.RemoveNestedField(kap.Object, "spec", "proxy", "sessionSecret")
	return kap
}

// createDryRun creates obj as c, leaving nothing behind: the guard runs on
// dry-run requests as on any other, so specs can retry a request until
// RBAC caches have caught up without making what they ask for.
func createDryRun(c client.Client, obj client.Object) func() error {
	return func() error { return c.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll) }
}

// The policy's authorizer authorizes the user who makes the request:
// k8s.io/apiserver builds it from the request's user info
// (pkg/admission/plugin/cel/activation.go: library.NewAuthorizerVal with
// versionedAttr.GetUserInfo(); pkg/cel/library/authz.go checks as that
// user). So a request impersonating a user here is checked exactly as one
// that user makes.
var _ = Describe("who may ask for a KialiAuthProxy", Ordered, func() {
	// OLM makes one such ClusterRole per CRD it installs, aggregated to
	// edit; the Kiali operator's bundle gets kialis.kiali.io-v1alpha1-edit.
	kialisEdit := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "kialis.kiali.io-v1alpha1-edit",
			Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
		},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"kiali.io"}, Resources: []string{"kialis"},
			Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		}},
	}

	BeforeAll(func() {
		for _, u := range readManifest("config", "rbac", "kialiauthproxy_editor_role.yaml") {
			Expect(k.Create(ctx, u)).To(Succeed())
		}
		Eventually(editHolds("mesh.kialiauth.io", "kialiauthproxies")).Should(BeTrue(),
			"the editor role is aggregated into edit")
	})

	AfterAll(func() {
		Expect(client.IgnoreNotFound(k.Delete(ctx, kialisEdit))).To(Succeed())
	})

	JustAfterEach(func() {
		if CurrentSpecReport().Failed() {
			GinkgoWriter.Printf("kube-controller-manager:\n%s\n", controllersLog.String())
		}
	})

	var editor string // alice's namespace, where she has edit

	It("refuses a user with edit but no permission on kialis, naming kialis create", func() {
		Expect(editHolds("kiali.io", "kialis")()).To(BeFalse())
		editor = freshNamespace("team-a")
		grant(editor, "alice-edit", "alice", "edit")
		Eventually(createDryRun(person("alice"), sample("mesh_v1alpha1_kialiauthproxy.yaml", editor))).Should(beDeniedBy(requesterPolicy,
			"user alice may not create kialis.kiali.io in namespace "+editor+": the operator creates the Kiali CR kiali there"))
	})

	It("admits a user whose edit role holds kialis once the Kiali operator's role is aggregated", func() {
		Expect(k.Create(ctx, kialisEdit)).To(Succeed())
		Eventually(editHolds("kiali.io", "kialis")).Should(BeTrue(), "the kialis role is aggregated into edit")
		kap := sample("mesh_v1alpha1_kialiauthproxy.yaml", editor)
		Eventually(func() error { return person("alice").Create(ctx, kap.DeepCopy()) }).Should(Succeed())
	})

	It("refuses a receiver Prometheus the user may not patch, naming it", func() {
		hub := freshNamespace("hub-monitoring")
		kap := withSpec(v2Sample(editor), map[string]any{
			"receiver": map[string]any{
				"url":        "https://prometheus-hub.apps.hub.example.com/api/v1/write",
				"prometheus": map[string]any{"namespace": hub, "name": "k8s"},
			},
		}, "metrics")
		Eventually(createDryRun(person("alice"), kap)).Should(beDeniedBy(requesterPolicy,
			"user alice may not patch prometheuses.monitoring.coreos.com k8s in namespace "+hub+
				" (spec.metrics.receiver.prometheus): the operator switches on its remote-write receiver"))

		// Patch on that one Prometheus is enough.
		grantRole(hub, "alice-k8s", "alice", rbacv1.PolicyRule{
			APIGroups: []string{"monitoring.coreos.com"}, Resources: []string{"prometheuses"},
			ResourceNames: []string{"k8s"}, Verbs: []string{"patch"},
		})
		Eventually(createDryRun(person("alice"), kap)).Should(Succeed())
	})

	// Anyone may name a ServiceAccount like the operator's in a namespace
	// of theirs, so that name exempts no one.
	It("refuses a user named like the operator's ServiceAccount, in another namespace, like anyone", func() {
		ns := freshNamespace("team-d")
		impostor := "system:serviceaccount:other-ns:" + operatorServiceAccount
		grantRole(ns, "impostor-kap", impostor, rbacv1.PolicyRule{
			APIGroups: []string{"mesh.kialiauth.io"}, Resources: []string{"kialiauthproxies"}, Verbs: []string{"create"},
		})
		c := impersonate(impostor, serviceAccountGroups("other-ns")...)
		Eventually(createDryRun(c, sample("mesh_v1alpha1_kialiauthproxy.yaml", ns))).Should(beDeniedBy(requesterPolicy,
			"user "+impostor+" may not create kialis.kiali.io in namespace "+ns+": the operator creates the Kiali CR kiali there"))
	})

	It("lets an update that leaves the spec alone through, for a user who has lost the permissions", func() {
		ns := freshNamespace("team-b")
		grantRole(ns, "bob-kap", "bob", kialiAuthProxyRule)
		inputs := grantRole(ns, "bob-inputs", "bob", kialiRule, secretsRule)
		bob := person("bob")
		kap := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
		Eventually(func() error { return bob.Create(ctx, kap.DeepCopy()) }).Should(Succeed())

		Expect(k.Delete(ctx, inputs)).To(Succeed())
		replicas := []byte(`{"spec":{"proxy":{"replicas":2}}}`)
		Eventually(func() error {
			return bob.Patch(ctx, kap.DeepCopy(), client.RawPatch(types.MergePatchType, replicas), client.DryRunAll)
		}).Should(beDeniedBy(requesterPolicy, "user bob may not create kialis.kiali.io in namespace "+ns))

		Expect(bob.Patch(ctx, kap.DeepCopy(), client.RawPatch(types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"example.com/owner":"team-b"}}}`)))).To(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
		Expect(kap.GetAnnotations()).To(HaveKeyWithValue("example.com/owner", "team-b"))
	})

	Context("a user who may write KialiAuthProxies and Kiali CRs but not read Secrets", func() {
		var ns string
		var carol client.Client
		BeforeAll(func() {
			ns = freshNamespace("team-c")
			grantRole(ns, "carol", "carol", kialiAuthProxyRule, kialiRule)
			carol = person("carol")
			Eventually(createDryRun(carol, v2Sample(ns))).Should(Succeed(), "a KialiAuthProxy naming no Secret")
		})

		It("is refused the htpasswd Secret, and admitted with get on that one Secret", func() {
			kap := sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
			Expect(createDryRun(carol, kap)()).To(beDeniedBy(requesterPolicy,
				"user carol may not get Secret htpasswd in namespace "+ns+" (spec.proxy.htpasswd.name): the operator mounts it in the proxy"))
			grantRole(ns, "carol-htpasswd", "carol", rbacv1.PolicyRule{
				APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"htpasswd"}, Verbs: []string{"get"},
			})
			Eventually(createDryRun(carol, kap)).Should(Succeed())
		})

		DescribeTable("is refused each other Secret the spec names, by name and field",
			func(field string, value any, path ...string) {
				Expect(createDryRun(carol, withSpec(v2Sample(ns), value, path...))()).To(beDeniedBy(requesterPolicy,
					"user carol may not get Secret secret-of-"+path[0]+" in namespace "+ns+" ("+field+")"))
			},
			Entry("the session secret", "spec.proxy.sessionSecret",
				map[string]any{"sessionSecret": map[string]any{"name": "secret-of-proxy"}, "replicas": int64(1)}, "proxy"),
			Entry("the passthrough certificate", "spec.exposure.virtualService.passthrough.certificateSecret",
				map[string]any{
					"host": "kiali.apps.south.example.com",
					"virtualService": map[string]any{
						"gateways":    []any{"istio-system/mesh-gateway"},
						"passthrough": map[string]any{"certificateSecret": map[string]any{"name": "secret-of-exposure"}},
					},
				}, "exposure"),
			Entry("the receiver's bearer token", "spec.metrics.receiver.bearerToken",
				map[string]any{"receiver": map[string]any{
					"url": "https://hub.example.com/api/v1/write", "bearerToken": map[string]any{"name": "secret-of-metrics"},
				}}, "metrics"),
			Entry("the receiver's basic auth", "spec.metrics.receiver.basicAuth",
				map[string]any{"receiver": map[string]any{
					"url": "https://hub.example.com/api/v1/write", "basicAuth": map[string]any{"name": "secret-of-metrics"},
				}}, "metrics"),
			Entry("the receiver's CA", "spec.metrics.receiver.ca",
				map[string]any{"receiver": map[string]any{
					"url": "https://hub.example.com/api/v1/write", "ca": map[string]any{"name": "secret-of-metrics"},
				}}, "metrics"),
			Entry("the query API's bearer token", "spec.metrics.verify.bearerToken",
				map[string]any{
					"receiver": map[string]any{"url": "https://hub.example.com/api/v1/write"},
					"verify":   map[string]any{"bearerToken": map[string]any{"name": "secret-of-metrics"}},
				}, "metrics"),
			Entry("the query API's CA", "spec.metrics.verify.ca",
				map[string]any{
					"receiver": map[string]any{"url": "https://hub.example.com/api/v1/write"},
					"verify":   map[string]any{"ca": map[string]any{"name": "secret-of-metrics"}},
				}, "metrics"),
		)

		It("is asked for get on every Secret of the namespace for a list of Secrets, and admitted with it", func() {
			users := withSpec(v2Sample(ns), map[string]any{"users": []any{map[string]any{
				"name": "ops", "passwordSecret": map[string]any{"name": "ops-password"},
			}}}, "proxy", "htpasswd")
			clusters := withSpec(sample("mesh_v1alpha1_kialiauthproxy_multicluster.yaml", ns), map[string]any{
				"receiver": map[string]any{"url": "https://hub.example.com/api/v1/write"},
			}, "metrics")
			// Named grants do not count for a list.
			grantRole(ns, "carol-named", "carol", rbacv1.PolicyRule{
				APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
				ResourceNames: []string{"ops-password", "east-monitoring-writer", "west-monitoring-writer", "south-monitoring-writer"},
			})
			Expect(createDryRun(carol, users)()).To(beDeniedBy(requesterPolicy,
				"user carol may not get secrets in namespace "+ns+": spec.proxy.htpasswd.users names password Secrets"))
			Expect(createDryRun(carol, clusters)()).To(beDeniedBy(requesterPolicy,
				"user carol may not get secrets in namespace "+ns+": each of spec.clusters names a remote-cluster Secret"))

			grantRole(ns, "carol-secrets", "carol", secretsRule)
			Eventually(createDryRun(carol, users)).Should(Succeed())
			Eventually(createDryRun(carol, clusters)).Should(Succeed())
		})
	})
})
