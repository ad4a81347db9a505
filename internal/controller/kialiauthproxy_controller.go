// Package controller holds the KialiAuthProxy reconciler: it reads the CR,
// resolves its inputs, renders, applies, prunes and writes the status.
package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// FieldOwner is the server-side apply field manager of every write.
const FieldOwner = "kiali-auth-proxy-operator"

// missingCRDRetry is how often a reconcile waiting for a CRD checks again.
// The CRD watch normally wakes it sooner; this covers API servers where the
// CRD object is not visible to us but its kind is served (aggregation).
const missingCRDRetry = 2 * time.Minute

// Writes are server-side apply (patch) and create-only Secrets; nothing is
// updated, so no role grants update except where OpenShift and the owner
// reference admission check ask for it by that name.
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies/status,verbs=get;patch
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=kiali.io,resources=kialis,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes/custom-host,verbs=create;update
// +kubebuilder:rbac:groups=security.istio.io,resources=authorizationpolicies;peerauthentications,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheuses,verbs=get;patch

// Reconciler reconciles KialiAuthProxy objects.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	Scheme *runtime.Scheme
	// APIReader reads straight from the API server: Secrets, which are never
	// cached, and objects the cache does not hold (it holds only what carries
	// the operator's label).
	APIReader client.Reader
	Recorder  events.EventRecorder
	Applier   *apply.Applier
	// ProxyImage is the default oauth-proxy image (RELATED_IMAGE_OAUTH_PROXY).
	ProxyImage string
	// Clusters hands out clients for the clusters in spec.clusters.
	Clusters *clusters.Cache

	watches *optionalWatches
}

