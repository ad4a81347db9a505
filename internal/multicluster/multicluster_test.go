package multicluster

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

func multiClusterKAP() *meshv1alpha1.KialiAuthProxy {
	return &meshv1alpha1.KialiAuthProxy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kiali", Name: "kiali"},
		Spec: meshv1alpha1.KialiAuthProxySpec{
			Clusters: []meshv1alpha1.ClusterSpec{
				{Name: "east", Prometheus: &meshv1alpha1.SpokePrometheus{Resource: &meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "k8s"}}},
				{Name: "west", Kubeconfig: &meshv1alpha1.SecretKeyReference{Name: "west-writer"},
					Prometheus: &meshv1alpha1.SpokePrometheus{UserWorkloadMonitoring: &meshv1alpha1.UserWorkloadMonitoringTarget{}}},
				{Name: "south", Prometheus: &meshv1alpha1.SpokePrometheus{ConfigMap: &meshv1alpha1.PrometheusConfigMap{
					ObjectReference: meshv1alpha1.ObjectReference{Namespace: "istio-system", Name: "prometheus"}, CredentialsDir: "/etc/creds"}}},
				{Name: "kiali-only"},
			},
			Metrics: &meshv1alpha1.MetricsSpec{Receiver: meshv1alpha1.ReceiverSpec{
				URL: "https://hub.example.com/api/v1/write", BasicAuth: &meshv1alpha1.SecretReference{Name: "rw"}}},
		},
	}
}

