package multicluster

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
)

const (
	hubNS   = "kiali"
	entry   = "kialiauthproxy-kiali-kiali"
	promNS  = "monitoring"
	plainNS = "istio-system"
	uwmNS   = "openshift-user-workload-monitoring"
	// clusterMonitoringNS holds OpenShift's cluster-monitoring-config.
	clusterMonitoringNS = "openshift-monitoring"
)

// receiverCA stands for the receiver's CA bundle; nothing here dials it.
const receiverCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

// The user's own configurations on the spoke, before the operator.
var (
	userRemoteWrite = []any{
		map[string]any{"name": "user-archive", "url": "https://archive.example.com/api/v1/write"},
	}
	uwmBefore = `# tuned by the platform team
prometheus:
  retention: 24h
  remoteWrite:
    - name: user-archive
      url: https://archive.example.com/api/v1/write
alertmanager:
  enabled: true
`
	plainBefore = `global:
  scrape_interval: 15s   # the user's setting
scrape_configs:
- job_name: kubernetes-pods
  kubernetes_sd_configs:
  - role: pod
`
)

func prometheus(namespace, name string) *unstructured.Unstructured {
	p := &unstructured.Unstructured{}
	p.SetGroupVersionKind(clusters.PrometheusGVK)
	p.SetNamespace(namespace)
	p.SetName(name)
	return p
}

func getKAP() *meshv1alpha1.KialiAuthProxy {
	kap := &meshv1alpha1.KialiAuthProxy{}
	Expect(hub.Get(ctx, types.NamespacedName{Namespace: hubNS, Name: "kiali"}, kap)).To(Succeed())
	return kap
}

func condition(kap *meshv1alpha1.KialiAuthProxy, t string) metav1.Condition {
	if c := meta.FindStatusCondition(kap.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func clusterStatus(kap *meshv1alpha1.KialiAuthProxy, name string) meshv1alpha1.ClusterStatus {
	for _, c := range kap.Status.Clusters {
		if c.Name == name {
			return c
		}
	}
	return meshv1alpha1.ClusterStatus{}
}

func configMapData(c client.Client, namespace, name, key string) func() string {
	return func() string {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, cm); err != nil {
			return "error: " + err.Error()
		}
		return cm.Data[key]
	}
}

func remoteWriteOf(namespace, name string) func() []any {
	return func() []any {
		p := prometheus(namespace, name)
		if err := spoke.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return []any{err.Error()}
		}
		list, _, _ := unstructured.NestedSlice(p.Object, "spec", "remoteWrite")
		return list
	}
}

func entryNames(list []any) []string {
	var names []string
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			names = append(names, fmt.Sprint(m["name"]))
		}
	}
	return names
}

