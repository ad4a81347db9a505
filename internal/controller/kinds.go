package controller

import (
	"context"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// The kinds the operator makes, with the permissions it needs on them. A
// new kind is an entry here, with its RBAC marker, and the file that
// renders it: the watches, the cache, the version fallback, pruning and
// the tests read this table.
//
// Writes are server-side apply (patch) and create-only Secrets; nothing is
// updated, so no role grants update except where OpenShift asks for it by
// that name.
// +kubebuilder:rbac:groups="",resources=serviceaccounts;configmaps;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=kiali.io,resources=kialis,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes/custom-host,verbs=create;update
// +kubebuilder:rbac:groups=security.istio.io,resources=authorizationpolicies;peerauthentications,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;patch;delete

// Kind is one kind of object the operator makes.
type Kind struct {
	schema.GroupKind
	// Versions the operator can write the kind as, preferred first; render
	// writes the first. Istio serves its v1 APIs from 1.22 on; the Istio of
	// OpenShift Service Mesh 2.x serves only v1beta1, whose fields for what
	// the operator writes are the same.
	Versions []string
	// CRD is the CustomResourceDefinition another product installs. Empty
	// for kinds every API server serves. A kind with a CRD may be missing
	// when the operator starts, or appear and disappear while it runs: a
	// missing one is reported in a condition, never a crash.
	CRD string
	// Component is the render component whose condition reports the CRD
	// missing.
	Component string
	// Object is the typed form the cache holds a built-in kind in; kinds
	// with a CRD are held unstructured and watched once served.
	Object client.Object
	// MetadataOnly: the cache holds only the objects' metadata, and the
	// applier reads them that way (ConfigMaps: the record and the CA
	// bundle are all the operator reads of them, and a CA bundle is large;
	// Secrets: their values are never cached, and the generated ones are
	// pruned from their metadata).
	MetadataOnly bool
	// Generated: created once when absent and never applied (the session
	// secret, htpasswd files); watched through the KialiAuthProxy objects
	// that reference Secrets, not as owned objects.
	Generated bool
}

// Optional reports whether the kind's CRD may be missing.
func (k Kind) Optional() bool { return k.CRD != "" }

// Kinds are every kind the operator makes.
var Kinds = []Kind{
	{GroupKind: schema.GroupKind{Kind: "ServiceAccount"}, Versions: []string{"v1"}, Object: &corev1.ServiceAccount{}},
	{GroupKind: schema.GroupKind{Kind: "ConfigMap"}, Versions: []string{"v1"}, Object: &corev1.ConfigMap{}, MetadataOnly: true},
	{GroupKind: schema.GroupKind{Kind: "Service"}, Versions: []string{"v1"}, Object: &corev1.Service{}},
	{GroupKind: schema.GroupKind{Kind: "Secret"}, Versions: []string{"v1"}, Object: &corev1.Secret{}, MetadataOnly: true, Generated: true},
	{GroupKind: schema.GroupKind{Group: "apps", Kind: "Deployment"}, Versions: []string{"v1"}, Object: &appsv1.Deployment{}},
	{GroupKind: schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, Versions: []string{"v1"}, Object: &networkingv1.NetworkPolicy{}},
	{GroupKind: kialiGK, Versions: []string{"v1alpha1"}, CRD: "kialis.kiali.io", Component: render.ComponentKiali},
	{GroupKind: virtualServiceGK, Versions: []string{"v1", "v1beta1"}, CRD: "virtualservices.networking.istio.io", Component: render.ComponentExposure},
	{GroupKind: routeGK, Versions: []string{"v1"}, CRD: "routes.route.openshift.io", Component: render.ComponentExposure},
	{GroupKind: authorizationPolicyGK, Versions: []string{"v1", "v1beta1"}, CRD: "authorizationpolicies.security.istio.io", Component: render.ComponentLockDown},
	{GroupKind: peerAuthenticationGK, Versions: []string{"v1", "v1beta1"}, CRD: "peerauthentications.security.istio.io", Component: render.ComponentLockDown},
	// The Gateway API serves HTTPRoute at v1 from its v1.0 release on.
	{GroupKind: httpRouteGK, Versions: []string{"v1"}, CRD: "httproutes.gateway.networking.k8s.io", Component: render.ComponentExposure},
	{GroupKind: certificateGK, Versions: []string{"v1"}, CRD: "certificates.cert-manager.io", Component: render.ComponentProxy},
}

// The kinds with a CRD, by name where the code decides by one.
var (
	kialiGK               = render.KialiGVK.GroupKind()
	virtualServiceGK      = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	routeGK               = schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}
	authorizationPolicyGK = schema.GroupKind{Group: "security.istio.io", Kind: "AuthorizationPolicy"}
	peerAuthenticationGK  = schema.GroupKind{Group: "security.istio.io", Kind: "PeerAuthentication"}
	httpRouteGK           = render.HTTPRouteGVK.GroupKind()
	certificateGK         = render.CertificateGVK.GroupKind()
)

