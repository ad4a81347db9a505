package ha

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// manager is one manager process.
type manager struct {
	name    string
	cmd     *exec.Cmd
	metrics string
	log     string
}

// startManager runs the binary as the deployed manager runs, with leader
// election on and short lease timings so that a takeover is quick.
func startManager(name string) *manager {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	m := &manager{name: name, metrics: "http://" + addr + "/metrics", log: filepath.Join(GinkgoT().TempDir(), name+".log")}
	logFile, err := os.Create(m.log)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(binary,
		"--leader-elect", "--leader-election-namespace="+leaseNamespace,
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
		"--metrics-bind-address="+addr, "--metrics-secure=false", "--health-probe-bind-address=0")
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	Expect(m.cmd.Start()).To(Succeed())
	DeferCleanup(m.kill)
	Eventually(func() error { _, err := m.scrape(); return err }).Should(Succeed(), "%s serves no metrics; see %s", name, m.log)
	return m
}

// kill ends the process as a crash or a lost node would: no lease release.
func (m *manager) kill() {
	if m.cmd.ProcessState != nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	_ = m.cmd.Wait()
}

func (m *manager) scrape() (testbed.Metrics, error) { return testbed.ScrapeMetrics(m.metrics) }

// sum adds the series of metric whose labels contain each fragment.
func (m *manager) sum(g Gomega, metric string, fragments ...string) float64 {
	series, err := m.scrape()
	g.Expect(err).NotTo(HaveOccurred(), "%s: see %s", m.name, m.log)
	return series.Sum(metric, fragments...)
}

func (m *manager) leading(g Gomega) bool {
	return m.sum(g, "leader_election_master_status") == 1
}

func (m *manager) reconciles(g Gomega) float64 {
	return m.sum(g, "controller_runtime_reconcile_total", `controller="kialiauthproxy"`)
}