var _ = Describe("Multi-cluster wiring", Ordered, func() {
	It("wires every spoke's Prometheus, switches the hub receiver on and lists the clusters in Kiali", func() {
		for _, ns := range []string{hubNS, "hub-monitoring"} {
			ensureNamespace(hub, ns)
		}
		for _, ns := range []string{promNS, plainNS, uwmNS, clusterMonitoringNS} {
			ensureNamespace(spoke, ns)
		}
		// The spoke is an OpenShift cluster with user-workload monitoring on.
		Expect(spoke.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: clusterMonitoringNS, Name: "cluster-monitoring-config"},
			Data:       map[string]string{"config.yaml": "enableUserWorkload: true\n"},
		})).To(Succeed())
		// The spoke's Prometheus as the user left it.
		p := prometheus(promNS, "k8s")
		Expect(unstructured.SetNestedSlice(p.Object, userRemoteWrite, "spec", "remoteWrite")).To(Succeed())
		Expect(unstructured.SetNestedField(p.Object, int64(2), "spec", "replicas")).To(Succeed())
		Expect(spoke.Create(ctx, p)).To(Succeed())
		Expect(spoke.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: uwmNS, Name: "user-workload-monitoring-config"},
			Data:       map[string]string{"config.yaml": uwmBefore},
		})).To(Succeed())
		Expect(spoke.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: plainNS, Name: "prometheus"},
			Data:       map[string]string{"prometheus.yml": plainBefore, "recording_rules.yml": "groups: []\n"},
		})).To(Succeed())
		// The hub's Prometheus, its receiver off, in another namespace than
		// the KialiAuthProxy's, and not allowing it yet.
		hp := prometheus("hub-monitoring", "hub")
		Expect(unstructured.SetNestedField(hp.Object, int64(1), "spec", "replicas")).To(Succeed())
		Expect(hub.Create(ctx, hp)).To(Succeed())
		hpVersion := hp.GetResourceVersion()

		// Kiali's remote-cluster Secrets; the kubeconfigs reach the spoke.
		kc := kubeconfigFor("spoke", spokeCfg)
		for _, c := range []string{"east", "west", "south"} {
			Expect(hub.Create(ctx, remoteClusterSecret(hubNS, c, kc))).To(Succeed())
		}
		Expect(hub.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: hubNS, Name: "receiver-token"},
			Data:       map[string][]byte{"token": []byte("s3cr3t-token")},
		})).To(Succeed())
		Expect(hub.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: hubNS, Name: "receiver-ca"},
			Data:       map[string][]byte{"ca.crt": []byte(receiverCA)},
		})).To(Succeed())

		off := false
		kap := &meshv1alpha1.KialiAuthProxy{
			ObjectMeta: metav1.ObjectMeta{Namespace: hubNS, Name: "kiali"},
			Spec: meshv1alpha1.KialiAuthProxySpec{
				Exposure: meshv1alpha1.ExposureSpec{
					Host:           "kiali.apps.hub.example.com",
					VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/mesh-gateway"}},
				},
				Clusters: []meshv1alpha1.ClusterSpec{
					{Name: "east", Prometheus: &meshv1alpha1.SpokePrometheus{Resource: &meshv1alpha1.ObjectReference{Namespace: promNS, Name: "k8s"}}},
					{Name: "west", Prometheus: &meshv1alpha1.SpokePrometheus{UserWorkloadMonitoring: &meshv1alpha1.UserWorkloadMonitoringTarget{}}},
					{Name: "south", Prometheus: &meshv1alpha1.SpokePrometheus{ConfigMap: &meshv1alpha1.PrometheusConfigMap{
						ObjectReference: meshv1alpha1.ObjectReference{Namespace: plainNS, Name: "prometheus"},
						CredentialsDir:  "/etc/prometheus/secrets/" + entry,
					}}},
				},
				Metrics: &meshv1alpha1.MetricsSpec{
					Receiver: meshv1alpha1.ReceiverSpec{
						URL:         "https://prometheus-hub.apps.hub.example.com/api/v1/write",
						BearerToken: &meshv1alpha1.SecretKeyReference{Name: "receiver-token"},
						CA:          &meshv1alpha1.SecretKeyReference{Name: "receiver-ca"},
						Prometheus:  &meshv1alpha1.ObjectReference{Namespace: "hub-monitoring", Name: "hub"},
					},
					Verify: &meshv1alpha1.VerifySpec{Enabled: &off},
				},
			},
		}
		Expect(hub.Create(ctx, kap)).To(Succeed())

		// The operator would write the hub Prometheus with its own
		// identity: not for a namespace its owner has not allowed. The
		// clusters are wired all the same.
		Eventually(func(g Gomega) {
			kap := getKAP()
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse), c.Message)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonReceiverNotAllowed))
			g.Expect(c.Message).To(ContainSubstring("Prometheus hub-monitoring/hub"))
			g.Expect(c.Message).To(ContainSubstring(meshv1alpha1.AllowedNamespacesAnnotation + "=" + hubNS))
			for _, name := range []string{"east", "west", "south"} {
				g.Expect(clusterStatus(kap, name).Wired).To(BeTrue(), name)
			}
		}).Should(Succeed())
		Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
		Expect(hp.GetResourceVersion()).To(Equal(hpVersion), "the refused Prometheus was written")
		Expect(hp.Object["spec"]).NotTo(HaveKey("enableRemoteWriteReceiver"))
		// Its owner allows the namespace.
		hp.SetAnnotations(map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: "team-a, " + hubNS})
		Expect(hub.Update(ctx, hp)).To(Succeed())
		bump()

		Eventually(func(g Gomega) {
			kap := getKAP()
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonMetricsWired))
			g.Expect(kap.Finalizers).To(ContainElement(meshv1alpha1.RemoteCleanupFinalizer))
			for _, name := range []string{"east", "west", "south"} {
				st := clusterStatus(kap, name)
				g.Expect(st.Wired).To(BeTrue(), name+": "+st.Message)
				g.Expect(st.Entry).To(Equal(entry))
			}
		}).Should(Succeed())

		// Prometheus Operator: the user's entry first and untouched, ours after.
		list := remoteWriteOf(promNS, "k8s")()
		Expect(entryNames(list)).To(Equal([]string{"user-archive", entry}))
		Expect(list[0]).To(Equal(userRemoteWrite[0]))
		ours := list[1].(map[string]any)
		Expect(ours["url"]).To(Equal("https://prometheus-hub.apps.hub.example.com/api/v1/write"))
		Expect(ours["writeRelabelConfigs"]).To(ContainElement(HaveKeyWithValue("replacement", "east")))
		// Its two replicas scrape the same targets: only the first sends,
		// without its replica label.
		Expect(ours["writeRelabelConfigs"]).To(ContainElements(
			map[string]any{"sourceLabels": []any{"prometheus_replica"}, "regex": "(.*-0)?", "action": "keep"},
			map[string]any{"regex": "prometheus_replica", "action": "labeldrop"},
		))
		Expect(ours["authorization"]).To(HaveKeyWithValue("credentials", map[string]any{"name": entry, "key": "token"}))
		Expect(ours["tlsConfig"]).To(Equal(map[string]any{"ca": map[string]any{"secret": map[string]any{"name": entry, "key": "ca.crt"}}}))
		Expect(spoke.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		Expect(p.Object["spec"]).To(HaveKeyWithValue("replicas", int64(2)))

		// User-workload monitoring: the user's lines kept byte for byte.
		uwm := configMapData(spoke, uwmNS, "user-workload-monitoring-config", "config.yaml")()
		Expect(uwm).To(HavePrefix("# tuned by the platform team\nprometheus:\n  retention: 24h\n  remoteWrite:\n    - name: user-archive\n      url: https://archive.example.com/api/v1/write\n"))
		Expect(uwm).To(ContainSubstring("name: " + entry))
		Expect(uwm).To(ContainSubstring("alertmanager:\n  enabled: true\n"))
		// OpenShift parses config.yaml strictly, and its remoteWrite items are
		// Prometheus Operator RemoteWriteSpecs: the spoke's API server checks
		// them against the real CRD schema, refusing unknown fields.
		var doc struct {
			Prometheus struct {
				RemoteWrite []any `json:"remoteWrite"`
			} `json:"prometheus"`
		}
		Expect(yaml.Unmarshal([]byte(uwm), &doc)).To(Succeed())
		Expect(doc.Prometheus.RemoteWrite).To(HaveLen(2))
		probe := prometheus(promNS, "uwm-schema-probe")
		Expect(unstructured.SetNestedSlice(probe.Object, doc.Prometheus.RemoteWrite, "spec", "remoteWrite")).To(Succeed())
		Expect(spoke.Create(ctx, probe, client.DryRunAll, client.FieldValidation("Strict"))).To(Succeed())

		// Plain prometheus.yml: everything the user wrote, then remote_write.
		plain := configMapData(spoke, plainNS, "prometheus", "prometheus.yml")()
		Expect(plain).To(HavePrefix(plainBefore))
		Expect(plain).To(ContainSubstring("credentials_file: /etc/prometheus/secrets/" + entry + "/token"))
		Expect(plain).To(ContainSubstring("ca_file: /etc/prometheus/secrets/" + entry + "/ca.crt"))
		Expect(configMapData(spoke, plainNS, "prometheus", "recording_rules.yml")()).To(Equal("groups: []\n"))

		// The receiver token was copied next to each sender.
		for _, ns := range []string{promNS, uwmNS, plainNS} {
			s := &corev1.Secret{}
			Expect(spoke.Get(ctx, types.NamespacedName{Namespace: ns, Name: entry}, s)).To(Succeed())
			Expect(s.Data).To(Equal(map[string][]byte{"token": []byte("s3cr3t-token"), "ca.crt": []byte(receiverCA)}))
		}

		// The hub's receiver is on.
		Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
		Expect(hp.Object["spec"]).To(HaveKeyWithValue("enableRemoteWriteReceiver", true))

		// Kiali lists the three clusters with their Secrets.
		kiali := &unstructured.Unstructured{}
		kiali.SetAPIVersion("kiali.io/v1alpha1")
		kiali.SetKind("Kiali")
		Expect(hub.Get(ctx, types.NamespacedName{Namespace: hubNS, Name: "kiali"}, kiali)).To(Succeed())
		cl, _, _ := unstructured.NestedSlice(kiali.Object, "spec", "kiali_feature_flags", "clustering", "clusters")
		Expect(cl).To(ConsistOf(
			map[string]any{"name": "east", "secret_name": "kiali-remote-cluster-secret-east"},
			map[string]any{"name": "west", "secret_name": "kiali-remote-cluster-secret-west"},
			map[string]any{"name": "south", "secret_name": "kiali-remote-cluster-secret-south"},
		))
	})

	It("makes no write on the spoke when nothing changed", func() {
		before := spokeVersions()
		// Touch the CR so that it is reconciled again.
		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) { kap.Spec.Proxy.Replicas = ptr(int32(2)) })
		Eventually(func() int64 { return getKAP().Status.ObservedGeneration }).Should(Equal(getKAP().Generation))
		Consistently(spokeVersions, "3s").Should(Equal(before))
	})

	It("keeps an entry the user adds after the operator, and restores its own when removed", func() {
		p := prometheus(promNS, "k8s")
		Expect(spoke.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		list, _, _ := unstructured.NestedSlice(p.Object, "spec", "remoteWrite")
		// The user replaces the list with theirs plus a new one, dropping ours.
		Expect(unstructured.SetNestedSlice(p.Object, []any{list[0], map[string]any{"name": "user-new", "url": "https://new.example.com/api/v1/write"}}, "spec", "remoteWrite")).To(Succeed())
		Expect(spoke.Update(ctx, p)).To(Succeed())
		// The next resync or a change to the CR puts ours back.
		bump()
		Eventually(func() []string { return entryNames(remoteWriteOf(promNS, "k8s")()) }).
			Should(Equal([]string{"user-archive", "user-new", entry}))
	})

	It("says when the hub Prometheus runs several pods, each of which would hold part of the data", func() {
		hp := prometheus("hub-monitoring", "hub")
		setHubReplicas := func(n int64) {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
				Expect(unstructured.SetNestedField(hp.Object, n, "spec", "replicas")).To(Succeed())
				return hub.Update(ctx, hp)
			})).To(Succeed())
			bump()
		}
		setHubReplicas(2)
		Eventually(func(g Gomega) {
			c := condition(getKAP(), meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonReceiverReplicated), c.Message)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).To(ContainSubstring("Prometheus hub-monitoring/hub, the hub's receiver, runs 2 pods"))
		}).Should(Succeed())
		setHubReplicas(1)
		Eventually(func() string { return condition(getKAP(), meshv1alpha1.ConditionMetricsWired).Reason }).Should(Equal(meshv1alpha1.ReasonMetricsWired))
	})

	It("says when user-workload monitoring is off on a cluster, and how to switch it on", func() {
		setConfig := func(config string) {
			cm := &corev1.ConfigMap{}
			Expect(spoke.Get(ctx, types.NamespacedName{Namespace: clusterMonitoringNS, Name: "cluster-monitoring-config"}, cm)).To(Succeed())
			cm.Data["config.yaml"] = config
			Expect(spoke.Update(ctx, cm)).To(Succeed())
			bump()
		}
		setConfig("enableUserWorkload: false\n")
		Eventually(func(g Gomega) {
			kap := getKAP()
			st := clusterStatus(kap, "west")
			g.Expect(st.Wired).To(BeFalse())
			g.Expect(st.Reason).To(Equal(meshv1alpha1.ReasonUserWorkloadMonitoringOff))
			g.Expect(st.Message).To(ContainSubstring("set enableUserWorkload: true in the config.yaml key of ConfigMap openshift-monitoring/cluster-monitoring-config on cluster west"))
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonUserWorkloadMonitoringOff), c.Message)
			g.Expect(clusterStatus(kap, "east").Wired).To(BeTrue())
		}).Should(Succeed())
		// The entry is in place for when it is switched on.
		Expect(configMapData(spoke, uwmNS, "user-workload-monitoring-config", "config.yaml")()).To(ContainSubstring("name: " + entry))
		setConfig("enableUserWorkload: true\n")
		Eventually(func(g Gomega) {
			kap := getKAP()
			west := clusterStatus(kap, "west")
			west.Kiali = nil // Kiali's access, which other specs check
			g.Expect(west).To(Equal(meshv1alpha1.ClusterStatus{Name: "west", Wired: true, Entry: entry}))
			g.Expect(condition(kap, meshv1alpha1.ConditionMetricsWired).Reason).To(Equal(meshv1alpha1.ReasonMetricsWired))
		}).Should(Succeed())
	})

	It("leaves a ConfigMap another controller renders alone, and says the entry would be reverted", func() {
		const ossmNS = "ossm-system"
		ensureNamespace(spoke, ossmNS)
		// As an OpenShift Service Mesh 2.x control plane renders it.
		rendered := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ossmNS, Name: "prometheus", Labels: map[string]string{
				"maistra.io/owner": ossmNS, "maistra.io/owner-name": "basic", "app": "prometheus"}},
			Data: map[string]string{"prometheus.yml": plainBefore},
		}
		Expect(spoke.Create(ctx, rendered)).To(Succeed())
		Expect(hub.Create(ctx, remoteClusterSecret(hubNS, "ossm", kubeconfigFor("spoke", spokeCfg)))).To(Succeed())
		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = append(kap.Spec.Clusters, meshv1alpha1.ClusterSpec{Name: "ossm", Prometheus: &meshv1alpha1.SpokePrometheus{
				ConfigMap: &meshv1alpha1.PrometheusConfigMap{ObjectReference: meshv1alpha1.ObjectReference{Namespace: ossmNS, Name: "prometheus"}, CredentialsDir: "/etc/creds"}}})
		})
		Eventually(func(g Gomega) {
			kap := getKAP()
			st := clusterStatus(kap, "ossm")
			g.Expect(st.Wired).To(BeFalse())
			g.Expect(st.Reason).To(Equal(meshv1alpha1.ReasonRenderedByAnother))
			g.Expect(st.Message).To(ContainSubstring("ConfigMap ossm-system/prometheus on cluster ossm is rendered by ServiceMeshControlPlane ossm-system/basic"))
			g.Expect(st.Message).To(ContainSubstring("userWorkloadMonitoring"))
			g.Expect(condition(kap, meshv1alpha1.ConditionMetricsWired).Reason).To(Equal(meshv1alpha1.ReasonRenderedByAnother))
		}).Should(Succeed())
		untouched := func() {
			cm := &corev1.ConfigMap{}
			Expect(spoke.Get(ctx, client.ObjectKeyFromObject(rendered), cm)).To(Succeed())
			Expect(cm.ResourceVersion).To(Equal(rendered.ResourceVersion))
			err := spoke.Get(ctx, types.NamespacedName{Namespace: ossmNS, Name: entry}, &corev1.Secret{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the receiver credentials were copied there")
		}
		untouched()

		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = kap.Spec.Clusters[:len(kap.Spec.Clusters)-1]
		})
		Eventually(func() string { return condition(getKAP(), meshv1alpha1.ConditionMetricsWired).Reason }).Should(Equal(meshv1alpha1.ReasonMetricsWired))
		untouched()
	})

	It("says when a cluster's replicas have no label to tell them apart", func() {
		p := prometheus(promNS, "k8s")
		edit := func(f func()) {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				Expect(spoke.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
				f()
				return spoke.Update(ctx, p)
			})).To(Succeed())
			bump()
		}
		rules := func() []any {
			for _, e := range remoteWriteOf(promNS, "k8s")() {
				if m, _ := e.(map[string]any); m["name"] == entry {
					return m["writeRelabelConfigs"].([]any)
				}
			}
			return nil
		}
		edit(func() {
			Expect(unstructured.SetNestedField(p.Object, "", "spec", "replicaExternalLabelName")).To(Succeed())
		})
		Eventually(func(g Gomega) {
			kap := getKAP()
			st := clusterStatus(kap, "east")
			g.Expect(st.Wired).To(BeTrue())
			g.Expect(st.Reason).To(Equal(meshv1alpha1.ReasonNoReplicaLabel))
			g.Expect(st.Message).To(ContainSubstring("Prometheus monitoring/k8s on cluster east runs 2 replicas"))
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonNoReplicaLabel), c.Message)
			g.Expect(c.Message).To(ContainSubstring("Wired, but east: "))
			// No replica label, no rule for one.
			g.Expect(rules()).To(HaveLen(2))
		}).Should(Succeed())
		edit(func() { unstructured.RemoveNestedField(p.Object, "spec", "replicaExternalLabelName") })
		Eventually(func(g Gomega) {
			kap := getKAP()
			g.Expect(clusterStatus(kap, "east").Reason).To(BeEmpty())
			g.Expect(condition(kap, meshv1alpha1.ConditionMetricsWired).Reason).To(Equal(meshv1alpha1.ReasonMetricsWired))
			g.Expect(rules()).To(HaveLen(4))
		}).Should(Succeed())
	})

	It("reports an unreachable cluster on its own, leaving the others and the hub objects alone", func() {
		bad := strings.Replace(string(kubeconfigFor("north", spokeCfg)), spokeCfg.Host, "https://127.0.0.1:1", 1)
		Expect(hub.Create(ctx, remoteClusterSecret(hubNS, "north", []byte(bad)))).To(Succeed())
		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			kap.Spec.Clusters = append(kap.Spec.Clusters, meshv1alpha1.ClusterSpec{
				Name: "north", Prometheus: &meshv1alpha1.SpokePrometheus{Resource: &meshv1alpha1.ObjectReference{Namespace: promNS, Name: "k8s"}},
			})
		})
		Eventually(func(g Gomega) {
			kap := getKAP()
			g.Expect(kap.Status.ObservedGeneration).To(Equal(kap.Generation))
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonClusterUnreachable))
			g.Expect(c.Message).To(ContainSubstring("north: "))
			g.Expect(c.Message).To(ContainSubstring("on cluster north"))
			g.Expect(c.Message).NotTo(ContainSubstring("east:"))
			st := clusterStatus(kap, "north")
			g.Expect(st.Wired).To(BeFalse())
			g.Expect(st.Message).To(ContainSubstring("127.0.0.1:1"))
			for _, name := range []string{"east", "west", "south"} {
				g.Expect(clusterStatus(kap, name).Wired).To(BeTrue())
			}
			// The hub side is untouched by it.
			g.Expect(condition(kap, meshv1alpha1.ConditionKialiConfigured).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(kap, meshv1alpha1.ConditionExposed).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("takes its entry out of a cluster removed from the spec, leaving the user's config exactly as it was", func() {
		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			var keep []meshv1alpha1.ClusterSpec
			for _, c := range kap.Spec.Clusters {
				if c.Name != "south" {
					keep = append(keep, c)
				}
			}
			kap.Spec.Clusters = keep
		})
		Eventually(configMapData(spoke, plainNS, "prometheus", "prometheus.yml")).Should(Equal(plainBefore))
		// So are the receiver credentials copied there.
		Eventually(func() bool {
			err := spoke.Get(ctx, types.NamespacedName{Namespace: plainNS, Name: entry}, &corev1.Secret{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
	})

	It("waits on deletion for an unreachable cluster, and leaves every spoke as it was once told to give up", func() {
		kap := getKAP()
		Expect(hub.Delete(ctx, kap)).To(Succeed())
		Eventually(func(g Gomega) {
			kap := getKAP()
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonCleanupPending))
			g.Expect(c.Message).To(ContainSubstring("cluster north"))
			g.Expect(c.Message).To(ContainSubstring(meshv1alpha1.SkipRemoteCleanupAnnotation))
		}).Should(Succeed())
		// The reachable clusters are already clean.
		Eventually(remoteWriteOf(promNS, "k8s")).Should(Equal([]any{userRemoteWrite[0], map[string]any{"name": "user-new", "url": "https://new.example.com/api/v1/write"}}))
		Eventually(configMapData(spoke, uwmNS, "user-workload-monitoring-config", "config.yaml")).Should(Equal(uwmBefore))
		hp := prometheus("hub-monitoring", "hub")
		Eventually(func() map[string]any {
			Expect(hub.Get(ctx, client.ObjectKeyFromObject(hp), hp)).To(Succeed())
			return hp.Object["spec"].(map[string]any)
		}).ShouldNot(HaveKey("enableRemoteWriteReceiver"))

		updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
			if kap.Annotations == nil {
				kap.Annotations = map[string]string{}
			}
			kap.Annotations[meshv1alpha1.SkipRemoteCleanupAnnotation] = "true"
		})
		Eventually(func() bool {
			err := hub.Get(ctx, types.NamespacedName{Namespace: hubNS, Name: "kiali"}, &meshv1alpha1.KialiAuthProxy{})
			return apierrors.IsNotFound(err)
		}, "60s").Should(BeTrue())
		for _, ns := range []string{promNS, uwmNS} {
			err := spoke.Get(ctx, types.NamespacedName{Namespace: ns, Name: entry}, &corev1.Secret{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), ns)
		}
		// The user's own Secrets on the hub are untouched.
		Expect(hub.Get(ctx, types.NamespacedName{Namespace: hubNS, Name: "receiver-token"}, &corev1.Secret{})).To(Succeed())
	})
})