// Reconcile converges one KialiAuthProxy: CR -> inputs -> render -> apply ->
// prune -> status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := r.Client.Get(ctx, req.NamespacedName, kap); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// First, on every path (deletion and refused adoption included): until
	// released, release 0.1.0's CA bundle carries an owner reference that
	// would have the garbage collector delete it, and it may be the Kiali
	// operator's (legacy.go). Released, it stays in place, so the pods that
	// still mount it keep working until the proxy rolls to its own.
	if err := r.releaseLegacy(ctx, kap, render.NamesFor(kap)); err != nil {
		return ctrl.Result{}, err
	}
	if !kap.DeletionTimestamp.IsZero() {
		// Every child here carries an owner reference: the garbage
		// collector removes them. Only what was written on other clusters
		// needs the operator.
		return r.finalize(ctx, kap)
	}

	kinds, err := r.detectKinds(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	res, err := r.resolveInputs(ctx, kap)
	if err != nil {
		return ctrl.Result{}, err
	}
	if res.createdSessionSecret != "" {
		r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, "SessionSecretCreated", "Create",
			"Generated the session secret %s/%s; it is never regenerated", kap.Namespace, res.createdSessionSecret)
	}

	obs := &observation{
		names:       res.names,
		kinds:       kinds,
		applyErrors: map[string]error{},
		problems:    res.problems,
		writes:      res.writes,

		istioNamespace: res.istioNamespace,
	}
	// The record of remote writes is kept for as long as the KialiAuthProxy.
	keep := map[apply.ObjectID]bool{
		{GroupKind: schema.GroupKind{Kind: "ConfigMap"}, Namespace: kap.Namespace, Name: obs.names.RemoteWriteRecord}: true,
	}
	// Release 0.1.0's CA bundle may be the Kiali operator's: released, never
	// pruned (legacy.go).
	keep[legacyCABundleID(obs.names)] = true
	var objs []client.Object
	for _, obj := range render.Render(kap, res.inputs) {
		gk := obj.GetObjectKind().GroupVersionKind().GroupKind()
		if _, optional := optionalKinds[gk]; optional {
			if !kinds.served(gk) {
				continue
			}
			if obj, err = atVersion(obj, kinds.gvk(gk)); err != nil {
				return ctrl.Result{}, err
			}
		}
		keep[apply.IDOf(obj)] = true
		if err := controllerutil.SetControllerReference(kap, obj, r.Scheme); err != nil {
			return ctrl.Result{}, err
		}
		objs = append(objs, obj)
	}

	// Objects in the way, made by hand or by another owner: take them over
	// only when the spec says so, and otherwise apply nothing.
	foreign, err := r.findForeign(ctx, kap, objs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if res.foreignSessionSecret != nil {
		foreign = append(foreign, *res.foreignSessionSecret)
	}
	policy := kap.WithDefaults(r.ProxyImage).Spec.Adoption
	p := adoptionProblem(policy, foreign)
	if p == nil && len(foreign) > 0 {
		if p, err = r.adoptionBlockers(ctx, foreign); err != nil {
			return ctrl.Result{}, err
		}
	}
	if p != nil {
		obs.refused = p
		obs.problems = append(obs.problems, *p)
		conds := computeConditions(kap, obs)
		if err := r.writeStatusValue(ctx, kap, newStatus(kap, conds, nil), conds); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: adoptionRetry}, nil
	}
	for _, f := range foreign {
		if f.obj == nil || f.role != "" {
			// The session secret is used as it is, never written.
			continue
		}
		if err := r.adopt(ctx, f); err != nil {
			return ctrl.Result{}, err
		}
	}

	for _, obj := range objs {
		gk := obj.GetObjectKind().GroupVersionKind().GroupKind()
		if _, err := r.Applier.Apply(ctx, obj); err != nil {
			component := obj.GetLabels()[render.LabelComponent]
			if obs.applyErrors[component] == nil {
				obs.applyErrors[component] = err
			}
			log.Error(err, "apply failed", "kind", gk.Kind, "name", obj.GetName())
		}
	}
	for _, f := range foreign {
		if f.role != "" {
			if kap.Status.ObservedGeneration == kap.Generation {
				// It stays foreign for good: say so once per generation.
				continue
			}
			r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, "Adopted", "Adopt",
				"Using the existing %s as it is; it stays yours and outlives this KialiAuthProxy", f)
		} else if obs.applyErrors[f.obj.GetLabels()[render.LabelComponent]] == nil {
			r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, "Adopted", "Adopt", "Took over the existing %s", f)
		}
	}

	pruneKinds := append([]schema.GroupVersionKind(nil), coreKinds...)
	for gk := range kinds {
		pruneKinds = append(pruneKinds, kinds.gvk(gk))
	}
	deleted, err := r.Applier.Prune(ctx, kap.Namespace, render.OwnerLabels(kap), kap.UID, pruneKinds, keep)
	if err == nil {
		// Generated htpasswd files the proxy no longer mounts.
		var gone []apply.ObjectID
		keepHtpasswd := map[apply.ObjectID]bool{}
		if h := res.generatedHtpasswd; h != "" {
			keepHtpasswd[apply.ObjectID{GroupKind: secretGK, Namespace: kap.Namespace, Name: h}] = true
		}
		gone, err = r.Applier.Prune(ctx, kap.Namespace, htpasswdLabels(kap), kap.UID,
			[]schema.GroupVersionKind{secretGK.WithVersion("v1")}, keepHtpasswd)
		deleted = append(deleted, gone...)
	}
	for _, id := range deleted {
		r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, "Pruned", "Delete",
			"Deleted %s %s/%s, which the spec no longer asks for", id.GroupKind.Kind, id.Namespace, id.Name)
	}
	if err != nil {
		return ctrl.Result{}, err
	}

	rep, problems, err := r.reconcileClusters(ctx, kap, kap.WithDefaults(r.ProxyImage), obs.names)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs.clusters = rep
	obs.problems = append(obs.problems, problems...)

	dep := &appsv1.Deployment{}
	err = r.Client.Get(ctx, types.NamespacedName{Namespace: kap.Namespace, Name: obs.names.Proxy}, dep)
	switch {
	case err == nil:
		obs.deployment = dep
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, err
	}

	if err := r.observePods(ctx, kap, obs); err != nil {
		return ctrl.Result{}, err
	}

	conds := computeConditions(kap, obs)
	if err := r.writeStatusValue(ctx, kap, newStatus(kap, conds, rep.statuses), conds); err != nil {
		return ctrl.Result{}, err
	}
	for _, err := range obs.applyErrors {
		// Retried with the controller's backoff; the status already says
		// what failed.
		return ctrl.Result{}, err
	}
	var result ctrl.Result
	if waitingForCRD(kap, kinds) {
		result.RequeueAfter = missingCRDRetry
	}
	if rep.active && (result.RequeueAfter == 0 || rep.requeueAfter < result.RequeueAfter) {
		// Other clusters are not watched: look again to repair drift there,
		// retry failures and check that metrics arrive.
		result.RequeueAfter = rep.requeueAfter
	}
	return result, nil
}

var secretGK = schema.GroupKind{Kind: "Secret"}

