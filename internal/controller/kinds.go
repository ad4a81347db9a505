package controller

import (
	"context"
	"sync"

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

// Kinds whose CRDs another product installs. Any of them may be missing when
// the operator starts, or appear and disappear while it runs: a missing one
// is reported in a condition, never a crash.
var (
	kialiGK               = render.KialiGVK.GroupKind()
	virtualServiceGK      = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	routeGK               = schema.GroupKind{Group: "route.openshift.io", Kind: "Route"}
	authorizationPolicyGK = schema.GroupKind{Group: "security.istio.io", Kind: "AuthorizationPolicy"}
	peerAuthenticationGK  = schema.GroupKind{Group: "security.istio.io", Kind: "PeerAuthentication"}

	// optionalKinds lists the versions the operator can write each kind as,
	// preferred first. Istio serves its v1 APIs from 1.22 on; the Istio of
	// OpenShift Service Mesh 2.x serves only v1beta1, whose fields for what
	// we write are the same.
	optionalKinds = map[schema.GroupKind][]string{
		kialiGK:               {"v1alpha1"},
		virtualServiceGK:      {"v1", "v1beta1"},
		routeGK:               {"v1"},
		authorizationPolicyGK: {"v1", "v1beta1"},
		peerAuthenticationGK:  {"v1", "v1beta1"},
	}

	// crdNames are the CRDs of the optional kinds; a change to one of them
	// re-runs every reconcile that may have been waiting for it.
	crdNames = map[string]bool{
		"kialis.kiali.io":                         true,
		"virtualservices.networking.istio.io":     true,
		"routes.route.openshift.io":               true,
		"authorizationpolicies.security.istio.io": true,
		"peerauthentications.security.istio.io":   true,
	}

	// coreKinds are always served; they are listed for pruning.
	coreKinds = []schema.GroupVersionKind{
		{Version: "v1", Kind: "ServiceAccount"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	}
)

// presence records, for one reconcile, the version each optional kind is
// served at; a kind that is not served is absent.
type presence map[schema.GroupKind]string

func (p presence) served(gk schema.GroupKind) bool { return p[gk] != "" }

// gvk is the served GroupVersionKind of an optional kind.
func (p presence) gvk(gk schema.GroupKind) schema.GroupVersionKind {
	return gk.WithVersion(p[gk])
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

	mu      sync.Mutex
	started map[schema.GroupVersionKind]bool
}

// servedVersion returns the first of versions the API server serves gk at,
// or "". The REST mapper re-reads discovery when asked for a kind it does
// not know, so a CRD installed after start-up is found.
func (w *optionalWatches) servedVersion(ctx context.Context, gk schema.GroupKind, versions []string) (string, error) {
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
	for gk, versions := range optionalKinds {
		v, err := r.watches.servedVersion(ctx, gk, versions)
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
