package ha

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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

func (m *manager) scrape() (map[string]float64, error) {
	resp, err := http.Get(m.metrics)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// sum adds the series of metric whose labels contain each fragment.
func (m *manager) sum(g Gomega, metric string, fragments ...string) float64 {
	series, err := m.scrape()
	g.Expect(err).NotTo(HaveOccurred(), "%s: see %s", m.name, m.log)
	total := 0.0
	for s, v := range series {
		if s != metric && !strings.HasPrefix(s, metric+"{") {
			continue
		}
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(s, f)
		}
		if ok {
			total += v
		}
	}
	return total
}

func (m *manager) leading(g Gomega) bool {
	return m.sum(g, "leader_election_master_status") == 1
}

func (m *manager) reconciles(g Gomega) float64 {
	return m.sum(g, "controller_runtime_reconcile_total", `controller="kialiauthproxy"`)
}
