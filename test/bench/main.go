// Command bench measures the operator on a real kube-apiserver and etcd
// (envtest): how fast KialiAuthProxy objects converge compared with
// applying the same objects by hand, what each reconcile asks of the API
// server, how fast drift is repaired, and what the manager costs in memory
// and CPU. It runs the manager binary as its own process, so its memory and
// CPU are the manager's alone, and writes docs/benchmarks.md.
//
//	go run ./test/bench            # or: make bench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

type options struct {
	sizes       []scenario
	secrets     int
	driftTrials int
	concurrency int
	out         string
	logLevel    string
	keep        bool
	// runs is how many times the largest scenario is run: its convergence
	// varies from run to run, so the target is judged on the median.
	runs int
}

// scenario is N KialiAuthProxy objects spread over namespaces.
type scenario struct{ crs, namespaces int }

func main() {
	o := options{sizes: []scenario{{1, 1}, {100, 10}, {1000, 100}}}
	flag.IntVar(&o.secrets, "secrets", 10000, "unrelated Secrets in the cluster while the manager runs")
	flag.IntVar(&o.driftTrials, "drift-trials", 100, "drift repairs to time")
	flag.IntVar(&o.concurrency, "concurrency", 4, "parallel reconciles of the manager, and parallel appliers of the baseline")
	flag.StringVar(&o.out, "out", filepath.Join(testbed.Root(), "docs", "benchmarks.md"), "where to write the table")
	flag.StringVar(&o.logLevel, "log-level", "error", "the manager's log level (its logs are in the work directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (the manager's logs)")
	flag.IntVar(&o.runs, "runs", 3, "runs of the largest scenario (the target is judged on their median)")
	small := flag.Bool("small", false, "a quick run: 1 and 20 objects (twice), 500 Secrets, 10 drift trials")
	flag.Parse()
	if *small {
		o.sizes = []scenario{{1, 1}, {20, 4}}
		o.secrets, o.driftTrials, o.runs = 500, 10, 2
	}
	o.runs = max(o.runs, 1)
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "kap-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		log("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	env, err := testbed.NewEnvironment(testbed.All)
	if err != nil {
		return err
	}
	// Two Services per KialiAuthProxy scenario object (operator and
	// baseline): more than envtest's default /24 holds.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	// Profiling over a local socket: the API server's CPU profile explains
	// where convergence time goes.
	debugSocket := filepath.Join(work, "apiserver-debug.sock")
	env.ControlPlane.GetAPIServer().Configure().Set("debug-socket-path", debugSocket)
	// The audit log names the manager's reads.
	auditPolicyPath, auditLog, err := writeAuditPolicy(work)
	if err != nil {
		return err
	}
	env.ControlPlane.GetAPIServer().Configure().Set("audit-policy-file", auditPolicyPath).Set("audit-log-path", auditLog)
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 1000, 2000

	c, err := client.NewWithWatch(cfg, client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		return err
	}
	binary, err := buildManager(work)
	if err != nil {
		return err
	}
	kubeconfig, err := writeKubeconfig(env, cfg, work)
	if err != nil {
		return err
	}

	log("creating %d unrelated Secrets", o.secrets)
	if err := createNoise(ctx, c, o.secrets); err != nil {
		return err
	}

	b := &bench{c: c, cfg: cfg, debugSocket: debugSocket, auditLog: auditLog, o: o, binary: binary, kubeconfig: kubeconfig, work: work}
	if b.meter, err = newCPUMeter(b.managerPID); err != nil {
		return err
	}
	rep := &report{machine: machine(), secrets: o.secrets, concurrency: o.concurrency}
	last := o.sizes[len(o.sizes)-1]
	for _, s := range o.sizes {
		runs := 1
		if s == last {
			runs = o.runs
		}
		for run := 0; run < runs; run++ {
			row, err := b.convergence(ctx, s, run)
			if err != nil {
				return err
			}
			rep.rows = append(rep.rows, row)
			// Each run starts from the cluster the first started from.
			if run < runs-1 {
				if err := b.deleteOperatorRun(ctx, row); err != nil {
					return err
				}
			}
		}
	}
	lastRow := rep.rows[len(rep.rows)-1]
	if rep.resync, err = b.resync(ctx, last); err != nil {
		return err
	}
	if rep.drift, err = b.drift(ctx, lastRow); err != nil {
		return err
	}
	if rep.footprint, err = b.footprint(); err != nil {
		return err
	}
	b.stopManager()

	text := rep.markdown()
	fmt.Print(text)
	return os.WriteFile(o.out, []byte(text), 0o644)
}

// buildManager builds cmd/ as the deployed binary is built.
func buildManager(dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd")
	cmd.Dir = testbed.Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w: %s", err, b)
	}
	return out, nil
}

func writeKubeconfig(env *envtest.Environment, cfg *rest.Config, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: managerUser, Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, raw, 0o600)
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