// KindOf is the entry of gk, or false for a kind the operator does not
// make.
func KindOf(gk schema.GroupKind) (Kind, bool) {
	for _, k := range Kinds {
		if k.GroupKind == gk {
			return k, true
		}
	}
	return Kind{}, false
}

// MetadataOnlyKinds are the kinds the cache holds as metadata only.
func MetadataOnlyKinds() map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, k := range Kinds {
		if k.MetadataOnly {
			out[k.GroupKind] = true
		}
	}
	return out
}

// isOurCRD reports whether a CRD is one of the table's; a change to one re-runs
// every reconcile that may have been waiting for it.
func isOurCRD(name string) bool {
	return slices.ContainsFunc(Kinds, func(k Kind) bool { return k.CRD != "" && k.CRD == name })
}

// presence records, for one reconcile, the version each kind of Kinds is
// served at; a kind with a CRD that is not served is absent.
type presence map[schema.GroupKind]string

func (p presence) served(gk schema.GroupKind) bool { return p[gk] != "" }

// gvk is the served GroupVersionKind of a kind.
func (p presence) gvk(gk schema.GroupKind) schema.GroupVersionKind {
	return gk.WithVersion(p[gk])
}

// applied are the served kinds that are applied, and so pruned.
func (p presence) applied() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, k := range Kinds {
		if p.served(k.GroupKind) && !k.Generated {
			out = append(out, p.gvk(k.GroupKind))
		}
	}
	return out
}

// optionalWatches starts the watch on an optional kind the first time it is
// seen served, so that drift of those children is repaired too.
type optionalWatches struct {
	mapper     meta.RESTMapper
	cache      cache.Cache
	controller controller.Controller
	handler    handler.EventHandler
	// newObject returns the form the cache holds a kind in.
	newObject func(schema.GroupVersionKind) (client.Object, error)
	// crds reads the CRDs (the cache holds their metadata) and live the API
	// server: together they notice a CRD deleted after the REST mapper
	// learned its kind. Nil in tests of the mapper alone.
	crds, live client.Reader

	// now is the clock of the absent kinds; nil is time.Now.
	now func() time.Time

	mu      sync.Mutex
	started map[schema.GroupVersionKind]bool
	// absent records when discovery last found a kind unserved while no
	// CRD of its name was in the cache.
	absent map[schema.GroupKind]time.Time
}

// absentRecheck is how long a kind that discovery found unserved, and
// whose CRD the cache does not hold, is taken as unserved without asking
// again. The REST mapper answers a kind it does not know by re-reading
// discovery, a request to the API server on every reconcile of every
// KialiAuthProxy for each kind a cluster lacks (a cluster without the
// Gateway API or cert-manager lacks two). The CRD's arrival is seen in the
// cache at once and ends the wait; only a kind served without a CRD (an
// aggregated API server) waits this long to be found.
const absentRecheck = missingCRDRetry

