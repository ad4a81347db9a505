package multicluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

const (
	// clusterRetry is how soon a failed write on a cluster is tried again.
	clusterRetry = 30 * time.Second
	// CleanupRetry is how soon a deletion waiting for a removal on another
	// cluster tries again.
	CleanupRetry = clusterRetry
	// spokeResync repairs drift on other clusters, which are not watched.
	spokeResync = 10 * time.Minute
)

// desiredWirings are the places the spec asks the entry to be.
func desiredWirings(d *meshv1alpha1.KialiAuthProxy, n render.Names) []wiring {
	if d.Spec.Metrics == nil {
		// Nowhere to write to; admission refuses a cluster's prometheus
		// without spec.metrics, so only an object stored before that rule
		// gets here.
		return nil
	}
	var out []wiring
	for _, c := range d.Spec.Clusters {
		p := c.Prometheus
		if p == nil {
			continue
		}
		t, pl, ok := targetFor(p)
		if !ok {
			continue
		}
		out = append(out, wiring{
			Cluster:    c.Name,
			Kubeconfig: render.SecretKey{Name: c.Kubeconfig.Name, Key: c.Kubeconfig.Key},
			Sender:     t.kind(),
			Namespace:  pl.namespace,
			Name:       pl.name,
			Key:        pl.key,
			Entry:      n.RemoteWriteEntry,
		})
	}
	return out
}

// entryFor is the remote_write entry for one cluster.
func entryFor(d *meshv1alpha1.KialiAuthProxy, n render.Names, c meshv1alpha1.ClusterSpec, username string) remotewrite.Entry {
	m := d.Spec.Metrics
	e := remotewrite.Entry{
		Name:         n.RemoteWriteEntry,
		URL:          m.Receiver.URL,
		KeepRegex:    m.KeepRegex,
		ClusterLabel: m.ClusterLabel,
		Cluster:      c.Name,
		// The Prometheus Operator's default, which OpenShift keeps;
		// wirePrometheus reads the one a Prometheus resource sets.
		ReplicaLabel: remotewrite.DefaultReplicaLabel,
	}
	rc := m.Receiver
	e.Auth = remotewrite.Auth{
		Secret:      n.RemoteWriteEntry,
		BearerToken: rc.BearerToken != nil,
		BasicAuth:   rc.BasicAuth != nil,
		Username:    username,
		CA:          rc.CA != nil,
	}
	if _, pl, ok := targetFor(c.Prometheus); ok {
		e.Auth.Dir = pl.credentialsDir
	}
	return e
}

