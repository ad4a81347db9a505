// Package statusmetrics serves each KialiAuthProxy's stored status as
// Prometheus series, so that alerts can be written on what
// `kubectl describe kialiauthproxy` shows.
//
// The series are computed at scrape time from a reader (the manager's
// cache, which holds every KialiAuthProxy anyway): nothing is kept between
// scrapes, so a deleted KialiAuthProxy, a condition no longer reported or a
// cluster that left the status has no series from the next scrape on.
package statusmetrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// The series' names; the README's metrics table and config/prometheus use
// them.
const (
	ConditionMetric          = "kialiauthproxy_condition"
	ConditionGoodMetric      = "kialiauthproxy_condition_good"
	TokenExpiryMetric        = "kialiauthproxy_cluster_token_expiry_timestamp_seconds"
	LastSampleAgeMetric      = "kialiauthproxy_cluster_last_sample_age_seconds"
	ClusterMetricsFlowMetric = "kialiauthproxy_cluster_metrics_flowing"
)

// statuses are the values of a condition's status, each of which gets a
// series: 1 for the current one, 0 for the others, so that a change of
// status is a change of value rather than a series that ends.
var statuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

var (
	objectLabels  = []string{"namespace", "name"}
	clusterLabels = []string{"namespace", "name", "cluster"}

	conditionDesc = prometheus.NewDesc(ConditionMetric,
		"A condition of the KialiAuthProxy's status: 1 for its current status, 0 for the other two.",
		append(objectLabels, "type", "status"), nil)
	conditionGoodDesc = prometheus.NewDesc(ConditionGoodMetric,
		"1 when the condition's status is good news (True for most, False for Degraded and the warnings), else 0.",
		append(objectLabels, "type"), nil)
	tokenExpiryDesc = prometheus.NewDesc(TokenExpiryMetric,
		"When the token of Kiali's Managed access to the cluster expires, in seconds since the epoch (status.clusters[].kiali.tokenExpiresAt).",
		clusterLabels, nil)
	lastSampleAgeDesc = prometheus.NewDesc(LastSampleAgeMetric,
		"Age of the cluster's newest sample at the hub when it was last checked (status.clusters[].lastSampleAge).",
		clusterLabels, nil)
	metricsFlowingDesc = prometheus.NewDesc(ClusterMetricsFlowMetric,
		"1 when the hub holds a recent enough sample from the cluster, else 0 (status.clusters[].metricsFlowing).",
		clusterLabels, nil)
)

// listTimeout bounds a scrape's read: the cache answers at once once it is
// synced, and a scrape that waits longer than Prometheus's timeout is lost
// anyway.
const listTimeout = 5 * time.Second

// Collector emits the status series of the KialiAuthProxies that Reader
// lists.
type Collector struct {
	Reader client.Reader
}

var _ prometheus.Collector = (*Collector)(nil)

// Describe sends the descriptors of every series the collector emits.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{conditionDesc, conditionGoodDesc, tokenExpiryDesc, lastSampleAgeDesc, metricsFlowingDesc} {
		ch <- d
	}
}

// Collect lists the KialiAuthProxies and sends their series. A failed list
// sends none: an invalid metric would fail the whole scrape, every other
// series of the endpoint with it.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	list := &meshv1alpha1.KialiAuthProxyList{}
	if err := c.Reader.List(ctx, list); err != nil {
		logf.Log.WithName("statusmetrics").Error(err, "listing KialiAuthProxies for their status metrics")
		return
	}
	for i := range list.Items {
		collectOne(ch, &list.Items[i])
	}
}

func collectOne(ch chan<- prometheus.Metric, kap *meshv1alpha1.KialiAuthProxy) {
	ns, name := kap.Namespace, kap.Name
	// The API server keeps one condition per type and one cluster per name;
	// the checks stand anyway, because a series sent twice fails the scrape.
	seen := map[string]bool{}
	for _, cond := range kap.Status.Conditions {
		if seen[cond.Type] {
			continue
		}
		seen[cond.Type] = true
		for _, s := range statuses {
			ch <- prometheus.MustNewConstMetric(conditionDesc, prometheus.GaugeValue, boolValue(cond.Status == s), ns, name, cond.Type, string(s))
		}
		if spec, ok := meshv1alpha1.ConditionSpecOf(cond.Type); ok {
			ch <- prometheus.MustNewConstMetric(conditionGoodDesc, prometheus.GaugeValue, boolValue(spec.IsGood(cond)), ns, name, cond.Type)
		}
	}
	seen = map[string]bool{}
	for _, cl := range kap.Status.Clusters {
		if seen[cl.Name] {
			continue
		}
		seen[cl.Name] = true
		if cl.MetricsFlowing != nil {
			ch <- prometheus.MustNewConstMetric(metricsFlowingDesc, prometheus.GaugeValue, boolValue(*cl.MetricsFlowing), ns, name, cl.Name)
		}
		if cl.LastSampleAge != "" {
			// An age that does not parse is left out rather than reported as
			// 0, which would read as fresh metrics.
			if age, err := time.ParseDuration(cl.LastSampleAge); err == nil {
				ch <- prometheus.MustNewConstMetric(lastSampleAgeDesc, prometheus.GaugeValue, age.Seconds(), ns, name, cl.Name)
			}
		}
		if cl.Kiali != nil && cl.Kiali.TokenExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, float64(cl.Kiali.TokenExpiresAt.Unix()), ns, name, cl.Name)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Runnable has reg serve c while the manager runs, and stop when it stops,
// so that a manager started again in the same process (as tests do)
// registers anew. A second manager running at the same time in one process
// serves no status series of its own: its collector would send every
// series a second time, which fails the scrape.
func Runnable(reg prometheus.Registerer, c prometheus.Collector) manager.Runnable {
	return registration{reg: reg, c: c}
}

type registration struct {
	reg prometheus.Registerer
	c   prometheus.Collector
}

// NeedLeaderElection is false: every replica's cache holds the status, so
// a standby serves the same series and they do not pause on a change of
// leader.
func (r registration) NeedLeaderElection() bool { return false }

func (r registration) Start(ctx context.Context) error {
	if err := r.reg.Register(r.c); err != nil {
		if !errors.As(err, &prometheus.AlreadyRegisteredError{}) {
			return err
		}
		logf.FromContext(ctx).Info("another manager of this process serves the KialiAuthProxy status metrics")
		<-ctx.Done()
		return nil
	}
	defer r.reg.Unregister(r.c)
	<-ctx.Done()
	return nil
}
