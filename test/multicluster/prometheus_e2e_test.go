package multicluster

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
)

// Two real Prometheus servers (Debian's prometheus package) on loopback: a
// hub with the remote-write receiver on, and a spoke started with the
// configuration the operator wrote into the spoke's ConfigMap. The spoke
// scrapes itself, so its "up" series is what reaches the hub.
var _ = Describe("Metrics from a spoke reach the hub", Ordered, func() {
	const (
		ns        = "e2e"
		spokeNS   = "e2e-prometheus"
		cmName    = "prometheus"
		entryName = "kialiauthproxy-e2e-mesh"
	)
	var hubURL, spokeAddr string

	BeforeAll(func() {
		for _, bin := range []string{"prometheus", "promtool"} {
			_, err := exec.LookPath(bin)
			Expect(err).NotTo(HaveOccurred(), "%s is needed: install Debian's prometheus package (make tools)", bin)
		}
		hubAddr := freeAddr()
		spokeAddr = freeAddr()
		hubURL = "http://" + hubAddr
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "hub.yml"), []byte("global:\n  scrape_interval: 1m\n"), 0o644)).To(Succeed())
		startPrometheus(filepath.Join(dir, "hub.yml"), filepath.Join(dir, "hub-data"), hubAddr, "--web.enable-remote-write-receiver")
	})

	It("wires the spoke's prometheus.yml, and reports MetricsWired once the hub holds the spoke's series", func() {
		ensureNamespace(hub, ns)
		ensureNamespace(spoke, spokeNS)
		before := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: self\n  static_configs:\n  - targets: [%q]\n", spokeAddr)
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
			kap := &meshv1alpha1.KialiAuthProxy{}
			g.Expect(hub.Get(ctx, types.NamespacedName{Namespace: ns, Name: "mesh"}, kap)).To(Succeed())
			c := condition(kap, controller.ConditionMetricsWired)
			g.Expect(c.Reason).To(Equal(controller.ReasonMetricsNotFlowing), c.Message)
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
		startPrometheus(file, filepath.Join(dir, "data"), spokeAddr)

		Eventually(func() []map[string]string {
			return series(hubURL, `up{cluster="east"}`)
		}, "90s", "1s").Should(ContainElement(HaveKeyWithValue("job", "self")))

		Eventually(func(g Gomega) {
			kap := &meshv1alpha1.KialiAuthProxy{}
			g.Expect(hub.Get(ctx, types.NamespacedName{Namespace: ns, Name: "mesh"}, kap)).To(Succeed())
			c := condition(kap, controller.ConditionMetricsWired)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Reason).To(Equal(controller.ReasonMetricsFlowing))
			st := clusterStatus(kap, "east")
			g.Expect(st.MetricsFlowing).To(Equal(ptr(true)))
			g.Expect(st.LastSampleAge).NotTo(BeEmpty())
		}, "60s", "500ms").Should(Succeed())

		// Deleting the CR gives the spoke its configuration back.
		Expect(hub.Delete(ctx, kap)).To(Succeed())
		Eventually(configMapData(spoke, spokeNS, cmName, "prometheus.yml")).Should(Equal(before))
	})
})

// startPrometheus runs Debian's prometheus until the spec ends.
func startPrometheus(config, data, addr string, extra ...string) {
	args := append([]string{"--config.file=" + config, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr}, extra...)
	cmd := exec.Command("prometheus", args...)
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