// Reconcile makes and checks Kiali's access to every cluster, wires every
// cluster's Prometheus to the receiver, takes out of clusters that left
// the spec what was made there, switches the hub's receiver on, and checks
// that metrics arrive. A cluster that cannot be reached fails only its own
// status entry: the hub objects are applied before this. st is what
// Prepare read before rendering.
func (r *Wirer) Reconcile(ctx context.Context, plan render.Plan, st *State) (*Report, []conditions.Problem, error) {
	kap, d, n := plan.Stored, plan.KAP, plan.Names
	var problems []conditions.Problem
	rep := &Report{requeueAfter: spokeResync, state: st, spec: d.Spec.Clusters}
	if err := r.reconcileAccess(ctx, plan, st, rep); err != nil {
		return nil, nil, err
	}
	r.checkClusters(ctx, plan, st, rep)

	desired := desiredWirings(d, n)
	var wantReceiver *meshv1alpha1.ObjectReference
	if d.Spec.Metrics != nil {
		wantReceiver = d.Spec.Metrics.Receiver.Prometheus
	}
	if len(desired) == 0 && wantReceiver == nil && !controllerutil.ContainsFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer) {
		// Nothing asked for and, as the finalizer is added before the first
		// remote write, nothing written: no need to read the record.
		rep.finish()
		return rep, problems, nil
	}
	prev := st.rec
	rep.active = len(desired) > 0 || wantReceiver != nil || len(prev.Wirings) > 0 || prev.Receiver != nil
	if !rep.active {
		rep.finish()
		if len(prev.Access) > 0 {
			return rep, problems, nil
		}
		// Everything written has been taken out again.
		return rep, problems, r.releaseFinalizer(ctx, kap)
	}
	if d.Spec.Metrics != nil {
		rep.receiverURL = d.Spec.Metrics.Receiver.URL
	}
	rep.receiver = wantReceiver
	if err := r.ensureFinalizer(ctx, kap); err != nil {
		return nil, nil, err
	}

	creds, username, credProblems, err := r.receiverCredentials(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	problems = append(problems, credProblems...)

	// Record first what is about to be written.
	ahead := &record{Wirings: unionWirings(prev.Wirings, desired), Receiver: prev.Receiver, Access: prev.Access}
	if err := r.saveRecord(ctx, kap, n, ahead, prev); err != nil {
		return nil, nil, err
	}

	wanted := map[string]bool{}
	for _, w := range desired {
		wanted[w.id()] = true
	}
	var kept []wiring
	for _, w := range prev.Wirings {
		if wanted[w.id()] {
			continue
		}
		if err := r.unwireWith(ctx, kap, w); err != nil {
			if r.skipCleanup(kap, w.String(), err) {
				continue
			}
			rep.leftovers = append(rep.leftovers, fmt.Sprintf("%s: %v", w, err))
			kept = append(kept, w)
		}
	}

	specClusters := map[string]meshv1alpha1.ClusterSpec{}
	for _, c := range d.Spec.Clusters {
		specClusters[c.Name] = c
	}
	for _, w := range desired {
		if old := findWiring(prev.Wirings, w.id()); old != nil {
			w.CreatedConfigMap = old.CreatedConfigMap
		}
		st := meshv1alpha1.ClusterStatus{Name: w.Cluster, Entry: w.Entry}
		switch cl, err := r.clientFor(ctx, kap.Namespace, w.Kubeconfig); {
		case len(credProblems) > 0:
			st.Reason, st.Message = meshv1alpha1.ReasonClusterUnreachable, "not wired: the receiver credentials are incomplete (see the Degraded condition)"
		case err != nil:
			st.Reason, st.Message = meshv1alpha1.ReasonClusterUnreachable, fmt.Sprintf("cannot write on cluster %s: %v", w.Cluster, err)
		default:
			entry := entryFor(d, n, specClusters[w.Cluster], username)
			var f *finding
			w, f, err = wire(ctx, cl, w, entry, creds)
			st = clusterStatusOf(st, f, err)
		}
		if !st.Wired || st.Reason != "" {
			rep.failed = append(rep.failed, w.Cluster)
		}
		rep.statuses = append(rep.statuses, st)
		kept = append(kept, w)
	}

	final := &record{Wirings: kept, Receiver: prev.Receiver, Access: prev.Access}
	rep.hubPods, rep.receiverErr = r.reconcileReceiver(ctx, kap, n, wantReceiver, ahead, final)
	if err := r.saveRecord(ctx, kap, n, final, ahead); err != nil {
		return nil, nil, err
	}
	*st.rec = *final

	if v := verifySettings(d); v != nil && len(desired) > 0 {
		rep.requeueAfter = v.Interval.Duration
		r.verify(ctx, d, v, rep)
		rep.hubClusterID, rep.hubClusterIDErr = r.hubClusterID(ctx, d)
	}
	if len(rep.failed) > 0 || len(rep.leftovers) > 0 || rep.receiverErr != nil {
		rep.requeueAfter = min(rep.requeueAfter, clusterRetry)
	}
	rep.finish()
	return rep, problems, nil
}

// clusterStatusOf fills in a cluster's status from what wiring it saw: a
// finding that is a problem names the reason, and one that says the entry
// does not take effect comes first, as it is what to fix.
func clusterStatusOf(st meshv1alpha1.ClusterStatus, f *finding, err error) meshv1alpha1.ClusterStatus {
	switch {
	case f != nil && f.notWired && err != nil:
		st.Reason, st.Message = f.reason, fmt.Sprintf("%s (writing the entry failed too: %v)", f.message, err)
	case f != nil && f.notWired:
		st.Reason, st.Message = f.reason, f.message
	case err != nil:
		st.Reason, st.Message = meshv1alpha1.ReasonClusterUnreachable, err.Error()
	case f != nil:
		st.Wired, st.Reason, st.Message = true, f.reason, f.message
	default:
		st.Wired = true
	}
	return st
}

