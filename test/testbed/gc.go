package testbed

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// gcController is kube-controller-manager's name for the garbage collector;
// no other controller is needed for it.
const gcController = "garbage-collector-controller"

// gcStartTimeout bounds how long kube-controller-manager may take to start
// the garbage collector; it takes well under a second on an idle machine.
const gcStartTimeout = 60 * time.Second

// gcStopTimeout is how long kube-controller-manager gets to shut down after
// SIGTERM before it is killed.
const gcStopTimeout = 20 * time.Second

// StartGarbageCollector runs the real Kubernetes garbage collector
// (kube-controller-manager with that controller alone) against a started
// control plane: envtest has none, so objects whose owner is deleted would
// otherwise stay. It returns once the process has started the collector;
// stop ends it and returns an error, with its log, if it had failed
// meanwhile.
//
// The collector learns the cluster's resources, CRDs included, through
// discovery when it starts and again every 30 seconds, so CRDs installed
// after it started are collected only from its next resync on.
func StartGarbageCollector(env *envtest.Environment, cfg *rest.Config) (stop func() error, err error) {
	return StartGarbageCollectorWithLog(env, cfg, nil)
}

// StartGarbageCollectorWithLog is StartGarbageCollector that also copies
// the process's output to log (when not nil), for the caller to show when a
// test fails.
func StartGarbageCollectorWithLog(env *envtest.Environment, cfg *rest.Config, log io.Writer) (stop func() error, err error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "garbage-collector-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// system:masters: the collector reads and deletes every kind there is.
	user, err := env.AddUser(envtest.User{Name: "garbage-collector", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return nil, err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	out := &syncBuffer{}
	var w io.Writer = out
	if log != nil {
		w = io.MultiWriter(out, log)
	}
	cmd := exec.Command(filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--controllers="+gcController,
		// One instance: nothing to elect, and no Lease to wait for.
		"--leader-elect=false",
		// The collector acts with the admin kubeconfig rather than a token of
		// its own ServiceAccount, which would need the token controller.
		"--use-service-account-credentials=false",
		// It serves on loopback only, for the health endpoint that tells
		// when the collector has started. Without delegated authentication
		// and authorization (no --authentication-kubeconfig) the always
		// allowed health paths are all it serves, and it does not keep
		// looking for the request-header CA envtest's API server lacks.
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(dir, "certs"),
		// Its decision on each object, for a failing deletion test to show.
		"--v=2",
	)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	// exited is closed once the process has ended, with waitErr set, so
	// that every wait below can see it.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	if err := waitStarted(port, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("kube-controller-manager: %w (%v)\n%s", err, waitErr, out.String())
	}
	return func() error {
		defer os.RemoveAll(dir)
		select {
		case <-exited:
			return fmt.Errorf("kube-controller-manager had exited: %v\n%s", waitErr, out.String())
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(gcStopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}, nil
}

// waitStarted polls kube-controller-manager's health endpoint until it
// reports the garbage collector's own check, which is registered once the
// controller is built (the endpoint answers before that), or the process
// exits, or gcStartTimeout passes. A bad flag or an unreachable API
// server ends the process, which this reports at once.
//
// The collector may still be filling its caches then; it queues what
// happens meanwhile and deletes it once they are synced.
func waitStarted(port int, exited <-chan struct{}) error {
	c := &http.Client{
		Timeout: time.Second,
		// Its serving certificate is self-signed, made at start.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", port)
	const check = "[+]" + gcController + " ok"
	deadline := time.After(gcStartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		select {
		case <-exited:
			return errors.New("exited")
		case <-deadline:
			return fmt.Errorf("%s not started after %s; /healthz: %s", gcController, gcStartTimeout, last)
		case <-tick.C:
		}
		resp, err := c.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err.Error()
			continue
		}
		last = fmt.Sprintf("%s\n%s", resp.Status, body)
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), check) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for a process's two output streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
