package controller

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
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
	virtualServiceGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	routeGVK          = schema.GroupVersionKind{Group: "route.openshift.io", Version: "v1", Kind: "Route"}

	optionalKinds = []schema.GroupVersionKind{render.KialiGVK, virtualServiceGVK, routeGVK}

	// crdNames are the CRDs of the optional kinds; a change to one of them
	// re-runs every reconcile that may have been waiting for it.
	crdNames = map[string]bool{
		"kialis.kiali.io":                     true,
		"virtualservices.networking.istio.io": true,
		"routes.route.openshift.io":           true,
	}

	// coreKinds are always served; they are listed for pruning.
	coreKinds = []schema.GroupVersionKind{
		{Version: "v1", Kind: "ServiceAccount"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
	}
)

// optionalWatches starts the watch on an optional kind the first time its CRD
// is seen served, so that drift of those children is repaired too.
type optionalWatches struct {
	mapper     meta.RESTMapper
	cache      cache.Cache
	controller controller.Controller
	handler    handler.EventHandler
	// newObject returns the form the cache holds a kind in.
	newObject func(schema.GroupVersionKind) (client.Object, error)

	mu      sync.Mutex
	started map[schema.GroupKind]bool
}

// served reports whether the API server serves gvk now. The REST mapper
// re-reads discovery when asked for a kind it does not know, so a CRD
// installed after start-up is found.
func (w *optionalWatches) served(gvk schema.GroupVersionKind) (bool, error) {
	_, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

// ensure starts watching gvk once.
func (w *optionalWatches) ensure(gvk schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started[gvk.GroupKind()] || w.controller == nil {
		return nil
	}
	obj, err := w.newObject(gvk)
	if err != nil {
		return err
	}
	if err := w.controller.Watch(source.Kind(w.cache, obj, w.handler)); err != nil {
		return err
	}
	if w.started == nil {
		w.started = map[schema.GroupKind]bool{}
	}
	w.started[gvk.GroupKind()] = true
	return nil
}

// presence records which optional kinds are served in one reconcile.
type presence map[schema.GroupKind]bool

func (r *Reconciler) detectKinds(ctx context.Context) (presence, error) {
	p := presence{}
	for _, gvk := range optionalKinds {
		ok, err := r.watches.served(gvk)
		if err != nil {
			return nil, err
		}
		p[gvk.GroupKind()] = ok
		if ok {
			if err := r.watches.ensure(gvk); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}