// reconcileReceiver switches the receiver of the hub Prometheus on, and off
// again where the operator had switched it on and the spec no longer asks.
// ahead is saved before the switch is written; final is the record after.
// It returns how many pods the hub Prometheus runs (0 when not read).
func (r *Wirer) reconcileReceiver(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, n render.Names, want *meshv1alpha1.ObjectReference, ahead, final *record) (int64, error) {
	had := ahead.Receiver
	if had != nil && (want == nil || *had != *want) {
		if err := r.releaseReceiver(ctx, kap, *had); err != nil && !r.skipCleanup(kap, "the remote-write receiver of Prometheus "+had.Namespace+"/"+had.Name, err) {
			return 0, err
		}
		final.Receiver = nil
		had = nil
	}
	if want == nil {
		return 0, nil
	}
	p, err := r.hubPrometheus(ctx, kap.Namespace, *want)
	if err != nil {
		return 0, err
	}
	pods := hubPods(p)
	if on, _, _ := unstructured.NestedBool(p.Object, "spec", "enableRemoteWriteReceiver"); on {
		// Ours when we switched it on earlier; the user's otherwise.
		final.Receiver = had
		return pods, nil
	}
	ahead.Receiver = want
	if err := r.saveRecord(ctx, kap, n, ahead, &record{Wirings: ahead.Wirings, Receiver: had, Access: ahead.Access}); err != nil {
		return pods, err
	}
	if err := r.switchReceiverOn(ctx, p); err != nil {
		return pods, err
	}
	final.Receiver = want
	return pods, nil
}

// errNoHubPrometheus: the hub Prometheus, or its CRD, does not exist.
var errNoHubPrometheus = errors.New("no such Prometheus")

// hubPrometheus reads the hub Prometheus ref for a KialiAuthProxy in
// namespace ns. One the operator may not write for it (receiverAllowed)
// is a *notAllowedError, whether or not it exists.
func (r *Wirer) hubPrometheus(ctx context.Context, ns string, ref meshv1alpha1.ObjectReference) (*unstructured.Unstructured, error) {
	p := &unstructured.Unstructured{}
	p.SetGroupVersionKind(clusters.PrometheusGVK)
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, p)
	other := ref.Namespace != ns
	switch {
	case meta.IsNoMatchError(err):
		return nil, fmt.Errorf("%w: the Prometheus Operator CRD (prometheuses.monitoring.coreos.com) is not installed here: unset spec.metrics.receiver.prometheus or install the Prometheus Operator", errNoHubPrometheus)
	case apierrors.IsNotFound(err) && other:
		return nil, &notAllowedError{namespace: ns, ref: ref}
	case apierrors.IsForbidden(err):
		// Reads pass no admission: this is the operator's RBAC.
		return nil, &notAllowedError{namespace: ns, ref: ref, forbidden: true}
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%w: Prometheus %s/%s (spec.metrics.receiver.prometheus) does not exist", errNoHubPrometheus, ref.Namespace, ref.Name)
	case err != nil:
		return nil, fmt.Errorf("reading Prometheus %s/%s: %w", ref.Namespace, ref.Name, err)
	case !receiverAllowed(ns, ref, p.GetAnnotations()):
		listed := allowedNamespaces(p.GetAnnotations()[meshv1alpha1.AllowedNamespacesAnnotation])
		return nil, &notAllowedError{namespace: ns, ref: ref, wildcard: slices.Contains(listed, "*")}
	}
	return p, nil
}

// hubPods is how many pods the hub Prometheus runs: spec.replicas for each
// of spec.shards, both 1 by default.
func hubPods(p *unstructured.Unstructured) int64 {
	replicas, shards := int64(1), int64(1)
	if v, ok, _ := unstructured.NestedInt64(p.Object, "spec", "replicas"); ok {
		replicas = v
	}
	if v, ok, _ := unstructured.NestedInt64(p.Object, "spec", "shards"); ok && v > 0 {
		shards = v
	}
	return replicas * shards
}

// switchReceiverOn server-side applies spec.enableRemoteWriteReceiver with
// the resourceVersion read, so the write goes only to the object whose
// annotations were checked.
func (r *Wirer) switchReceiverOn(ctx context.Context, p *unstructured.Unstructured) error {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"enableRemoteWriteReceiver": true}}}
	u.SetGroupVersionKind(clusters.PrometheusGVK)
	u.SetNamespace(p.GetNamespace())
	u.SetName(p.GetName())
	u.SetResourceVersion(p.GetResourceVersion())
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(render.Operator), client.ForceOwnership); err != nil {
		return fmt.Errorf("switching on the remote-write receiver of Prometheus %s/%s: %w", p.GetNamespace(), p.GetName(), err)
	}
	return nil
}

