package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// secretRefsIndex indexes KialiAuthProxy objects by the Secrets they read.
const secretRefsIndex = ".spec.secretRefs"

func secretRefs(o client.Object) []string {
	kap, ok := o.(*meshv1alpha1.KialiAuthProxy)
	if !ok {
		return nil
	}
	p := render.PlanFor(kap, "")
	var refs []string
	if ref := kap.Spec.Proxy.SessionSecret; ref != nil {
		refs = append(refs, ref.Name)
	} else {
		refs = append(refs, p.Names.SessionSecret)
	}
	if h := kap.Spec.Proxy.Htpasswd; h != nil {
		if h.Name != "" {
			refs = append(refs, h.Name)
		}
		for _, u := range h.Users {
			refs = append(refs, u.PasswordSecret.Name)
		}
	}
	if vs := kap.Spec.Exposure.VirtualService; vs != nil && vs.Passthrough != nil {
		refs = append(refs, vs.Passthrough.CertificateSecret.Name)
	}
	if o := kap.Spec.Proxy.OIDC; o != nil {
		refs = append(refs, o.ClientSecret.Name)
	}
	if t := kap.Spec.Proxy.TLS; t != nil {
		if t.CertificateSecret != nil {
			refs = append(refs, t.CertificateSecret.Name)
		}
		if t.CertManager != nil {
			// The Secret cert-manager issues: a renewal rolls the pods.
			refs = append(refs, p.Names.ServingCert)
		}
	}
	d := p.KAP
	if ca := render.KialiCA(d, p.Names); ca != nil {
		refs = append(refs, ca.Name)
	}
	for _, c := range d.Spec.Clusters {
		refs = append(refs, c.KialiSecret, c.Kubeconfig.Name)
	}
	if m := d.Spec.Metrics; m != nil {
		for _, ref := range []*meshv1alpha1.SecretKeyReference{m.Receiver.BearerToken, m.Receiver.CA, m.Verify.BearerToken, m.Verify.CA} {
			if ref != nil {
				refs = append(refs, ref.Name)
			}
		}
		if b := m.Receiver.BasicAuth; b != nil {
			refs = append(refs, b.Name)
		}
	}
	return refs
}

func (r *Reconciler) requestsForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	list := &meshv1alpha1.KialiAuthProxyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretRefsIndex: secret.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing KialiAuthProxy objects for a Secret", "secret", secret.GetName())
		return nil
	}
	return requestsFor(list)
}

func (r *Reconciler) requestsForCRD(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &meshv1alpha1.KialiAuthProxyList{}
	if err := r.Client.List(ctx, list); err != nil {
		logf.FromContext(ctx).Error(err, "listing KialiAuthProxy objects for a CRD change")
		return nil
	}
	return requestsFor(list)
}

func requestsFor(list *meshv1alpha1.KialiAuthProxyList) []reconcile.Request {
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
	}
	return reqs
}

// ignoreCreates drops the create events of owned objects: the operator made
// them itself in the reconcile that is ending, so a second reconcile would
// only find its cache not yet caught up and write again. Drift arrives as
// update and delete events, and a restarted manager reconciles every
// KialiAuthProxy anyway.
var ignoreCreates = predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }}

// notOurCreates drops the create events of the Secrets the operator
// generates (the session secret, htpasswd files): it made them in the
// reconcile that is ending. A user's Secret appearing is news.
var notOurCreates = predicate.Funcs{CreateFunc: func(e event.CreateEvent) bool {
	return e.Object.GetLabels()[render.LabelManagedBy] != render.ManagedByValue
}}

// remoteAnnotationsChanged lets the user's "give up" on an unreachable
// cluster, and a request to renew Kiali's tokens, take effect at once
// rather than at the next retry.
var remoteAnnotationsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		for _, a := range []string{meshv1alpha1.SkipRemoteCleanupAnnotation, meshv1alpha1.RotateRemoteAccessAnnotation} {
			if e.ObjectOld.GetAnnotations()[a] != e.ObjectNew.GetAnnotations()[a] {
				return true
			}
		}
		return false
	},
}

// SetupWithManager registers the reconciler, its index and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &meshv1alpha1.KialiAuthProxy{}, secretRefsIndex, secretRefs); err != nil {
		return err
	}
	ourCRD := predicate.NewPredicateFuncs(func(o client.Object) bool { return isOurCRD(o.GetName()) })
	b := ctrl.NewControllerManagedBy(mgr).
		For(&meshv1alpha1.KialiAuthProxy{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, remoteAnnotationsChanged)))
	// The built-in kinds are watched from the start; the kinds with a CRD
	// once served (optionalWatches).
	for _, k := range Kinds {
		if k.Optional() || k.Generated {
			continue
		}
		opts := []builder.OwnsOption{builder.WithPredicates(ignoreCreates)}
		if k.MetadataOnly {
			opts = append(opts, builder.OnlyMetadata)
		}
		b = b.Owns(k.Object, opts...)
	}
	c, err := b.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSecret), builder.OnlyMetadata,
			builder.WithPredicates(notOurCreates)).
		// MeshLocked is proven from the running pods: their coming, going
		// and sidecars re-run the reconcile.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(requestForPod),
			builder.WithPredicates(meshStateChanged)).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.requestsForCRD),
			builder.OnlyMetadata, builder.WithPredicates(ourCRD)).
		WithOptions(opts).
		Named("kialiauthproxy").
		Build(r)
	if err != nil {
		return err
	}
	r.watches = &optionalWatches{
		mapper:     mgr.GetRESTMapper(),
		cache:      mgr.GetCache(),
		controller: c,
		handler: handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(),
			&meshv1alpha1.KialiAuthProxy{}, handler.OnlyControllerOwner()),
		newObject: r.Applier.NewObject,
		crds:      mgr.GetClient(),
		live:      r.APIReader,
	}
	return nil
}
