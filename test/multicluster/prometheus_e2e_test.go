package multicluster

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Real Prometheus servers (Debian's prometheus package) on loopback: a hub
// with the remote-write receiver on, and two replicas of the spoke's
// Prometheus, both started with the configuration the operator wrote into
// the spoke's ConfigMap. Like the Prometheus Operator's replicas, they
// differ only in their prometheus_replica external label (the pod's name),
// and scrape the same targets: the first replica and a mesh workload
// whose istio_requests_total rises by meshRate a second.
var _ = Describe("Metrics from a spoke reach the hub", Ordered, func() {
	const (
		ns        = "e2e"
		spokeNS   = "e2e-prometheus"
		cmName    = "prometheus"
		entryName = "kialiauthproxy-e2e-mesh"
		meshRate  = 10.0
	)
	var hubURL, hubAddr, spokeAddr, replicaAddr, meshAddr string
	meshKAP := func(g Gomega) *meshv1alpha1.KialiAuthProxy {
		kap := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(hub.Get(ctx, types.NamespacedName{Namespace: ns, Name: "mesh"}, kap)).To(Succeed())
		return kap
	}

	BeforeAll(func() {
		for _, bin := range []string{"prometheus", "promtool"} {
			_, err := exec.LookPath(bin)
			Expect(err).NotTo(HaveOccurred(), "%s is needed: install Debian's prometheus package (make tools)", bin)
		}
		hubAddr = freeAddr()
		spokeAddr = freeAddr()
		replicaAddr = freeAddr()
		meshAddr = startMeshWorkload(meshRate)
		hubURL = "http://" + hubAddr
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "hub.yml"), []byte("global:\n  scrape_interval: 1m\n"), 0o644)).To(Succeed())
		startPrometheus(filepath.Join(dir, "hub.yml"), filepath.Join(dir, "hub-data"), hubAddr, "--web.enable-remote-write-receiver")
	})

	It("wires the spoke's prometheus.yml, and reports MetricsWired once the hub holds the spoke's series", func() {
		ensureNamespace(hub, ns)
		ensureNamespace(spoke, spokeNS)
		// ${POD_NAME} is expanded by each replica (expand-external-labels),
		// as the Prometheus Operator's config reloader does with $(POD_NAME).
		before := fmt.Sprintf("global:\n  scrape_interval: 1s\n  external_labels:\n    prometheus_replica: ${POD_NAME}\n"+
			"scrape_configs:\n- job_name: self\n  static_configs:\n  - targets: [%q]\n- job_name: mesh\n  static_configs:\n  - targets: [%q]\n",
			spokeAddr, meshAddr)
		Expect(spoke.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: spokeNS, Name: cmName},
			Data:       map[string]string{"prometheus.yml": before},
		})).To(Succeed())
		Expect(hub.Create(ctx, remoteClusterSecret(ns, "east", kubeconfigFor("spoke", spokeCfg)))).To(Succeed())

		kap := &meshv1alpha1.KialiAuthProxy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh"},
			Spec: meshv1alpha1.KialiAuthProxySpec{
				Kiali: meshv1alpha1.KialiSpec{Prometheus: &meshv1alpha1.PrometheusSpec{URL: hubURL}},
				Exposure: meshv1alpha1.ExposureSpec{
					Host:           "kiali.apps.hub.example.com",
					VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/mesh-gateway"}},
				},
				Clusters: []meshv1alpha1.ClusterSpec{{
					Name: "east",
					Prometheus: &meshv1alpha1.SpokePrometheus{ConfigMap: &meshv1alpha1.PrometheusConfigMap{
						ObjectReference: meshv1alpha1.ObjectReference{Namespace: spokeNS, Name: cmName},
					}},
				}},
				Metrics: &meshv1alpha1.MetricsSpec{
					Receiver: meshv1alpha1.ReceiverSpec{URL: hubURL + "/api/v1/write"},
					// The query URL defaults to Kiali's Prometheus: the hub.
					Verify: &meshv1alpha1.VerifySpec{Interval: &metav1.Duration{Duration: 2 * time.Second}},
				},
			},
		}
		Expect(hub.Create(ctx, kap)).To(Succeed())

		// Before the spoke runs, the hub has nothing from it, and says so.
		Eventually(func(g Gomega) {
			kap := meshKAP(g)
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonMetricsNotFlowing), c.Message)
			g.Expect(c.Message).To(ContainSubstring("from east"))
			g.Expect(clusterStatus(kap, "east").MetricsFlowing).To(Equal(ptr(false)))
		}).Should(Succeed())

		// Run the spoke with exactly what the operator wrote.
		config := configMapData(spoke, spokeNS, cmName, "prometheus.yml")()
		Expect(config).To(HavePrefix(before))
		Expect(config).To(ContainSubstring(entryName))
		dir := GinkgoT().TempDir()
		file := filepath.Join(dir, "prometheus.yml")
		Expect(os.WriteFile(file, []byte(config), 0o644)).To(Succeed())
		out, err := exec.Command("promtool", "check", "config", file).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		// Two replicas, one configuration.
		expand := "--enable-feature=expand-external-labels"
		startPrometheusAs("prometheus-east-0", file, filepath.Join(dir, "data-0"), spokeAddr, expand)
		startPrometheusAs("prometheus-east-1", file, filepath.Join(dir, "data-1"), replicaAddr, expand)

		Eventually(func() []map[string]string {
			return series(hubURL, `up{cluster="east"}`)
		}, "90s", "1s").Should(ContainElement(HaveKeyWithValue("job", "self")))

		Eventually(func(g Gomega) {
			kap := meshKAP(g)
			c := condition(kap, meshv1alpha1.ConditionMetricsWired)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonMetricsFlowing))
			st := clusterStatus(kap, "east")
			g.Expect(st.MetricsFlowing).To(Equal(ptr(true)))
			g.Expect(st.LastSampleAge).NotTo(BeEmpty())
		}, "60s", "500ms").Should(Succeed())

		// The hub holds each series once, without the replica label, and
		// exactly the first replica's samples: its rate is that replica's,
		// where a hub holding both replicas' series would sum to twice it.
		// Evaluated where the hub has every sample of the window (the
		// sender flushes at least every 5s); the 10s rates, whose windows
		// are full, show both replicas see the workload's rate.
		Eventually(func(g Gomega) {
			at := float64(time.Now().Add(-7*time.Second).UnixMilli()) / 1000
			g.Expect(scalar(hubURL, `count_over_time(istio_requests_total[1m])`, at)).To(BeNumerically(">=", 15), "15s of samples at the hub")
			g.Expect(scalar(hubURL, `max(timestamp(istio_requests_total))`, at+1)).To(BeNumerically(">=", at))
			const rate, short = `sum(rate(istio_requests_total[1m]))`, `sum(rate(istio_requests_total[10s]))`
			hubRate, first := scalar(hubURL, rate, at), scalar("http://"+spokeAddr, rate, at)
			GinkgoWriter.Printf("%s at %.3f: hub %v, first replica %v, second replica %v; %s: hub %v, second replica %v\n", rate, at,
				hubRate, first, scalar("http://"+replicaAddr, rate, at), short, scalar(hubURL, short, at), scalar("http://"+replicaAddr, short, at))
			g.Expect(hubRate).To(Equal(first), "the hub holds exactly the first replica's samples")
			g.Expect(scalar(hubURL, short, at)).To(BeNumerically("~", meshRate, meshRate/10))
			g.Expect(scalar("http://"+replicaAddr, short, at)).To(BeNumerically("~", meshRate, meshRate/10), "the second replica sees the same workload")
			g.Expect(scalar(hubURL, `count(istio_requests_total)`, at)).To(Equal(1.0))
			g.Expect(scalar(hubURL, `sum(resets(istio_requests_total[1m]))`, at)).To(Equal(0.0))
		}, "60s", "1s").Should(Succeed())
		meshSeries := series(hubURL, `istio_requests_total`)
		Expect(meshSeries).To(HaveLen(1))
		Expect(meshSeries[0]).NotTo(HaveKey("prometheus_replica"))
		Expect(meshSeries[0]).To(HaveKeyWithValue("cluster", "east"))

		// Both queues keep flowing: the first replica sends everything it
		// reads, with no failed sample and its newest sample sent within a
		// flush; the second sends nothing, as every sample it reads is
		// dropped by the replica rule (counted as dropped, never failed).
		// The hub refused no write.
		queues := func() (map[string]float64, map[string]float64) {
			return queueMetrics(spokeAddr), queueMetrics(replicaAddr)
		}
		a1, b1 := queues()
		Eventually(func(g Gomega) {
			a2, b2 := queues()
			g.Expect(a2["prometheus_remote_storage_samples_total"]).To(BeNumerically(">", a1["prometheus_remote_storage_samples_total"]))
			g.Expect(b2["prometheus_remote_storage_samples_dropped_total"]).To(BeNumerically(">", b1["prometheus_remote_storage_samples_dropped_total"]))
			for _, q := range []map[string]float64{a2, b2} {
				g.Expect(q["prometheus_remote_storage_samples_failed_total"]).To(BeZero())
				g.Expect(q["prometheus_remote_storage_samples_retried_total"]).To(BeZero())
				g.Expect(q["prometheus_remote_storage_samples_pending"]).To(BeNumerically("<", 500))
			}
			lag := a2["prometheus_remote_storage_highest_timestamp_in_seconds"] - a2["prometheus_remote_storage_queue_highest_sent_timestamp_seconds"]
			g.Expect(lag).To(BeNumerically("<=", 10), "seconds the first replica's queue is behind")
			g.Expect(b2["prometheus_remote_storage_samples_total"]).To(BeZero())
			GinkgoWriter.Printf("first replica: %v sent, lag %vs; second replica: %v sent, %v dropped\n",
				a2["prometheus_remote_storage_samples_total"], lag, b2["prometheus_remote_storage_samples_total"], b2["prometheus_remote_storage_samples_dropped_total"])
		}, "20s", "1s").Should(Succeed())
		Expect(refusedWrites(hubAddr)).To(BeZero(), "remote writes the hub answered with an error")

		// The mesh metrics name the clusters as the spec does.
		Eventually(func(g Gomega) {
			kap := meshKAP(g)
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Message).To(ContainSubstring("in the mesh metrics at the hub too"))
		}, "30s", "500ms").Should(Succeed())
		// The spoke's proxies start calling their cluster otherwise (its
		// istiod's CLUSTER_ID changed): Kiali would find no traffic there.
		eastOne := "east-1"
		meshSourceCluster.Store(&eastOne)
		Eventually(func(g Gomega) {
			kap := meshKAP(g)
			c := condition(kap, meshv1alpha1.ConditionClustersReachable)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse), c.Message)
			g.Expect(c.Reason).To(Equal(meshv1alpha1.ReasonMetricsClusterMismatch))
			g.Expect(c.Message).To(ContainSubstring(`carry the cluster names "east-1" in source_cluster/destination_cluster, which are neither a cluster of spec.clusters (east)`))
			g.Expect(c.Message).To(ContainSubstring("Make each cluster's istiod CLUSTER_ID (values.global.multiCluster.clusterName) and its name in spec.clusters the same"))
		}, "60s", "500ms").Should(Succeed())

		// Deleting the CR gives the spoke its configuration back.
		Expect(hub.Delete(ctx, kap)).To(Succeed())
		Eventually(configMapData(spoke, spokeNS, cmName, "prometheus.yml")).Should(Equal(before))
	})
})

