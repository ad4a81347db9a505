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

// ClusterRoleAggregationController is kube-controller-manager's name for
// the controller that fills aggregated ClusterRoles (admin, edit, view)
// with the rules of the ClusterRoles labelled for them.
const ClusterRoleAggregationController = "clusterrole-aggregation-controller"

// controllersStartTimeout bounds how long kube-controller-manager may take
// to start its controllers; it takes well under a second on an idle
// machine.
const controllersStartTimeout = 60 * time.Second

// controllersStopTimeout is how long kube-controller-manager gets to shut
// down after SIGTERM before it is killed.
const controllersStopTimeout = 20 * time.Second

// StartControllerManager runs kube-controller-manager with the named
// controllers alone (its names, such as garbage-collector-controller or
// ClusterRoleAggregationController) against a started control plane,
// which envtest runs without one. It copies the process's output to log
// when not nil. It returns once the process has started every one of them;
// stop ends it and returns an error, with its log, if it had failed
// meanwhile.
func StartControllerManager(env *envtest.Environment, cfg *rest.Config, controllers []string, log io.Writer) (stop func() error, err error) {
	if len(controllers) == 0 {
		return nil, errors.New("no controller to start")
	}
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kube-controller-manager-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// system:masters: the garbage collector reads and deletes every kind
	// there is, and the aggregation controller writes ClusterRoles holding
	// any rule, which RBAC allows only to a holder of those rules.
	user, err := env.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}}, cfg)
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
	out := &SyncBuffer{}
	var w io.Writer = out
	if log != nil {
		w = io.MultiWriter(out, log)
	}
	cmd := exec.Command(filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--controllers="+strings.Join(controllers, ","),
		// One instance: nothing to elect, and no Lease to wait for.
		"--leader-elect=false",
		// The controllers act with the admin kubeconfig rather than tokens
		// of their own ServiceAccounts, which would need the token
		// controller.
		"--use-service-account-credentials=false",
		// It serves on loopback only, for the health endpoint that tells
		// when the controllers have started. Without delegated
		// authentication and authorization (no --authentication-kubeconfig)
		// the always allowed health paths are all it serves, and it does not
		// keep looking for the request-header CA envtest's API server lacks.
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(dir, "certs"),
		// The controllers' decision on each object (the garbage collector's
		// deletions, the roles aggregated), for a failing test to show.
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
	if err := waitStarted(port, controllers, exited); err != nil {
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
		case <-time.After(controllersStopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}, nil
}

// waitStarted polls kube-controller-manager's health endpoint until it
// reports a check of each controller's own, or the process exits, or
// controllersStartTimeout passes. A bad flag or an unreachable API server
// ends the process, which this reports at once.
//
// kube-controller-manager registers a check named after each controller
// once it has built and started it; the endpoint answers before that, with
// its ping check alone. A started controller is listed as "[+]<name> ok",
// the garbage collector and the aggregation controller alike.
//
// A controller may still be filling its caches then; it queues what
// happens meanwhile and acts on it once they are synced.
func waitStarted(port int, controllers []string, exited <-chan struct{}) error {
	c := &http.Client{
		Timeout: time.Second,
		// Its serving certificate is self-signed, made at start.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", port)
	deadline := time.After(controllersStartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		select {
		case <-exited:
			return errors.New("exited")
		case <-deadline:
			return fmt.Errorf("%s not started after %s; /healthz: %s", strings.Join(controllers, ", "), controllersStartTimeout, last)
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
		if resp.StatusCode == http.StatusOK && allStarted(string(body), controllers) {
			return nil
		}
	}
}

// allStarted tells whether a verbose /healthz answer lists every
// controller's check as passing.
func allStarted(body string, controllers []string) bool {
	for _, name := range controllers {
		if !strings.Contains(body, "[+]"+name+" ok") {
			return false
		}
	}
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SyncBuffer is a bytes.Buffer safe for a process's two output streams,
// for a test to show what a process it started printed.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