// spokeVersions are the resourceVersions of everything the operator may
// write on the spoke.
func spokeVersions() map[string]string {
	out := map[string]string{}
	p := prometheus(promNS, "k8s")
	Expect(spoke.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
	out["prometheus"] = p.GetResourceVersion()
	for _, o := range []struct{ ns, name string }{{uwmNS, "user-workload-monitoring-config"}, {plainNS, "prometheus"}} {
		cm := &corev1.ConfigMap{}
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: o.ns, Name: o.name}, cm)).To(Succeed())
		out[o.ns+"/"+o.name] = cm.ResourceVersion
	}
	for _, ns := range []string{promNS, uwmNS, plainNS} {
		s := &corev1.Secret{}
		Expect(spoke.Get(ctx, types.NamespacedName{Namespace: ns, Name: entry}, s)).To(Succeed())
		out["secret "+ns] = s.ResourceVersion
	}
	return out
}

// updateKAP changes the KialiAuthProxy, again on a conflict: the
// operator's own status and finalizer writes may race the test's.
func updateKAP(change func(*meshv1alpha1.KialiAuthProxy)) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		kap := getKAP()
		change(kap)
		return hub.Update(ctx, kap)
	})).To(Succeed())
}

// bump changes the spec so the CR is reconciled now.
func bump() {
	updateKAP(func(kap *meshv1alpha1.KialiAuthProxy) {
		n := int32(1)
		if kap.Spec.Proxy.Replicas != nil && *kap.Spec.Proxy.Replicas == 1 {
			n = 2
		}
		kap.Spec.Proxy.Replicas = &n
	})
}

func ptr[T any](v T) *T { return &v }