// releaseReceiver switches off a receiver the operator switched on, by
// removing the field. A Prometheus that is gone is done with; one the
// KialiAuthProxy may no longer write (its owner took the namespace out of
// the annotation, or the record names one it never could) is left as it
// is, with a Warning event: whether it stays on is its owner's call.
func (r *Wirer) releaseReceiver(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, ref meshv1alpha1.ObjectReference) error {
	p, err := r.hubPrometheus(ctx, kap.Namespace, ref)
	var refused *notAllowedError
	switch {
	case errors.Is(err, errNoHubPrometheus):
		return nil
	case errors.As(err, &refused):
		r.Recorder.Eventf(kap, nil, corev1.EventTypeWarning, meshv1alpha1.ReasonReceiverLeftAlone, "Cleanup",
			"Left the remote-write receiver of Prometheus %s/%s as it is, though the operator had switched it on: %v", ref.Namespace, ref.Name, err)
		return nil
	case err != nil:
		return err
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(p.Object, "spec", "enableRemoteWriteReceiver"); !found {
		return nil
	}
	raw, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": p.GetResourceVersion()},
		"spec":     map[string]any{"enableRemoteWriteReceiver": nil},
	})
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, p, client.RawPatch(types.MergePatchType, raw), client.FieldOwner(render.Operator)); err != nil {
		return fmt.Errorf("switching off the remote-write receiver of Prometheus %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return nil
}

// receiverCredentials reads the receiver credentials the clusters get a
// copy of.
func (r *Wirer) receiverCredentials(ctx context.Context, d *meshv1alpha1.KialiAuthProxy) (map[string][]byte, string, []conditions.Problem, error) {
	if d.Spec.Metrics == nil {
		return nil, "", nil, nil
	}
	rc := d.Spec.Metrics.Receiver
	creds := map[string][]byte{}
	var problems []conditions.Problem
	read := func(ref render.SecretKey, role, as string) error {
		_, v, p, err := r.Secrets.Key(ctx, d.Namespace, ref, role)
		if err != nil {
			return err
		}
		if p != nil {
			problems = append(problems, *p)
			return nil
		}
		creds[as] = v
		return nil
	}
	if t := rc.BearerToken; t != nil {
		if err := read(render.SecretKey{Name: t.Name, Key: t.Key}, "referenced by spec.metrics.receiver.bearerToken", remotewrite.BearerTokenKey); err != nil {
			return nil, "", nil, err
		}
	}
	if b := rc.BasicAuth; b != nil {
		for _, key := range []string{remotewrite.UsernameKey, remotewrite.PasswordKey} {
			if err := read(render.SecretKey{Name: b.Name, Key: key}, "referenced by spec.metrics.receiver.basicAuth", key); err != nil {
				return nil, "", nil, err
			}
		}
	}
	if ca := rc.CA; ca != nil {
		if err := read(render.SecretKey{Name: ca.Name, Key: ca.Key}, "referenced by spec.metrics.receiver.ca", remotewrite.CAKey); err != nil {
			return nil, "", nil, err
		}
	}
	return creds, string(creds[remotewrite.UsernameKey]), problems, nil
}

func (r *Wirer) clientFor(ctx context.Context, namespace string, ref render.SecretKey) (client.Client, error) {
	return r.clusterClient(ctx, clusters.SecretKey{Namespace: namespace, Name: ref.Name, Key: ref.Key})
}

// unwireWith removes one wiring. When the kubeconfig Secret is gone (a
// namespace being deleted takes it with the KialiAuthProxy), the client
// built from it earlier is used.
func (r *Wirer) unwireWith(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, w wiring) error {
	key := clusters.SecretKey{Namespace: kap.Namespace, Name: w.Kubeconfig.Name, Key: w.Kubeconfig.Key}
	cl, err := r.clusterClient(ctx, key)
	if err != nil {
		last, ok := r.Clusters.Last(key)
		if !ok {
			return err
		}
		cl = last
	}
	return unwire(ctx, cl, w)
}

// skipCleanup reports whether a failed removal is given up on, because the
// user asked for it; what is left behind is named in a Warning event.
func (r *Wirer) skipCleanup(kap *meshv1alpha1.KialiAuthProxy, what string, err error) bool {
	if kap.Annotations[meshv1alpha1.SkipRemoteCleanupAnnotation] != "true" {
		return false
	}
	r.Recorder.Eventf(kap, nil, corev1.EventTypeWarning, meshv1alpha1.ReasonCleanupSkipped, "Cleanup",
		"Left the operator's remote_write changes in %s, as %s asks: %v", what, meshv1alpha1.SkipRemoteCleanupAnnotation, err)
	return true
}

func unionWirings(a, b []wiring) []wiring {
	out := append([]wiring(nil), a...)
	for _, w := range b {
		if findWiring(out, w.id()) == nil {
			out = append(out, w)
		}
	}
	return out
}

func findWiring(ws []wiring, id string) *wiring {
	i := slices.IndexFunc(ws, func(w wiring) bool { return w.id() == id })
	if i < 0 {
		return nil
	}
	return &ws[i]
}