// startPrometheus runs Debian's prometheus until the spec ends.
func startPrometheus(config, data, addr string, extra ...string) {
	startPrometheusAs("", config, data, addr, extra...)
}

// startPrometheusAs runs it with POD_NAME set, as in a StatefulSet's pod.
func startPrometheusAs(pod, config, data, addr string, extra ...string) {
	args := append([]string{"--config.file=" + config, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr}, extra...)
	cmd := exec.Command("prometheus", args...)
	cmd.Env = append(os.Environ(), "POD_NAME="+pod)
	cmd.Stdout = GinkgoWriter
	cmd.Stderr = GinkgoWriter
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	Eventually(func() error {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}, "30s", "200ms").Should(Succeed())
}

// series returns the label sets of the series matching selector at base.
func series(base, selector string) []map[string]string {
	resp, err := http.Get(base + "/api/v1/series?" + url.Values{"match[]": {selector}}.Encode())
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Data []map[string]string `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil
	}
	return body.Data
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// meshSourceCluster is the cluster the mesh workload's proxy names in its
// source_cluster and destination_cluster labels: its istiod's CLUSTER_ID.
var meshSourceCluster = func() *atomic.Pointer[string] {
	p := &atomic.Pointer[string]{}
	east := "east"
	p.Store(&east)
	return p
}()

// startMeshWorkload serves, on loopback, a counter istio_requests_total
// that rises by perSecond every second, read when scraped: its rate is
// known whoever scrapes it and when.
func startMeshWorkload(perSecond float64) string {
	start := time.Now()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c := *meshSourceCluster.Load()
		fmt.Fprintf(w, "# TYPE istio_requests_total counter\nistio_requests_total{destination_service=\"reviews\",source_cluster=%q,destination_cluster=%q} %f\n",
			c, c, time.Since(start).Seconds()*perSecond)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	DeferCleanup(srv.Close)
	return l.Addr().String()
}

// scalar evaluates query at base at time at (seconds), summing the vector
// it returns; NaN when there is none.
func scalar(base, query string, at float64) float64 {
	v := url.Values{"query": {query}, "time": {strconv.FormatFloat(at, 'f', 3, 64)}}
	resp, err := http.Get(base + "/api/v1/query?" + v.Encode())
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data.Result) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		sum += f
	}
	return sum
}

// queueMetrics reads a Prometheus's own remote-write metrics from its
// /metrics page, each summed over its labels (there is one queue).
func queueMetrics(addr string) map[string]float64 {
	out := map[string]float64{}
	for name, v := range ownMetrics(addr) {
		if strings.HasPrefix(name, "prometheus_remote_storage_") {
			out[name] += v
		}
	}
	return out
}

// refusedWrites counts the remote-write requests a hub answered with an
// error status.
func refusedWrites(addr string) float64 {
	n := 0.0
	for _, l := range metricLines(addr) {
		if strings.HasPrefix(l.name, "prometheus_http_requests_total") && strings.Contains(l.labels, `handler="/api/v1/write"`) &&
			!strings.Contains(l.labels, `code="2`) {
			n += l.value
		}
	}
	return n
}

func ownMetrics(addr string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range metricLines(addr) {
		out[l.name] += l.value
	}
	return out
}

type metricLine struct {
	name, labels string
	value        float64
}

// metricLines parses the text exposition format, enough for Prometheus's
// own metrics: "name{labels} value" or "name value".
func metricLines(addr string) []metricLine {
	resp, err := http.Get("http://" + addr + "/metrics")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	var out []metricLine
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if i := strings.LastIndex(line, "} "); i >= 0 {
			series, value, ok = line[:i+1], line[i+2:], true
		}
		if !ok {
			continue
		}
		name, labels, _ := strings.Cut(series, "{")
		f, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		out = append(out, metricLine{name: name, labels: labels, value: f})
	}
	return out
}
