// Package operator wires the manager: scheme, cache, client, the reconciler,
// health checks and the status metrics. The manager binary, the local runner
// and the integration tests all start the operator through New, so they run
// the same thing.
package operator

import (
	"context"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	ctrlpkg "github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/monitoring"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/statusmetrics"
)

// Options configure the operator.
type Options struct {
	// MetricsAddr is where metrics are served; "0" disables them.
	MetricsAddr string
	// SecureMetrics serves metrics over HTTPS behind the API server's
	// authentication and authorization.
	SecureMetrics bool
	MetricsFilter func(*rest.Config, *http.Client) (metricsserver.Filter, error)
	ProbeAddr     string
	// PprofAddr serves net/http/pprof for profiling; "" or "0" is off.
	PprofAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero keeps controller-runtime's defaults (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MaxConcurrentReconciles bounds parallel reconciles.
	MaxConcurrentReconciles int
	// ProxyImage is the default oauth-proxy image.
	ProxyImage string
	// OAuth2ProxyImage is the default oauth2-proxy image (OIDC provider).
	OAuth2ProxyImage string
	// AuthorizerImage is the image of the authorizing proxy behind
	// oauth2-proxy: the operator's own.
	AuthorizerImage string
	// RevokeGrace is how long a replaced token of Kiali's stays valid on
	// its cluster; zero revokes it as soon as the Kiali CR names the new
	// one.
	RevokeGrace time.Duration
	// MonitoringNamespace is the manager's own namespace, where it makes
	// its ServiceMonitor and PrometheusRule once the Prometheus Operator's
	// CRDs are served (internal/monitoring); empty makes none.
	MonitoringNamespace string
	// MonitoringInterval is how often it looks; zero is
	// monitoring.DefaultInterval.
	MonitoringInterval time.Duration
	// WatchNamespaces restricts the operator to these namespaces: it
	// reconciles the KialiAuthProxies there and caches nothing else
	// namespaced, so it needs RBAC only there. Empty is every namespace.
	WatchNamespaces []string
	// SkipNameValidation allows a second manager in one process (tests that
	// restart the operator); controller names are otherwise process-unique.
	SkipNameValidation bool
}

// nonZero is d, or nil for controller-runtime's default.
func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// leaderElectionNamespace is where the leader election Lease lives: the
// given namespace; else, when the operator watches a single namespace, that
// one; else "", the namespace the manager runs in. OLM v1 gives a
// SingleNamespace operator the CSV's permissions in the watched namespace
// only, none in its own (operator-controller,
// internal/operator-controller/rukpak/render/registryv1/generators/generators.go,
// BundleCSVPermissionsGenerator); OLM v0 grants them in its own namespace
// too, and is the only one with several target namespaces. Staying in the
// operator's namespace with several keeps the Lease in one place when an
// OperatorGroup's targets change, so two managers never lead at once.
func leaderElectionNamespace(o Options) string {
	if o.LeaderElectionNamespace != "" || len(o.WatchNamespaces) != 1 {
		return o.LeaderElectionNamespace
	}
	return o.WatchNamespaces[0]
}

// namespaceConfigs is the cache's namespace restriction; nil watches every
// namespace. Cluster-scoped kinds (the CRDs) are cached cluster-wide either
// way.
func namespaceConfigs(namespaces []string) map[string]cache.Config {
	if len(namespaces) == 0 {
		return nil
	}
	out := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		out[ns] = cache.Config{}
	}
	return out
}

