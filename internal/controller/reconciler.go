// Package controller holds the KialiAuthProxy reconciler: it reads the CR,
// resolves its inputs, renders, applies, prunes, wires the other clusters
// and writes the status. docs/architecture.md walks through the flow.
package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/multicluster"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/secrets"
)

// FieldOwner is the server-side apply field manager of every write.
const FieldOwner = render.Operator

// missingCRDRetry is how often a reconcile waiting for a CRD checks again.
// The CRD watch normally wakes it sooner; this covers API servers where the
// CRD object is not visible to us but its kind is served (aggregation).
const missingCRDRetry = 2 * time.Minute

// cacheLagRetry is how soon a reconcile looks again after finding an object
// in the way that the caches had not seen yet: their watches bring it
// within moments.
const cacheLagRetry = time.Second

// The KialiAuthProxy itself; the kinds it is made of are in kinds.go.
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies/status,verbs=get;patch
// +kubebuilder:rbac:groups=mesh.kialiauth.io,resources=kialiauthproxies/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheuses,verbs=get;patch

// Reconciler reconciles KialiAuthProxy objects.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	Scheme *runtime.Scheme
	// APIReader reads straight from the API server: Secrets, which are never
	// cached, and objects neither cache holds yet.
	APIReader client.Reader
	// Unmanaged reads the metadata of the objects of the kinds in Kinds
	// that do not carry the operator's label, from a cache: with the
	// manager's, it tells whether an object of a rendered name exists
	// without a request. Nil reads the API server instead.
	Unmanaged client.Reader
	Recorder  events.EventRecorder
	Applier   *apply.Applier
	// ProxyImage is the default oauth-proxy image (RELATED_IMAGE_OAUTH_PROXY).
	ProxyImage string
	// OAuth2ProxyImage is the default oauth2-proxy image of the OIDC
	// provider (RELATED_IMAGE_OAUTH2_PROXY).
	OAuth2ProxyImage string
	// AuthorizerImage runs the authorizing proxy behind oauth2-proxy: the
	// operator's own image (RELATED_IMAGE_AUTHORIZER).
	AuthorizerImage string
	// Login reads how the cluster logs users in (OpenShift's
	// Authentication); nil never looks.
	Login *LoginModes
	// Clusters hands out clients for the clusters in spec.clusters.
	Clusters *clusters.Cache
	// RevokeGrace is how long a replaced token of Kiali's stays valid on
	// its cluster; nil is multicluster.DefaultRevokeGrace.
	RevokeGrace *time.Duration

	watches *optionalWatches
}

