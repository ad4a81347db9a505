// Command manager runs the kiali-auth-proxy-operator; "manager render"
// prints the objects it would apply for a KialiAuthProxy, without a cluster;
// "manager authorize" is the authorizing proxy of the OIDC provider's pod.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/multicluster"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
)

// gcPercent is the garbage collector's target unless GOGC is set.
const gcPercent = 50

// watchNamespaceEnv is the usual variable for the namespaces an operator
// watches; the CSV sets it from the olm.targetNamespaces annotation that OLM
// puts on the pod template.
const watchNamespaceEnv = "WATCH_NAMESPACE"

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(runRender(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "authorize" {
		os.Exit(runAuthorize(os.Args[2:], os.Stderr))
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
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the one namespace of --watch-namespaces when it names one, or else the manager's own namespace.")
	flag.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby waits, after the leader's last renewal, before it takes over.")
	flag.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew before it gives up leading.")
	flag.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often candidates try to acquire or renew the lease.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"How many KialiAuthProxy objects are reconciled in parallel.")
	watch := flag.String("watch-namespaces", os.Getenv(watchNamespaceEnv),
		"Comma-separated namespaces whose KialiAuthProxies the operator reconciles; empty is all. Defaults to $"+watchNamespaceEnv+
			", which OLM fills with the OperatorGroup's target namespaces.")
	flag.DurationVar(&o.RevokeGrace, "remote-token-grace", multicluster.DefaultRevokeGrace,
		"How long a replaced token of Kiali's (kialiAccess: Managed) stays valid once the Kiali CR names its successor: time for Kiali to roll onto the new one.")
	monitor := flag.Bool("monitoring", true,
		"Make the manager's ServiceMonitor and PrometheusRule in its namespace ($POD_NAMESPACE) once the Prometheus Operator's CRDs are served.")
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
	var err error
	if o.WatchNamespaces, err = splitNamespaces(*watch); err != nil {
		log.Error(err, "invalid --watch-namespaces")
		os.Exit(2)
	}

	// Most of the heap is the informer caches, which live as long as the
	// process: collecting when the heap has grown by half of them rather
	// than doubled keeps the resident size about a third lower for a few
	// percent more CPU. GOGC (and GOMEMLIMIT) still decide when set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}

	// Set by OLM from the bundle's relatedImages, so disconnected clusters
	// use their mirrored oauth-proxy image.
	o.ProxyImage = os.Getenv("RELATED_IMAGE_OAUTH_PROXY")
	o.OAuth2ProxyImage = os.Getenv("RELATED_IMAGE_OAUTH2_PROXY")
	// The operator's own image, which also serves the authorizing proxy
	// ("authorize") of the OIDC provider; the install sets it from the
	// manager container's image.
	o.AuthorizerImage = os.Getenv("RELATED_IMAGE_AUTHORIZER")
	// The manager's own namespace (the downward API, in config/manager and
	// the CSV): its ServiceMonitor and PrometheusRule go there once the
	// Prometheus Operator's CRDs are served. Run outside a cluster, it
	// makes none.
	if *monitor {
		o.MonitoringNamespace = os.Getenv("POD_NAMESPACE")
	}
	if o.SecureMetrics {
		o.MetricsFilter = filters.WithAuthenticationAndAuthorization
	}

	ctx := ctrl.SetupSignalHandler()
	mgr, _, err := operator.New(ctx, ctrl.GetConfigOrDie(), o)
	if err != nil {
		log.Error(err, "unable to set up the manager")
		os.Exit(1)
	}
	log.Info("starting the manager", "version", version, "watchNamespaces", o.WatchNamespaces)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

// splitNamespaces parses a comma-separated namespace list, such as OLM's
// olm.targetNamespaces ("" for all namespaces).
func splitNamespaces(v string) ([]string, error) {
	var out []string
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" || slices.Contains(out, ns) {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}