// podSelector selects the pods labelled for some KialiAuthProxy.
var podSelector = func() labels.Selector {
	req, err := labels.NewRequirement(render.LabelInstance, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}()

// notManagedSelector selects the objects without the operator's managed-by
// label: those the manager's cache does not hold.
var notManagedSelector = func() labels.Selector {
	req, err := labels.NewRequirement(render.LabelManagedBy, selection.NotEquals, []string{render.ManagedByValue})
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}()

// unmanagedCache holds the metadata of the objects of the kinds the
// operator makes that it did not make: what may be in the way of a new
// KialiAuthProxy. It holds what the manager's cache leaves out, so nothing
// is cached twice, and only the metadata an owner check reads. It starts
// with the manager's caches, and watches a kind from its first read.
func unmanagedCache(mgr manager.Manager, o Options) (client.Reader, error) {
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:           mgr.GetHTTPClient(),
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultNamespaces:    namespaceConfigs(o.WatchNamespaces),
		DefaultLabelSelector: notManagedSelector,
		DefaultTransform:     ownerMetadata,
	})
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(cacheRunnable{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// cacheRunnable has the manager start a cache with its own, before the
// controllers.
type cacheRunnable struct{ cache.Cache }

func (c cacheRunnable) GetCache() cache.Cache { return c.Cache }

// New returns a manager with the KialiAuthProxy controller registered, and
// the reconciler itself (tests drive it directly too).
func New(ctx context.Context, cfg *rest.Config, o Options) (manager.Manager, *ctrlpkg.Reconciler, error) {
	scheme := ctrlpkg.NewScheme()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Metrics: metricsserver.Options{
			BindAddress:    o.MetricsAddr,
			SecureServing:  o.SecureMetrics,
			FilterProvider: o.MetricsFilter,
		},
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        "kiali-auth-proxy-operator.mesh.kialiauth.io",
		LeaderElectionNamespace: leaderElectionNamespace(o),
		// Released on a clean shutdown, so a replacement takes over at once.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 nonZero(o.LeaseDuration),
		RenewDeadline:                 nonZero(o.RenewDeadline),
		RetryPeriod:                   nonZero(o.RetryPeriod),
		Cache: cache.Options{
			DefaultNamespaces: namespaceConfigs(o.WatchNamespaces),
			DefaultTransform:  slimObjects(),
			// Everything the operator writes carries its managed-by label, so
			// the cache holds those objects only, not every Deployment,
			// Service or ConfigMap of the cluster.
			DefaultLabelSelector: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedByValue}),
			ByObject: map[client.Object]cache.ByObject{
				// What the operator reads but does not make: the users' objects,
				// the CRDs it waits for, and the Secrets they reference (metadata
				// only, for their change events).
				&meshv1alpha1.KialiAuthProxy{}:              {Label: labels.Everything()},
				&apiextensionsv1.CustomResourceDefinition{}: {Label: labels.Everything()},
				&corev1.Secret{}:                            {Label: labels.Everything(), Transform: slimSecretMetadata},
				// The Kiali and proxy pods, whose mesh membership MeshLocked
				// reports; both carry the instance label, other pods are
				// not cached.
				&corev1.Pod{}: {Label: podSelector, Transform: slimPod},
			},
		},
		Client: client.Options{Cache: &client.CacheOptions{
			// Secrets are read from the API server when needed, never cached:
			// caching them would keep every Secret of the cluster in memory.
			DisableFor: []client.Object{&corev1.Secret{}},
			// The Kiali CR is unstructured; read it from the cache too.
			Unstructured: true,
		}},
	})
	if err != nil {
		return nil, nil, err
	}
	r := &ctrlpkg.Reconciler{
		Client:           mgr.GetClient(),
		Scheme:           scheme,
		APIReader:        mgr.GetAPIReader(),
		Recorder:         mgr.GetEventRecorder(render.Operator),
		ProxyImage:       o.ProxyImage,
		OAuth2ProxyImage: o.OAuth2ProxyImage,
		AuthorizerImage:  o.AuthorizerImage,
		Login:            &ctrlpkg.LoginModes{API: mgr.GetAPIReader()},
		RevokeGrace:      &o.RevokeGrace,
		// Kubeconfig Secrets are read from the API server, like every Secret.
		Clusters: &clusters.Cache{Reader: mgr.GetAPIReader(), Scheme: scheme},
		Applier: &apply.Applier{
			Client:     mgr.GetClient(),
			Scheme:     scheme,
			FieldOwner: ctrlpkg.FieldOwner,
			// The kinds the cache holds as metadata only, from the kinds
			// table: the CA bundle ConfigMaps, and the generated Secrets,
			// pruned from the metadata cache of every Secret (the client
			// never reads Secrets from a cache).
			MetadataOnly: ctrlpkg.MetadataOnlyKinds(),
			Cache:        mgr.GetCache(),
		},
	}
	if r.Unmanaged, err = unmanagedCache(mgr, o); err != nil {
		return nil, nil, err
	}
	if err := r.SetupWithManager(ctx, mgr, controller.Options{
		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		SkipNameValidation:      &o.SkipNameValidation,
	}); err != nil {
		return nil, nil, err
	}
	// The status series beside controller-runtime's, on the same endpoint;
	// read from the manager's cache, which holds every KialiAuthProxy.
	if err := mgr.Add(statusmetrics.Runnable(metrics.Registry, &statusmetrics.Collector{Reader: mgr.GetCache()})); err != nil {
		return nil, nil, err
	}
	if o.MonitoringNamespace != "" {
		if err := mgr.Add(&monitoring.Installer{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Mapper: mgr.GetRESTMapper(), Namespace: o.MonitoringNamespace,
			FieldOwner: ctrlpkg.FieldOwner, Interval: o.MonitoringInterval, Log: ctrl.Log.WithName("monitoring"),
		}); err != nil {
			return nil, nil, err
		}
	}
	if o.ProbeAddr != "" && o.ProbeAddr != "0" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return nil, nil, err
		}
		if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
			return nil, nil, err
		}
	}
	return mgr, r, nil
}