// Reconcile converges one KialiAuthProxy. Each step reads the plan (the
// KialiAuthProxy defaulted and named once) and adds to the observation,
// from which the status is computed at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := r.Client.Get(ctx, req.NamespacedName, kap); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := render.PlanWithImages(kap, meshv1alpha1.Images{OAuthProxy: r.ProxyImage, OAuth2Proxy: r.OAuth2ProxyImage})
	// First, on every path (deletion and refused adoption included): until
	// released, release 0.1.0's CA bundle carries an owner reference that
	// would have the garbage collector delete it, and it may be the Kiali
	// operator's (legacy.go). Released, it stays in place, so the pods that
	// still mount it keep working until the proxy rolls to its own.
	if err := r.releaseLegacy(ctx, kap, p.Names); err != nil {
		return ctrl.Result{}, err
	}
	if !kap.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, p)
	}

	kinds, err := r.detectKinds(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	in, err := r.resolveInputs(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Which clusters' remote-cluster Secrets exist: the Kiali CR lists
	// only those.
	// One Wirer for the reconcile: it reads each cluster's kubeconfig once.
	w := r.wirer()
	mc, err := w.Prepare(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	in.inputs.KialiClusterSecrets = mc.KialiClusterSecrets()
	in.problems = append(in.problems, mc.Problems()...)
	login, err := r.loginProblem(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	out := render.Render(p, in.inputs)
	obs := newObservation(p, kinds, in, out)
	obs.login = login
	if login != nil && login.Reason == meshv1alpha1.ReasonIntegratedOAuthDisabled {
		out.Objects = withoutProxyDeployment(out.Objects)
	}

	objs, err := r.desired(p, kinds, out.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	foreign, absent, refused, err := r.inTheWay(ctx, p, objs, in)
	if err != nil {
		return ctrl.Result{}, err
	}
	if refused != nil {
		obs.refuse(*refused)
		return ctrl.Result{RequeueAfter: adoptionRetry}, r.writeStatus(ctx, p, computeConditions(p, obs), nil)
	}
	if err := r.adoptAll(ctx, foreign); err != nil {
		return ctrl.Result{}, err
	}
	lateFind, err := r.applyAll(ctx, p.Stored, objs, absent, obs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if lateFind {
		return ctrl.Result{RequeueAfter: cacheLagRetry}, nil
	}
	r.announceAdoptions(p, foreign, obs)
	if err := r.prune(ctx, p, kinds, objs, in); err != nil {
		return ctrl.Result{}, err
	}

	rep, problems, err := w.Reconcile(ctx, p, mc)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs.clusters = rep
	obs.problems = append(obs.problems, problems...)

	if err := r.observeProxy(ctx, p, obs); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.observePods(ctx, kap, obs); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeStatus(ctx, p, computeConditions(p, obs), rep.Statuses()); err != nil {
		return ctrl.Result{}, err
	}
	return r.result(p, kinds, obs)
}

// result says when to look again. A failed apply is retried with the
// controller's backoff; the status already says what failed.
func (r *Reconciler) result(p render.Plan, kinds presence, obs *observation) (ctrl.Result, error) {
	for _, err := range obs.applyErrors {
		return ctrl.Result{}, err
	}
	var result ctrl.Result
	if waitingForCRD(p.KAP, kinds) {
		result.RequeueAfter = missingCRDRetry
	}
	if rep := obs.clusters; rep.Watching() && (result.RequeueAfter == 0 || rep.RequeueAfter() < result.RequeueAfter) {
		// Other clusters are not watched: look again to repair drift there,
		// retry failures and check that metrics arrive.
		result.RequeueAfter = rep.RequeueAfter()
	}
	return result, nil
}

func waitingForCRD(d *meshv1alpha1.KialiAuthProxy, kinds presence) bool {
	if !kinds.served(kialiGK) {
		return true
	}
	if d.Spec.LockDownEnabled() && (!kinds.served(authorizationPolicyGK) || !kinds.served(peerAuthenticationGK)) {
		return true
	}
	if t := d.Spec.Proxy.TLS; t != nil && t.CertManager != nil && !kinds.served(certificateGK) {
		return true
	}
	if t := d.Spec.Kiali.TLS; t != nil && t.CertManager != nil && !kinds.served(certificateGK) {
		return true
	}
	switch e := d.Spec.Exposure; {
	case e.Route != nil:
		return !kinds.served(routeGK)
	case e.HTTPRoute != nil:
		return !kinds.served(httpRouteGK)
	}
	return !kinds.served(virtualServiceGK)
}

// finalize takes what was written on other clusters out again; every child
// in the namespace carries an owner reference, and the garbage collector
// removes it. A removal that fails keeps the KialiAuthProxy, and its status
// says why.
func (r *Reconciler) finalize(ctx context.Context, p render.Plan) (ctrl.Result, error) {
	pending, err := r.wirer().Cleanup(ctx, p)
	if err != nil || pending == nil {
		return ctrl.Result{}, err
	}
	kap := p.Stored
	conds := conditions.Replace(kap.Status.Conditions, *pending)
	if err := r.writeStatus(ctx, p, conds, kap.Status.Clusters); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: multicluster.CleanupRetry}, nil
}

// loginProblem says why the proxy of the spec cannot log anyone in, or
// authorize as asked, on this cluster; nil when it can or the cluster does
// not say.
func (r *Reconciler) loginProblem(ctx context.Context, p render.Plan) (*conditions.Problem, error) {
	if r.Login == nil {
		return nil, nil
	}
	m, err := r.Login.Get(ctx)
	if err != nil {
		return nil, err
	}
	return loginProblem(p.KAP, m), nil
}

// withoutProxyDeployment leaves the proxy's Deployment out: a proxy that
// cannot log anyone in is not rolled out (and one rolled out before is
// pruned), while the condition says why.
func withoutProxyDeployment(objs []client.Object) []client.Object {
	var out []client.Object
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind == "Deployment" {
			continue
		}
		out = append(out, o)
	}
	return out
}

func (r *Reconciler) wirer() *multicluster.Wirer {
	return &multicluster.Wirer{
		Client: r.Client, APIReader: r.APIReader, Secrets: r.secrets(),
		Applier: r.Applier, Scheme: r.Scheme, Recorder: r.Recorder, Clusters: r.Clusters,
		RevokeGrace: r.RevokeGrace,
	}
}

// secrets reads the Secrets the spec references, live.
func (r *Reconciler) secrets() secrets.Reader { return secrets.Reader{API: r.APIReader} }

// event records a Normal event on the KialiAuthProxy.
func (r *Reconciler) event(kap *meshv1alpha1.KialiAuthProxy, reason, action, format string, args ...any) {
	r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, reason, action, format, args...)
}
