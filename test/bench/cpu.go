package main

import (
	"context"
	"fmt"
	"io"
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

// cpuShares is the CPU time each process spent during one phase of a
// scenario, and how busy the whole machine was. On a machine where the API
// server, etcd, the manager and this program share the cores, it says who
// the time went to.
type cpuShares struct {
	wall                                   time.Duration
	apiserver, etcd, manager, client, busy time.Duration
}

// cpuMeter reads the CPU time of the control plane, the manager and this
// program, and of the machine.
type cpuMeter struct {
	apiserver, etcd int
	manager         func() int // 0 when no manager runs
}

type cpuReading struct {
	at                                     time.Time
	apiserver, etcd, manager, client, busy time.Duration
}

// newCPUMeter finds the control plane's processes.
func newCPUMeter(manager func() int) (*cpuMeter, error) {
	m := &cpuMeter{manager: manager}
	var err error
	if m.apiserver, err = testbed.ChildProcess("kube-apiserver"); err != nil {
		return nil, err
	}
	if m.etcd, err = testbed.ChildProcess("etcd"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *cpuMeter) read() cpuReading {
	r := cpuReading{at: time.Now()}
	cpu := func(pid int) time.Duration {
		if pid == 0 {
			return 0
		}
		_, c, err := usage(pid)
		if err != nil {
			return 0
		}
		return c
	}
	r.apiserver, r.etcd, r.client = cpu(m.apiserver), cpu(m.etcd), cpu(os.Getpid())
	r.manager = cpu(m.manager())
	r.busy = machineBusy()
	return r
}

// since is the CPU spent between an earlier reading and now.
func (m *cpuMeter) since(a cpuReading) cpuShares {
	b := m.read()
	return cpuShares{
		wall: b.at.Sub(a.at), apiserver: b.apiserver - a.apiserver, etcd: b.etcd - a.etcd,
		manager: b.manager - a.manager, client: b.client - a.client, busy: b.busy - a.busy,
	}
}

// machineBusy is the CPU time all cores spent outside idle and iowait.
func machineBusy() time.Duration {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user time
			break
		}
		busy += v
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(busy) * time.Second / ticks
}

// apiServerProfile takes a CPU profile of the API server through its debug
// socket and returns pprof's top functions by own time.
func apiServerProfile(ctx context.Context, socket string, seconds int, file string) (string, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	req, err := newGet(ctx, fmt.Sprintf("http://apiserver/debug/pprof/profile?seconds=%d", seconds))
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("API server profile: %s: %s", resp.Status, b)
	}
	if err := saveBody(resp.Body, file); err != nil {
		return "", err
	}
	return pprofTop(file, "", false)
}

func saveBody(body io.Reader, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pprofTop runs go tool pprof -top over a saved profile: by cumulative time
// (where the calls come from) or by own time (where the cycles go).
func pprofTop(file, sampleIndex string, cumulative bool, binary ...string) (string, error) {
	args := []string{"tool", "pprof", "-top", "-nodecount=25"}
	if cumulative {
		args = append(args, "-cum")
	}
	if sampleIndex != "" {
		args = append(args, "-sample_index="+sampleIndex)
	}
	args = append(append(args, binary...), file)
	top, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", filepath.Base(file), err, top)
	}
	return string(top), nil
}

// apiServerDiff is pprof's top of the operator phase's API server profile
// against the baseline's, by cumulative time, without the Go runtime's own
// frames (garbage collection and scheduling, which follow the rest).
func apiServerDiff(baseline, operator string) string {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=30", "-hide=^runtime\\.",
		"-diff_base", baseline, operator).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof -diff_base: %v: %s", err, out)
	}
	return string(out)
}
