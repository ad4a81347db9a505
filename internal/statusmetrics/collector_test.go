package statusmetrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func newScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := meshv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func kap(ns, name string, conds []metav1.Condition, clusters ...meshv1alpha1.ClusterStatus) *meshv1alpha1.KialiAuthProxy {
	return &meshv1alpha1.KialiAuthProxy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status:     meshv1alpha1.KialiAuthProxyStatus{Conditions: conds, Clusters: clusters},
	}
}

func cond(t string, s metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: "Test", LastTransitionTime: metav1.Now()}
}

func ptr[T any](v T) *T { return &v }

// The series' help lines, as the text exposition writes them.
func header(metric string, desc *prometheus.Desc) string {
	help := strings.Split(desc.String(), `help: "`)[1]
	help = help[:strings.Index(help, `"`)]
	return fmt.Sprintf("# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric)
}

// One series per condition and status value, the polarity of the table in
// good, and per cluster only what its status holds.
func TestCollect(t *testing.T) {
	expires := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	objs := []client.Object{
		kap("kiali", "kiali", []metav1.Condition{
			cond(meshv1alpha1.ConditionReady, metav1.ConditionFalse),
			cond(meshv1alpha1.ConditionDegraded, metav1.ConditionTrue),
			cond(meshv1alpha1.ConditionMetricsWired, metav1.ConditionUnknown),
		},
			meshv1alpha1.ClusterStatus{Name: "east", MetricsFlowing: ptr(true), LastSampleAge: "12s",
				Kiali: &meshv1alpha1.KialiClusterStatus{TokenExpiresAt: &metav1.Time{Time: expires}}},
			meshv1alpha1.ClusterStatus{Name: "west", MetricsFlowing: ptr(false), LastSampleAge: "7m30s",
				Kiali: &meshv1alpha1.KialiClusterStatus{Listed: true}},
			// Nothing checked yet, and an age that does not parse: no series.
			meshv1alpha1.ClusterStatus{Name: "north", LastSampleAge: "soon"},
		),
		kap("team-a", "console", []metav1.Condition{
			cond(meshv1alpha1.ConditionReady, metav1.ConditionTrue),
			// A type the operator does not report has no good series.
			cond("Custom", metav1.ConditionTrue),
		}),
	}
	c := &Collector{Reader: fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(objs...).Build()}

	want := header(ConditionMetric, conditionDesc) + `
kialiauthproxy_condition{name="console",namespace="team-a",status="False",type="Custom"} 0
kialiauthproxy_condition{name="console",namespace="team-a",status="False",type="Ready"} 0
kialiauthproxy_condition{name="console",namespace="team-a",status="True",type="Custom"} 1
kialiauthproxy_condition{name="console",namespace="team-a",status="True",type="Ready"} 1
kialiauthproxy_condition{name="console",namespace="team-a",status="Unknown",type="Custom"} 0
kialiauthproxy_condition{name="console",namespace="team-a",status="Unknown",type="Ready"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="False",type="Degraded"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="False",type="MetricsWired"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="False",type="Ready"} 1
kialiauthproxy_condition{name="kiali",namespace="kiali",status="True",type="Degraded"} 1
kialiauthproxy_condition{name="kiali",namespace="kiali",status="True",type="MetricsWired"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="True",type="Ready"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="Unknown",type="Degraded"} 0
kialiauthproxy_condition{name="kiali",namespace="kiali",status="Unknown",type="MetricsWired"} 1
kialiauthproxy_condition{name="kiali",namespace="kiali",status="Unknown",type="Ready"} 0
` + header(ConditionGoodMetric, conditionGoodDesc) + `
kialiauthproxy_condition_good{name="console",namespace="team-a",type="Ready"} 1
kialiauthproxy_condition_good{name="kiali",namespace="kiali",type="Degraded"} 0
kialiauthproxy_condition_good{name="kiali",namespace="kiali",type="MetricsWired"} 0
kialiauthproxy_condition_good{name="kiali",namespace="kiali",type="Ready"} 0
` + header(TokenExpiryMetric, tokenExpiryDesc) + fmt.Sprintf(`
kialiauthproxy_cluster_token_expiry_timestamp_seconds{cluster="east",name="kiali",namespace="kiali"} %d
`, expires.Unix()) + header(LastSampleAgeMetric, lastSampleAgeDesc) + `
kialiauthproxy_cluster_last_sample_age_seconds{cluster="east",name="kiali",namespace="kiali"} 12
kialiauthproxy_cluster_last_sample_age_seconds{cluster="west",name="kiali",namespace="kiali"} 450
` + header(ClusterMetricsFlowMetric, metricsFlowingDesc) + `
kialiauthproxy_cluster_metrics_flowing{cluster="east",name="kiali",namespace="kiali"} 1
kialiauthproxy_cluster_metrics_flowing{cluster="west",name="kiali",namespace="kiali"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

// Good follows the table's polarity for every condition type the
// operator reports, so that alerts need not know it.
func TestGoodFollowsTheTable(t *testing.T) {
	for _, spec := range meshv1alpha1.Conditions {
		bad := metav1.ConditionFalse
		if spec.Good == metav1.ConditionFalse {
			bad = metav1.ConditionTrue
		}
		for s, want := range map[metav1.ConditionStatus]float64{spec.Good: 1, bad: 0, metav1.ConditionUnknown: 0} {
			c := &Collector{Reader: fake.NewClientBuilder().WithScheme(newScheme(t)).
				WithObjects(kap("ns", "kap", []metav1.Condition{cond(spec.Type, s)})).Build()}
			wantText := header(ConditionGoodMetric, conditionGoodDesc) +
				fmt.Sprintf("kialiauthproxy_condition_good{name=\"kap\",namespace=\"ns\",type=%q} %v\n", spec.Type, want)
			if err := testutil.CollectAndCompare(c, strings.NewReader(wantText), ConditionGoodMetric); err != nil {
				t.Errorf("%s=%s: %v", spec.Type, s, err)
			}
		}
	}
}

// The series follow the stored objects from one scrape to the next: a
// deleted KialiAuthProxy, and a cluster that left its status, have none.
func TestSeriesOfWhatIsGoneDisappear(t *testing.T) {
	ctx := context.Background()
	first := kap("a", "first", []metav1.Condition{cond(meshv1alpha1.ConditionReady, metav1.ConditionTrue)},
		meshv1alpha1.ClusterStatus{Name: "east", MetricsFlowing: ptr(true), LastSampleAge: "1s"},
		meshv1alpha1.ClusterStatus{Name: "west", MetricsFlowing: ptr(true), LastSampleAge: "2s"})
	second := kap("b", "second", []metav1.Condition{cond(meshv1alpha1.ConditionReady, metav1.ConditionTrue)})
	k := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(first, second).WithStatusSubresource(first).Build()
	c := &Collector{Reader: k}
	count := func(metric string) int { return testutil.CollectAndCount(c, metric) }
	if got := count(ConditionMetric); got != 6 {
		t.Fatalf("%d condition series, want 6", got)
	}
	if got := count(ClusterMetricsFlowMetric); got != 2 {
		t.Fatalf("%d metrics_flowing series, want 2", got)
	}

	if err := k.Delete(ctx, second); err != nil {
		t.Fatal(err)
	}
	if got := count(ConditionMetric); got != 3 {
		t.Errorf("%d condition series after a deletion, want 3", got)
	}
	if err := k.Get(ctx, client.ObjectKeyFromObject(first), first); err != nil {
		t.Fatal(err)
	}
	first.Status.Clusters = first.Status.Clusters[:1]
	if err := k.Status().Update(ctx, first); err != nil {
		t.Fatal(err)
	}
	want := header(ClusterMetricsFlowMetric, metricsFlowingDesc) +
		`kialiauthproxy_cluster_metrics_flowing{cluster="east",name="first",namespace="a"} 1` + "\n"
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), ClusterMetricsFlowMetric); err != nil {
		t.Error(err)
	}
	if got := count(LastSampleAgeMetric); got != 1 {
		t.Errorf("%d last_sample_age series after west left, want 1", got)
	}
}

// A status with a type or a cluster twice (which the API server does not
// store) still scrapes: a series sent twice would fail the whole endpoint.
func TestDuplicatesDoNotFailTheScrape(t *testing.T) {
	obj := kap("ns", "kap", []metav1.Condition{
		cond(meshv1alpha1.ConditionReady, metav1.ConditionTrue),
		cond(meshv1alpha1.ConditionReady, metav1.ConditionFalse),
	},
		meshv1alpha1.ClusterStatus{Name: "east", MetricsFlowing: ptr(true)},
		meshv1alpha1.ClusterStatus{Name: "east", MetricsFlowing: ptr(false)})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&Collector{Reader: fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(obj).Build()})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 3 {
		t.Errorf("%d families, want condition, condition_good and metrics_flowing", len(families))
	}
}

// A failed list sends no series and no error: the endpoint's other series
// are still served.
func TestListErrorSendsNothing(t *testing.T) {
	k := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("cache not started")
		},
	}).Build()
	reg := prometheus.NewRegistry()
	reg.MustRegister(&Collector{Reader: k})
	families, err := reg.Gather()
	if err != nil || len(families) != 0 {
		t.Errorf("gathered %d families, err %v; want none and no error", len(families), err)
	}
}

// The runnable registers the collector while its manager runs and
// unregisters it when it stops; a second one at the same time serves
// nothing and does not fail its manager.
func TestRunnable(t *testing.T) {
	reg := prometheus.NewRegistry()
	reader := fake.NewClientBuilder().WithScheme(newScheme(t)).
		WithObjects(kap("ns", "kap", []metav1.Condition{cond(meshv1alpha1.ConditionReady, metav1.ConditionTrue)})).Build()
	gathered := func() int {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		return len(families)
	}
	start := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Runnable(reg, &Collector{Reader: reader}).Start(ctx) }()
		return cancel, done
	}
	waitFor := func(want int) {
		deadline := time.Now().Add(5 * time.Second)
		for gathered() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d families gathered, want %d", gathered(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	stopA, doneA := start()
	waitFor(2)
	stopB, doneB := start()
	time.Sleep(50 * time.Millisecond)
	waitFor(2) // B sends nothing twice
	stopB()
	if err := <-doneB; err != nil {
		t.Errorf("the second runnable: %v", err)
	}
	waitFor(2) // A still serves
	stopA()
	if err := <-doneA; err != nil {
		t.Errorf("the first runnable: %v", err)
	}
	waitFor(0)
	if Runnable(reg, &Collector{}).(interface{ NeedLeaderElection() bool }).NeedLeaderElection() {
		t.Error("only the leader would serve the status series")
	}
}
