package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// The floors split the operator's time from the baseline's into what any
// operator pays and what is this one's: the same client loop as the
// baseline, with no manager running, that also does what no operator can
// avoid. The first floor creates each KialiAuthProxy (the user's write)
// and writes its converged status once (the operator's one status write).
// The second does the same while this program watches every object
// written, with the informers and selectors the manager's caches use: an
// operator that repairs drift within a second must watch what it makes.

// floorPhase is one floor's time and CPU.
type floorPhase struct {
	total time.Duration
	cpu   cpuShares
}

// floor times one floor over the scenario's CRs, then deletes what it made
// so that the next phase starts from the same cluster.
func (b *bench) floor(ctx context.Context, s scenario, tag string, watched bool) (floorPhase, error) {
	var p floorPhase
	if b.status == nil {
		// A status the manager wrote, from a warm-up of its own.
		if err := b.startManager(); err != nil {
			return p, err
		}
		err := b.warmUp(ctx, tag)
		b.stopManager()
		if err != nil {
			return p, err
		}
	}
	name := "floor-" + tag
	if watched {
		name = "watched-" + tag
	}
	namespaces, err := createNamespaces(ctx, b.c, name, s.namespaces)
	if err != nil {
		return p, err
	}
	if watched {
		stop, err := b.watchLikeTheManager(ctx)
		if err != nil {
			return p, err
		}
		defer stop()
	}
	log("%s: creating %d KialiAuthProxy objects, their objects and their status", name, s.crs)
	cpuStart := b.meter.read()
	start := time.Now()
	err = parallel(b.o.concurrency, s.crs, func(i int) error {
		kap := sampleCR(namespaces[i%s.namespaces], fmt.Sprintf("kiali-%d", i), name)
		if err := b.c.Create(ctx, kap); err != nil {
			return err
		}
		if err := applyRendered(ctx, b.c, kap); err != nil {
			return err
		}
		return b.writeConvergedStatus(ctx, kap)
	})
	p.total = time.Since(start)
	p.cpu = b.meter.since(cpuStart)
	if err != nil {
		return p, err
	}
	log("%s: %v", name, p.total)
	return p, b.deleteFloor(ctx, namespaces)
}

// writeConvergedStatus writes the status the operator wrote for the
// warm-up KialiAuthProxy, for kap's generation, as the operator writes it:
// one merge patch of the status subresource.
func (b *bench) writeConvergedStatus(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy) error {
	base := kap.DeepCopy()
	kap.Status = *b.status.DeepCopy()
	kap.Status.ObservedGeneration = kap.Generation
	kap.Status.URL = render.URL(kap)
	for i := range kap.Status.Conditions {
		kap.Status.Conditions[i].ObservedGeneration = kap.Generation
	}
	return b.c.Status().Patch(ctx, kap, client.MergeFrom(base))
}

// watchLikeTheManager starts informers on what the manager watches while
// CRs converge: every KialiAuthProxy, the metadata of every Secret, and the
// kinds of the kinds table, held as the manager holds them, selected by
// the label the floor's objects carry (the baseline's, in place of the
// operator's). It returns once they are synced.
func (b *bench) watchLikeTheManager(ctx context.Context) (stop func(), err error) {
	c, err := cache.New(b.cfg, cache.Options{
		Scheme:               b.c.Scheme(),
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: "bench-baseline"}),
		ByObject: map[client.Object]cache.ByObject{
			&meshv1alpha1.KialiAuthProxy{}: {Label: labels.Everything()},
			&corev1.Secret{}:               {Label: labels.Everything()},
		},
	})
	if err != nil {
		return nil, err
	}
	secrets := &metav1.PartialObjectMetadata{}
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	objs := []client.Object{&meshv1alpha1.KialiAuthProxy{}, secrets}
	for _, obj := range render.Objects(sampleCR("x", "x", ""), render.Inputs{}) {
		gvk, err := apiutil.GVKForObject(obj, b.c.Scheme())
		if err != nil {
			return nil, err
		}
		k, ok := controller.KindOf(gvk.GroupKind())
		switch {
		case !ok:
			return nil, fmt.Errorf("%s is not in the kinds table", gvk)
		case k.MetadataOnly:
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(gvk)
			objs = append(objs, m)
		case k.Object != nil:
			objs = append(objs, k.Object.DeepCopyObject().(client.Object))
		default:
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			objs = append(objs, u)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	for _, obj := range objs {
		if _, err := c.GetInformer(cctx, obj); err != nil {
			cancel()
			return nil, err
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Start(cctx)
	}()
	if !c.WaitForCacheSync(cctx) {
		cancel()
		return nil, fmt.Errorf("the floor's informers did not sync")
	}
	return func() { cancel(); <-done }, nil
}

// deleteFloor deletes what a floor made. No manager ran, so the
// KialiAuthProxy objects carry no finalizer.
func (b *bench) deleteFloor(ctx context.Context, namespaces []string) error {
	if err := parallel(4, len(namespaces), func(i int) error {
		return b.c.DeleteAllOf(ctx, &meshv1alpha1.KialiAuthProxy{}, client.InNamespace(namespaces[i]))
	}); err != nil {
		return err
	}
	return deleteBaseline(ctx, b.c, namespaces)
}