// servedVersion returns the first of k's versions the API server serves
// it at, or "". The REST mapper re-reads discovery when asked for a kind
// it does not know, so a CRD installed after start-up is found.
func (w *optionalWatches) servedVersion(ctx context.Context, k Kind) (string, error) {
	crdCached, err := w.crdCached(ctx, k.CRD)
	if err != nil {
		return "", err
	}
	if !crdCached && w.recentlyAbsent(k.GroupKind) {
		return "", nil
	}
	v, err := w.discoveredVersion(ctx, k.GroupKind, k.Versions)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if v == "" && !crdCached {
		if w.absent == nil {
			w.absent = map[schema.GroupKind]time.Time{}
		}
		w.absent[k.GroupKind] = w.clock()
	} else {
		delete(w.absent, k.GroupKind)
	}
	return v, nil
}

func (w *optionalWatches) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// recentlyAbsent reports whether discovery found gk unserved less than
// absentRecheck ago.
func (w *optionalWatches) recentlyAbsent(gk schema.GroupKind) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.absent[gk]
	return ok && w.clock().Sub(at) < absentRecheck
}

// crdCached reports whether the cache holds the CRD named name. Without a
// CRD reader (tests of the mapper alone) every CRD counts as cached, so
// discovery is always asked.
func (w *optionalWatches) crdCached(ctx context.Context, name string) (bool, error) {
	if w.crds == nil || name == "" {
		return true, nil
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	err := w.crds.Get(ctx, client.ObjectKey{Name: name}, crd)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// discoveredVersion asks the REST mapper for the first of versions gk is
// served at.
func (w *optionalWatches) discoveredVersion(ctx context.Context, gk schema.GroupKind, versions []string) (string, error) {
	for _, v := range versions {
		m, err := w.mapper.RESTMapping(gk, v)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		gone, err := w.removed(ctx, m)
		if err != nil || gone {
			return "", err
		}
		return m.GroupVersionKind.Version, nil
	}
	return "", nil
}

// removed reports whether a kind the REST mapper knows is no longer served:
// the mapper keeps what it learned, so a CRD uninstalled while the operator
// runs would otherwise show as failed applies instead of a missing CRD. A
// CRD being deleted counts as removed: its objects are going, and no new
// one may be created.
func (w *optionalWatches) removed(ctx context.Context, m *meta.RESTMapping) (bool, error) {
	if w.crds == nil || w.live == nil {
		return false, nil
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	err := w.crds.Get(ctx, client.ObjectKey{Name: m.Resource.Resource + "." + m.Resource.Group}, crd)
	if err == nil {
		return !crd.DeletionTimestamp.IsZero(), nil
	}
	if !apierrors.IsNotFound(err) {
		return false, err
	}
	// No CRD: it was deleted, or an aggregated API server serves the kind
	// (or the CRD is so new the cache has not seen it). Ask the API server.
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(m.GroupVersionKind.GroupVersion().WithKind(m.GroupVersionKind.Kind + "List"))
	err = w.live.List(ctx, list, client.Limit(1))
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return true, nil
	}
	return false, err
}

// ensure starts watching gvk once.
func (w *optionalWatches) ensure(gvk schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started[gvk] || w.controller == nil {
		return nil
	}
	obj, err := w.newObject(gvk)
	if err != nil {
		return err
	}
	if err := w.controller.Watch(source.Kind(w.cache, obj, w.handler, ignoreCreates)); err != nil {
		return err
	}
	if w.started == nil {
		w.started = map[schema.GroupVersionKind]bool{}
	}
	w.started[gvk] = true
	return nil
}

func (r *Reconciler) detectKinds(ctx context.Context) (presence, error) {
	p := presence{}
	for _, k := range Kinds {
		gk := k.GroupKind
		if !k.Optional() {
			p[gk] = k.Versions[0]
			continue
		}
		v, err := r.watches.servedVersion(ctx, k)
		if err != nil {
			return nil, err
		}
		if v == "" {
			continue
		}
		p[gk] = v
		if err := r.watches.ensure(gk.WithVersion(v)); err != nil {
			return nil, err
		}
	}
	return p, nil
}