func waitingForCRD(kap *meshv1alpha1.KialiAuthProxy, kinds presence) bool {
	if !kinds.served(kialiGK) {
		return true
	}
	if kap.Spec.LockDownEnabled() && (!kinds.served(authorizationPolicyGK) || !kinds.served(peerAuthenticationGK)) {
		return true
	}
	if kap.Spec.Exposure.Route != nil {
		return !kinds.served(routeGK)
	}
	return !kinds.served(virtualServiceGK)
}

// atVersion returns obj as the given version of its kind, for kinds the API
// server serves at an older version than the one rendered.
func atVersion(obj client.Object, gvk schema.GroupVersionKind) (client.Object, error) {
	if obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj, nil
	}
	u, err := render.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// writeStatusValue writes the status only when it changed, and records an
// event for every condition that changed status.
func (r *Reconciler) writeStatusValue(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, st meshv1alpha1.KialiAuthProxyStatus, conds []metav1.Condition) error {
	if equality.Semantic.DeepEqual(st, kap.Status) {
		return nil
	}
	r.recordTransitions(kap, conds)
	base := kap.DeepCopy()
	kap.Status = st
	if err := r.Client.Status().Patch(ctx, kap, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

func (r *Reconciler) recordTransitions(kap *meshv1alpha1.KialiAuthProxy, conds []metav1.Condition) {
	for _, c := range conds {
		old := findCondition(kap.Status.Conditions, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason {
			continue
		}
		good := c.Status == metav1.ConditionTrue
		if c.Type == meshv1alpha1.ConditionDegraded || c.Type == meshv1alpha1.ConditionHtpasswdBypassesSAR || c.Type == meshv1alpha1.ConditionKialiWritesBypassSAR {
			// True is the bad news for these.
			good = !good
		}
		if old == nil && (good || c.Type == meshv1alpha1.ConditionReady || c.Type == meshv1alpha1.ConditionProxyAvailable) {
			// A first, healthy status is not news, and neither is a new
			// proxy that is not available yet: Ready and ProxyAvailable
			// report progress, the other conditions problems.
			continue
		}
		eventType := corev1.EventTypeNormal
		if !good {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(kap, nil, eventType, c.Reason, "Reconcile", "%s is %s: %s", c.Type, c.Status, c.Message)
	}
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// secretRefsIndex indexes KialiAuthProxy objects by the Secrets they read.
const secretRefsIndex = ".spec.secretRefs"

func secretRefs(o client.Object) []string {
	kap, ok := o.(*meshv1alpha1.KialiAuthProxy)
	if !ok {
		return nil
	}
	var refs []string
	if ref := kap.Spec.Proxy.SessionSecret; ref != nil {
		refs = append(refs, ref.Name)
	} else {
		refs = append(refs, render.NamesFor(kap).SessionSecret)
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
	d := kap.WithDefaults("")
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

// skipCleanupChanged lets the user's "give up" on an unreachable cluster
// take effect at once rather than at the next retry.
var skipCleanupChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[meshv1alpha1.SkipRemoteCleanupAnnotation] != e.ObjectNew.GetAnnotations()[meshv1alpha1.SkipRemoteCleanupAnnotation]
	},
}

// SetupWithManager registers the reconciler, its index and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &meshv1alpha1.KialiAuthProxy{}, secretRefsIndex, secretRefs); err != nil {
		return err
	}
	isOurCRD := predicate.NewPredicateFuncs(func(o client.Object) bool { return crdNames[o.GetName()] })
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&meshv1alpha1.KialiAuthProxy{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, skipCleanupChanged))).
		Owns(&appsv1.Deployment{}, builder.WithPredicates(ignoreCreates)).
		Owns(&corev1.Service{}, builder.WithPredicates(ignoreCreates)).
		Owns(&corev1.ServiceAccount{}, builder.WithPredicates(ignoreCreates)).
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata, builder.WithPredicates(ignoreCreates)).
		Owns(&networkingv1.NetworkPolicy{}, builder.WithPredicates(ignoreCreates)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSecret), builder.OnlyMetadata,
			builder.WithPredicates(notOurCreates)).
		// MeshLocked is proven from the running pods: their coming, going
		// and sidecars re-run the reconcile.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(requestForPod),
			builder.WithPredicates(meshStateChanged)).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.requestsForCRD),
			builder.OnlyMetadata, builder.WithPredicates(isOurCRD)).
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
