package multicluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
)

func TestRenderedByNamesTheOwner(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name        string
		meta        metav1.ObjectMeta
		who         string
		serviceMesh bool
	}{
		{"nobody", metav1.ObjectMeta{Labels: map[string]string{"app": "prometheus"}}, "", false},
		// What OpenShift Service Mesh 2.x puts on its prometheus ConfigMap.
		{"service mesh control plane", metav1.ObjectMeta{Labels: map[string]string{
			"maistra.io/owner": "istio-system", "maistra.io/owner-name": "basic", "app": "prometheus"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ServiceMeshControlPlane", Name: "basic", Controller: &yes}}},
			"ServiceMeshControlPlane istio-system/basic (label maistra.io/owner)", true},
		{"service mesh without the name", metav1.ObjectMeta{Labels: map[string]string{"maistra.io/owner": "istio-system"}},
			"the OpenShift Service Mesh control plane of namespace istio-system (label maistra.io/owner)", true},
		{"the controlling owner first", metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
			{Kind: "Application", Name: "x"}, {Kind: "PrometheusStack", Name: "mon", Controller: &yes}}},
			"PrometheusStack mon (owner reference)", false},
		{"any owner", metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "HelmRelease", Name: "prom"}}},
			"HelmRelease prom (owner reference)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who, sm := renderedBy(&corev1.ConfigMap{ObjectMeta: tc.meta})
			if who != tc.who || sm != tc.serviceMesh {
				t.Errorf("renderedBy = %q, %v; want %q, %v", who, sm, tc.who, tc.serviceMesh)
			}
		})
	}
}

func TestUserWorkloadFindingSaysOnlyWhatItSaw(t *testing.T) {
	cm := func(config string) map[string]string { return map[string]string{"config.yaml": config} }
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "cluster-monitoring-config", errors.New("no"))
	for _, tc := range []struct {
		name     string
		data     map[string]string
		found    bool
		err      error
		reason   string
		notWired bool
		says     []string
	}{
		{"on", cm("enableUserWorkload: true\nprometheusK8s:\n  retention: 24h\n"), true, nil, "", false, nil},
		{"off", cm("enableUserWorkload: false\n"), true, nil, meshv1alpha1.ReasonUserWorkloadMonitoringOff, true,
			[]string{"off on cluster west", "sets enableUserWorkload: false", "set enableUserWorkload: true in the config.yaml key of ConfigMap openshift-monitoring/cluster-monitoring-config"}},
		{"not set", cm("prometheusK8s:\n  retention: 24h\n"), true, nil, meshv1alpha1.ReasonUserWorkloadMonitoringOff, true, []string{"does not set enableUserWorkload, which defaults to false"}},
		{"empty", cm(""), true, nil, meshv1alpha1.ReasonUserWorkloadMonitoringOff, true, []string{"does not set enableUserWorkload"}},
		{"no ConfigMap", nil, false, nil, meshv1alpha1.ReasonUserWorkloadMonitoringOff, true, []string{"does not exist", "set enableUserWorkload: true"}},
		// What it could not see, it does not call off.
		{"forbidden", nil, false, forbidden, "", false, []string{"could not be told", "forbidden"}},
		{"no config.yaml key", map[string]string{"other": "x"}, true, nil, "", false, []string{"no config.yaml key"}},
		{"not YAML", cm("enableUserWorkload: [\n"), true, nil, "", false, []string{"not YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := userWorkloadFinding("west", tc.data, tc.found, tc.err)
			if tc.reason == "" && len(tc.says) == 0 {
				if f != nil {
					t.Errorf("finding = %+v, want none", f)
				}
				return
			}
			if f == nil {
				t.Fatal("no finding")
			}
			if f.reason != tc.reason || f.notWired != tc.notWired {
				t.Errorf("reason %q notWired %v, want %q %v: %s", f.reason, f.notWired, tc.reason, tc.notWired, f.message)
			}
			for _, s := range tc.says {
				if !strings.Contains(f.message, s) {
					t.Errorf("message %q does not say %q", f.message, s)
				}
			}
		})
	}
}

func TestSenderReplicas(t *testing.T) {
	p := func(spec map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	}
	w := wiring{Cluster: "east", Namespace: "monitoring", Name: "k8s"}
	for _, tc := range []struct {
		name     string
		spec     map[string]any
		label    string
		replicas int64
		problem  bool
	}{
		{"defaults", map[string]any{}, remotewrite.DefaultReplicaLabel, 1, false},
		{"two replicas", map[string]any{"replicas": int64(2)}, remotewrite.DefaultReplicaLabel, 2, false},
		{"own label name", map[string]any{"replicas": int64(2), "replicaExternalLabelName": "replica"}, "replica", 2, false},
		{"label off, one replica", map[string]any{"replicaExternalLabelName": ""}, "", 1, false},
		{"label off, two replicas", map[string]any{"replicas": int64(2), "replicaExternalLabelName": ""}, "", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			label, replicas := senderReplicas(p(tc.spec))
			if label != tc.label || replicas != tc.replicas {
				t.Errorf("senderReplicas = %q, %d; want %q, %d", label, replicas, tc.label, tc.replicas)
			}
			f := replicaFinding(w, label, replicas)
			if (f != nil) != tc.problem {
				t.Fatalf("finding = %+v", f)
			}
			if f != nil && (f.reason != meshv1alpha1.ReasonNoReplicaLabel || f.notWired || !strings.Contains(f.message, "monitoring/k8s on cluster east runs 2 replicas") ||
				!strings.Contains(f.message, "remove spec.replicaExternalLabelName")) {
				t.Errorf("finding = %+v", f)
			}
		})
	}
}

