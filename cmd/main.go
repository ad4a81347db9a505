// Command manager runs the kiali-auth-proxy-operator; "manager render"
// prints the objects it would apply for a KialiAuthProxy, without a cluster.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(runRender(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	var o operator.Options
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", "0",
		"Address the metrics endpoint binds to, such as :8443; 0 disables it.")
	flag.BoolVar(&o.SecureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, to callers the API server authenticates and authorizes.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.StringVar(&o.PprofAddr, "pprof-bind-address", "0", "Address net/http/pprof binds to, such as 127.0.0.1:6060; 0 disables it.")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false,
		"Elect a leader, so that only one of several replicas reconciles at a time.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"How many KialiAuthProxy objects are reconciled in parallel.")
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	// Set by OLM from the bundle's relatedImages, so disconnected clusters
	// use their mirrored oauth-proxy image.
	o.ProxyImage = os.Getenv("RELATED_IMAGE_OAUTH_PROXY")
	if o.SecureMetrics {
		o.MetricsFilter = filters.WithAuthenticationAndAuthorization
	}

	ctx := ctrl.SetupSignalHandler()
	mgr, _, err := operator.New(ctx, ctrl.GetConfigOrDie(), o)
	if err != nil {
		log.Error(err, "unable to set up the manager")
		os.Exit(1)
	}
	log.Info("starting the manager", "version", version)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}
