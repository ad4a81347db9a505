package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// managerProcess is the manager binary running against the control plane.
type managerProcess struct {
	cmd     *exec.Cmd
	metrics string // http://host:port/metrics
	pprof   string // http://host:port/debug/pprof
}

func (b *bench) startManager() error {
	if b.mgr != nil {
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	pprofAddr := pl.Addr().String()
	pl.Close()
	logFile, err := os.Create(filepath.Join(b.work, fmt.Sprintf("manager-%d.log", time.Now().UnixNano())))
	if err != nil {
		return err
	}
	cmd := exec.Command(b.binary,
		"--metrics-bind-address="+addr, "--metrics-secure=false", "--health-probe-bind-address=0", "--pprof-bind-address="+pprofAddr,
		fmt.Sprintf("--max-concurrent-reconciles=%d", b.o.concurrency), "--zap-log-level="+b.o.logLevel)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	b.mgr = &managerProcess{cmd: cmd, metrics: "http://" + addr + "/metrics", pprof: "http://" + pprofAddr + "/debug/pprof"}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := b.mgr.scrape(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the manager did not serve metrics within 30s; see %s", logFile.Name())
}

func (b *bench) managerPID() int {
	if b.mgr == nil {
		return 0
	}
	return b.mgr.cmd.Process.Pid
}

func (b *bench) stopManager() {
	if b.mgr == nil {
		return
	}
	_ = b.mgr.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = b.mgr.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = b.mgr.cmd.Process.Kill()
		<-done
	}
	b.mgr = nil
}

func (m *managerProcess) scrape() (testbed.Metrics, error) { return testbed.ScrapeMetrics(m.metrics) }

// requests are the manager's API requests (client-go's own counter).
type requests struct{ reads, writes, reconciles float64 }

func requestsOf(m testbed.Metrics) requests {
	r := requests{reconciles: m.Sum("controller_runtime_reconcile_total", `controller="kialiauthproxy"`)}
	r.reads = m.Sum("rest_client_requests_total", `method="GET"`)
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		r.writes += m.Sum("rest_client_requests_total", `method="`+method+`"`)
	}
	return r
}

func (r requests) minus(o requests) requests {
	return requests{reads: r.reads - o.reads, writes: r.writes - o.writes, reconciles: r.reconciles - o.reconciles}
}

// peakRSS is the largest resident size the process has had (bytes).
func peakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// usage reads the process's resident memory (bytes) and CPU time.
func usage(pid int) (rss int64, cpu time.Duration, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			rss = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(stat)[strings.LastIndexByte(string(stat), ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return rss, time.Duration(utime+stime) * time.Second / ticks, nil
}

// profile saves a pprof profile of the manager (path such as
// "profile?seconds=20" or "heap") and returns pprof's top functions by
// cumulative time.
func (b *bench) profile(path, file string, sampleIndex string) (string, error) {
	req, err := newGet(context.Background(), b.mgr.pprof+"/"+path)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out := filepath.Join(b.work, file)
	if err := saveBody(resp.Body, out); err != nil {
		return "", err
	}
	return pprofTop(out, sampleIndex, true, b.binary)
}

func newGet(ctx context.Context, url string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
}