func TestDesiredWiringsFollowTheSpec(t *testing.T) {
	d := multiClusterKAP().WithDefaults("")
	n := render.NamesFor(d)
	got := desiredWirings(d, n)
	want := []wiring{
		{Cluster: "east", Kubeconfig: render.SecretKey{Name: "kiali-remote-cluster-secret-east", Key: "east"}, Sender: senderResource, Namespace: "monitoring", Name: "k8s", Entry: "kialiauthproxy-kiali-kiali"},
		{Cluster: "west", Kubeconfig: render.SecretKey{Name: "west-writer", Key: "west"}, Sender: senderUserWorkloadMonitoring, Namespace: uwmNamespace, Name: uwmConfigMap, Key: uwmKey, Entry: "kialiauthproxy-kiali-kiali"},
		{Cluster: "south", Kubeconfig: render.SecretKey{Name: "kiali-remote-cluster-secret-south", Key: "south"}, Sender: senderConfigMap, Namespace: "istio-system", Name: "prometheus", Key: "prometheus.yml", Entry: "kialiauthproxy-kiali-kiali"},
	}
	if len(got) != len(want) {
		t.Fatalf("wirings = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("wiring %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}

	e := entryFor(d, n, d.Spec.Clusters[2], "reader")
	if e.Cluster != "south" || e.ClusterLabel != "cluster" || e.KeepRegex != "istio_.*|envoy_.*|up" || e.ReplicaLabel != "prometheus_replica" ||
		!e.Auth.BasicAuth || e.Auth.Username != "reader" || e.Auth.Dir != "/etc/creds" || e.Auth.Secret != n.RemoteWriteEntry {
		t.Errorf("entry = %+v", e)
	}
}

func TestRecordJSONIsStable(t *testing.T) {
	a := wiring{Cluster: "a", Sender: senderResource, Namespace: "m", Name: "p", Entry: "e"}
	b := wiring{Cluster: "b", Sender: senderConfigMap, Namespace: "m", Name: "c", Key: "k", Entry: "e"}
	x, err := recordJSON(&record{Wirings: []wiring{b, a}})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := recordJSON(&record{Wirings: []wiring{a, b}})
	if x != y {
		t.Errorf("order changed the record:\n%s\n%s", x, y)
	}
	if got := unionWirings([]wiring{a}, []wiring{a, b}); len(got) != 2 {
		t.Errorf("union = %+v", got)
	}
}

func TestMetricsWiredNamesWhatIsWrong(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		rep    Report
		status metav1.ConditionStatus
		reason string
		says   []string
	}{
		{"wired, not checked", Report{receiverURL: "https://hub/w", statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionTrue, meshv1alpha1.ReasonMetricsWired, []string{"east", "https://hub/w", "not checked"}},
		{"flowing", Report{verified: true, queryURL: "http://q", statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true, MetricsFlowing: &yes}}},
			metav1.ConditionTrue, meshv1alpha1.ReasonMetricsFlowing, []string{"east", "http://q"}},
		{"one unreachable", Report{failed: []string{"west"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "east", Wired: true}, {Name: "west", Message: "cannot write on cluster west: dial tcp"}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonClusterUnreachable, []string{"west: cannot write on cluster west: dial tcp", "not affected"}},
		{"silent", Report{verified: true, queryURL: "http://q", silent: []string{"west"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "east", Wired: true, MetricsFlowing: &yes}, {Name: "west", Wired: true, MetricsFlowing: &no}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonMetricsNotFlowing, []string{"from west"}},
		{"query failed", Report{verifyErr: errors.New("connection refused"), statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonVerificationFailed, []string{"connection refused", "spec.metrics.verify"}},
		{"left behind", Report{leftovers: []string{"ConfigMap a/b key k on cluster gone: timeout"}},
			metav1.ConditionFalse, meshv1alpha1.ReasonRemovalPending, []string{"cluster gone", meshv1alpha1.SkipRemoteCleanupAnnotation}},
		{"receiver", Report{receiverErr: errors.New("Prometheus m/hub does not exist"), statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonReceiverFailed, []string{"m/hub"}},
		{"receiver not allowed", Report{receiverErr: &notAllowedError{namespace: "kiali", ref: meshv1alpha1.ObjectReference{Namespace: "team-b", Name: "prom"}},
			statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonReceiverNotAllowed, []string{"team-b/prom", "mesh.kialiauth.io/allowed-namespaces=kiali", "wrote nothing"}},
		{"receiver replicated", Report{receiver: &meshv1alpha1.ObjectReference{Namespace: "m", Name: "hub"}, hubPods: 2,
			statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonReceiverReplicated, []string{"Prometheus m/hub", "runs 2 pods", "one replica"}},
		{"one pod", Report{receiver: &meshv1alpha1.ObjectReference{Namespace: "m", Name: "hub"}, hubPods: 1, receiverURL: "https://hub/w",
			statuses: []meshv1alpha1.ClusterStatus{{Name: "east", Wired: true}}},
			metav1.ConditionTrue, meshv1alpha1.ReasonMetricsWired, []string{"east"}},
		{"rendered by another", Report{failed: []string{"south"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "east", Wired: true}, {Name: "south", Reason: meshv1alpha1.ReasonRenderedByAnother, Message: "ConfigMap istio-system/prometheus on cluster south is rendered by ServiceMeshControlPlane istio-system/basic"}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonRenderedByAnother, []string{"Not wired: south: ConfigMap istio-system/prometheus", "not affected"}},
		{"user-workload monitoring off", Report{failed: []string{"west"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "west", Reason: meshv1alpha1.ReasonUserWorkloadMonitoringOff, Message: "user-workload monitoring is off on cluster west"}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonUserWorkloadMonitoringOff, []string{"west: user-workload monitoring is off"}},
		{"wired, but replicas alike", Report{failed: []string{"east"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "east", Wired: true, Reason: meshv1alpha1.ReasonNoReplicaLabel, Message: "Prometheus monitoring/k8s on cluster east runs 2 replicas"}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonNoReplicaLabel, []string{"Wired, but east: Prometheus monitoring/k8s"}},
		// The first cluster with a problem names the reason; the message
		// names them all, those not wired first.
		{"several", Report{failed: []string{"east", "west"}, statuses: []meshv1alpha1.ClusterStatus{
			{Name: "east", Wired: true, Reason: meshv1alpha1.ReasonNoReplicaLabel, Message: "two replicas"},
			{Name: "west", Reason: meshv1alpha1.ReasonClusterUnreachable, Message: "dial tcp"}}},
			metav1.ConditionFalse, meshv1alpha1.ReasonNoReplicaLabel, []string{"Not wired: west: dial tcp. Wired, but east: two replicas"}},
		// A status that only informs is no problem.
		{"a note", Report{receiverURL: "https://hub/w", statuses: []meshv1alpha1.ClusterStatus{
			{Name: "west", Wired: true, Message: "wired, but whether user-workload monitoring is on could not be told"}}},
			metav1.ConditionTrue, meshv1alpha1.ReasonMetricsWired, []string{"west"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.rep.Condition(conditions.For(&meshv1alpha1.KialiAuthProxy{}))
			if c.Status != tc.status || c.Reason != tc.reason {
				t.Errorf("%s/%s: %s", c.Status, c.Reason, c.Message)
			}
			for _, s := range tc.says {
				if !strings.Contains(c.Message, s) {
					t.Errorf("message %q does not say %q", c.Message, s)
				}
			}
		})
	}
}