// spokeClient is a fake cluster that counts writes and can refuse reads of
// one ConfigMap.
func spokeClient(writes *int, forbid string, objs ...client.Object) client.Client {
	count := func() { *writes++ }
	return fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if key.Namespace+"/"+key.Name == forbid {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, key.Name, errors.New("the kubeconfig's user may not"))
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count()
			return c.Create(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count()
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
			count()
			return nil
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			count()
			return c.Delete(ctx, obj, opts...)
		},
	}).Build()
}

func testEntry(cluster string) remotewrite.Entry {
	return remotewrite.Entry{Name: "kialiauthproxy-kiali-kiali", URL: "https://hub.example.com/api/v1/write",
		KeepRegex: remotewrite.DefaultKeepRegex, ClusterLabel: remotewrite.DefaultClusterLabel, Cluster: cluster,
		ReplicaLabel: remotewrite.DefaultReplicaLabel, Auth: remotewrite.Auth{Secret: "kialiauthproxy-kiali-kiali", BearerToken: true, Dir: "/etc/creds"}}
}

// The Service Mesh control plane renders its prometheus ConfigMap from a
// template: the operator reports that the entry would be reverted, and
// writes nothing there, not even the credentials.
func TestWireLeavesARenderedConfigMapAlone(t *testing.T) {
	ctx := context.Background()
	config := "global:\n  scrape_interval: 15s\n"
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "prometheus", ResourceVersion: "5",
			Labels: map[string]string{"maistra.io/owner": "istio-system", "maistra.io/owner-name": "basic"}},
		Data: map[string]string{"prometheus.yml": config},
	}
	var writes int
	cl := spokeClient(&writes, "", cm)
	w := wiring{Cluster: "south", Sender: senderConfigMap, Namespace: "istio-system", Name: "prometheus", Key: "prometheus.yml", Entry: "kialiauthproxy-kiali-kiali"}
	_, f, err := wire(ctx, cl, w, testEntry("south"), map[string][]byte{"token": []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	st := clusterStatusOf(meshv1alpha1.ClusterStatus{Name: "south"}, f, err)
	if st.Wired || st.Reason != meshv1alpha1.ReasonRenderedByAnother {
		t.Errorf("status = %+v", st)
	}
	for _, s := range []string{"ConfigMap istio-system/prometheus on cluster south", "ServiceMeshControlPlane istio-system/basic", "revert", "userWorkloadMonitoring"} {
		if !strings.Contains(st.Message, s) {
			t.Errorf("message %q does not say %q", st.Message, s)
		}
	}
	if writes != 0 {
		t.Errorf("%d writes on a ConfigMap another controller renders", writes)
	}

	// The same ConfigMap, rendered by nobody, is wired.
	cm2 := cm.DeepCopy()
	cm2.Labels = nil
	writes = 0
	_, f, err = wire(ctx, spokeClient(&writes, "", cm2), w, testEntry("south"), nil)
	if st := clusterStatusOf(meshv1alpha1.ClusterStatus{Name: "south"}, f, err); !st.Wired || st.Reason != "" || writes != 1 {
		t.Errorf("unowned: status %+v after %d writes", st, writes)
	}
}

func TestWireUserWorkloadMonitoringReportsWhetherItIsOn(t *testing.T) {
	ctx := context.Background()
	w := wiring{Cluster: "west", Sender: senderUserWorkloadMonitoring, Namespace: uwmNamespace, Name: uwmConfigMap, Key: uwmKey, Entry: "kialiauthproxy-kiali-kiali"}
	cmc := func(config string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-monitoring", Name: "cluster-monitoring-config"},
			Data: map[string]string{"config.yaml": config}}
	}
	for _, tc := range []struct {
		name   string
		objs   []client.Object
		forbid string
		wired  bool
		reason string
		says   string
	}{
		{"on", []client.Object{cmc("enableUserWorkload: true\n")}, "", true, "", ""},
		{"off", []client.Object{cmc("enableUserWorkload: false\n")}, "", false, meshv1alpha1.ReasonUserWorkloadMonitoringOff, "set enableUserWorkload: true"},
		{"no configuration", nil, "", false, meshv1alpha1.ReasonUserWorkloadMonitoringOff, "does not exist"},
		{"may not read it", nil, "openshift-monitoring/cluster-monitoring-config", true, "", "could not be told"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var writes int
			_, f, err := wire(ctx, spokeClient(&writes, tc.forbid, tc.objs...), w, testEntry("west"), nil)
			st := clusterStatusOf(meshv1alpha1.ClusterStatus{Name: "west"}, f, err)
			if st.Wired != tc.wired || st.Reason != tc.reason || !strings.Contains(st.Message, tc.says) {
				t.Errorf("status = %+v", st)
			}
			// The entry is written either way: configuring user-workload
			// monitoring is the operator's, switching it on the user's.
			if writes != 1 {
				t.Errorf("%d writes, want the ConfigMap created", writes)
			}
		})
	}
}
