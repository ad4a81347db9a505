package multicluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Kiali's access to the clusters with kialiAccess Managed: the operator
// makes Kiali's ServiceAccount and roles there, issues it short-lived
// tokens with the TokenRequest API, and writes each token into a new
// immutable remote-cluster Secret at the hub. A token is bound to an
// anchor Secret on the cluster, so deleting the anchor revokes it.

// DefaultRevokeGrace is how long a replaced token stays valid after its
// successor's Secret is listed in the Kiali CR: time for the Kiali
// operator to roll Kiali onto the new Secret, so Kiali does not lose the
// cluster during a renewal.
const DefaultRevokeGrace = 5 * time.Minute

// accessFor is the recorded access of a Managed cluster as ra, Kiali's
// access of the plan, makes it.
func accessFor(ra render.RemoteAccess, c meshv1alpha1.ClusterSpec) access {
	return access{
		Cluster:    c.Name,
		Kubeconfig: render.SecretKey{Name: c.Kubeconfig.Name, Key: c.Kubeconfig.Key},
		Namespace:  ra.ServiceAccount.Namespace,
		Name:       ra.ServiceAccount.Name,
		Role:       ra.Role != nil,
	}
}

// samePlace: the access is made in the same objects, so its tokens stay.
func (a access) samePlace(b access) bool {
	return a.Cluster == b.Cluster && a.Kubeconfig == b.Kubeconfig && a.Namespace == b.Namespace && a.Name == b.Name
}

// reconcileAccess makes and renews Kiali's access to every Managed
// cluster, and takes out what the spec no longer asks for. Each cluster's
// outcome goes to its status; only a failure to keep the record is an
// error.
func (r *Wirer) reconcileAccess(ctx context.Context, p render.Plan, st *State, rep *Report) error {
	kap, d := p.Stored, p.KAP
	rec := st.rec
	var managed []meshv1alpha1.ClusterSpec
	for _, c := range d.Spec.Clusters {
		if c.KialiAccess == meshv1alpha1.KialiAccessManaged {
			managed = append(managed, c)
		}
	}
	if len(managed) == 0 && len(rec.Access) == 0 {
		return nil
	}
	if err := r.ensureFinalizer(ctx, kap); err != nil {
		return err
	}

	// Record first what is about to be made; an access whose place moved
	// is removed and made anew.
	var keep, gone []access
	wanted := map[string]access{}
	for _, c := range managed {
		wanted[c.Name] = accessFor(st.access, c)
	}
	for _, a := range rec.Access {
		if w, ok := wanted[a.Cluster]; ok && a.samePlace(w) {
			a.Role = a.Role || w.Role
			keep = append(keep, a)
		} else {
			gone = append(gone, a)
		}
	}
	for _, c := range managed {
		if findAccess(keep, c.Name) == nil {
			keep = append(keep, wanted[c.Name])
		}
	}
	if err := r.updateRecord(ctx, p, rec, func(n *record) { n.Access = append(append([]access(nil), keep...), gone...) }); err != nil {
		return err
	}

	var left []access
	save := func() error {
		return r.updateRecord(ctx, p, rec, func(n *record) { n.Access = append(append([]access(nil), keep...), left...) })
	}
	for _, a := range gone {
		if err := r.removeAccess(ctx, p, a); err != nil {
			if r.skipCleanup(kap, "Kiali's access to cluster "+a.Cluster, err) {
				continue
			}
			rep.leftovers = append(rep.leftovers, fmt.Sprintf("Kiali's access to cluster %s: %v", a.Cluster, err))
			left = append(left, a)
		}
	}
	if err := save(); err != nil {
		return err
	}
	for _, c := range managed {
		a := findAccess(keep, c.Name)
		if err := r.ensureAccess(ctx, p, c, a, wanted[c.Name].Role, st, rep, save); err != nil {
			return err
		}
		if err := r.revokeReplaced(ctx, p, c, a, st.secrets[c.Name], rep); err != nil {
			rep.retry = true
			st.kiali[c.Name].Message = joinMessage(st.kiali[c.Name].Message, fmt.Sprintf("revoking a replaced token failed, retried: %v", err))
		}
		if err := save(); err != nil {
			return err
		}
	}
	return nil
}

// updateRecord applies change to a copy of rec, saves it when it differs,
// and makes it rec.
func (r *Wirer) updateRecord(ctx context.Context, p render.Plan, rec *record, change func(*record)) error {
	next := *rec
	change(&next)
	if err := r.saveRecord(ctx, p.Stored, p.Names, &next, rec); err != nil {
		return err
	}
	// A deep copy: the callers keep changing the entries they passed,
	// which the next save must see as changes.
	saved, err := recordJSON(&next)
	if err != nil {
		return err
	}
	fresh := &record{}
	if err := json.Unmarshal([]byte(saved), fresh); err != nil {
		return err
	}
	*rec = *fresh
	return nil
}

// ensureAccess makes Kiali's objects on one cluster and keeps a valid
// token for them; a is its entry in the record, changed in place.
// Only a failure to save the record is an error: the rest goes to the
// cluster's status.
func (r *Wirer) ensureAccess(ctx context.Context, p render.Plan, c meshv1alpha1.ClusterSpec, a *access, wantRole bool, st *State, rep *Report, save func() error) error {
	ks := st.kiali[c.Name]
	now := r.now()
	fail := func(err error) {
		ks.Reason, ks.Message = meshv1alpha1.ReasonAccessFailed, fmt.Sprintf("cannot make Kiali's access to cluster %s: %v", c.Name, err)
		if t := a.newest(); t != nil {
			ks.Reason = meshv1alpha1.ReasonTokenRenewalFailed
			ks.Message = fmt.Sprintf("cannot renew Kiali's token for cluster %s: %v; %s", c.Name, err, timeLeft(t, now))
			r.noteToken(ks, t, rep)
		}
		rep.retry = true
	}
	key := clusters.SecretKey{Namespace: p.Names.Namespace, Name: a.Kubeconfig.Name, Key: a.Kubeconfig.Key}
	cl, err := r.clusterClient(ctx, key)
	if err != nil {
		fail(err)
		return nil
	}
	for _, obj := range st.access.Objects() {
		if err := r.applyRemote(ctx, p, cl, c.Name, obj); err != nil {
			fail(err)
			return nil
		}
	}
	if a.Role && !wantRole {
		if err := r.deleteRoles(ctx, p, cl, *a); err != nil {
			fail(err)
			return nil
		}
		a.Role = false
	}

	t := a.newest()
	rotation := p.Stored.Annotations[meshv1alpha1.RotateRemoteAccessAnnotation]
	switch {
	case t == nil:
	case a.Rotation != rotation:
		r.event(p, "Renewing Kiali's token for cluster %s, as annotation %s changed", c.Name, meshv1alpha1.RotateRemoteAccessAnnotation)
	case !now.Before(t.renewAt()):
	case st.secrets[c.Name] == "":
		// The hub Secret of the newest token is gone.
		r.event(p, "Renewing Kiali's token for cluster %s, as its Secret %s is gone", c.Name, t.Secret)
	default:
		r.noteToken(ks, t, rep)
		if !r.checkCredentials(ctx, p, c, t.Secret, st.access, ks) {
			return nil
		}
		// Revoked or expired behind the operator's back: the anchor was
		// deleted, the ServiceAccount made anew, the signing key changed.
		r.event(p, "Renewing Kiali's token for cluster %s, as the cluster refuses the current one", c.Name)
		*ks = meshv1alpha1.KialiClusterStatus{Secret: ks.Secret, Listed: ks.Listed}
	}
	if err := r.issueToken(ctx, p, c, cl, key, a, rotation, save); err != nil {
		var saveErr *recordError
		if errors.As(err, &saveErr) {
			return err
		}
		fail(err)
		return nil
	}
	rep.issued = true
	t = a.newest()
	*ks = meshv1alpha1.KialiClusterStatus{Secret: ks.Secret, Listed: ks.Listed}
	r.noteToken(ks, t, rep)
	r.checkCredentials(ctx, p, c, t.Secret, st.access, ks)
	if !ks.Listed {
		setReason(ks, meshv1alpha1.ReasonKialiSecretMissing, fmt.Sprintf(
			"Kiali's Secret %s/%s for cluster %s was just made; the Kiali CR lists it on the next pass", p.Names.Namespace, t.Secret, c.Name))
	}
	return nil
}

// checkClusters checks the credentials of the clusters with Provided
// access (Managed ones are checked as their tokens are kept), and every
// cluster's name in Istio.
func (r *Wirer) checkClusters(ctx context.Context, p render.Plan, st *State, rep *Report) {
	for _, c := range p.KAP.Spec.Clusters {
		ks := st.kiali[c.Name]
		if c.KialiAccess != meshv1alpha1.KialiAccessManaged && ks.Listed {
			r.checkCredentials(ctx, p, c, st.secrets[c.Name], st.access, ks)
		}
		r.checkIstioClusterID(ctx, p, c, ks)
		if ks.Reason != "" {
			rep.retry = true
		}
	}
}

// hubClusterID is the hub's own name in Istio, from its istiod.
func (r *Wirer) hubClusterID(ctx context.Context, d *meshv1alpha1.KialiAuthProxy) (string, error) {
	ids, _, err := istioClusterIDs(ctx, r.APIReader, d)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("no istiod in namespace %s", d.Spec.Kiali.IstioNamespace)
	}
	return ids[0], nil
}

// noteToken puts the token's times in the status.
func (r *Wirer) noteToken(ks *meshv1alpha1.KialiClusterStatus, t *token, rep *Report) {
	exp, renew := metav1.NewTime(t.ExpiresAt), metav1.NewTime(t.renewAt())
	ks.TokenExpiresAt, ks.RenewAt = &exp, &renew
	rep.wakeAt(t.renewAt())
}

// timeLeft says how long Kiali keeps the cluster with the current token.
func timeLeft(t *token, now time.Time) string {
	left := t.ExpiresAt.Sub(now).Round(time.Second)
	if left <= 0 {
		return fmt.Sprintf("the current token expired at %s, so Kiali has lost the cluster", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("the current token expires at %s, in %s, when Kiali loses the cluster", t.ExpiresAt.UTC().Format(time.RFC3339), left)
}

// issueToken issues a new token and writes its hub Secret. The token's
// suffix is recorded before anything is made, so an attempt cut short is
// finished under the same names.
func (r *Wirer) issueToken(ctx context.Context, p render.Plan, c meshv1alpha1.ClusterSpec, cl client.Client, key clusters.SecretKey, a *access, rotation string, save func() error) error {
	if n := len(a.Tokens); n == 0 || a.Tokens[n-1].issued() {
		suffix, err := randomSuffix()
		if err != nil {
			return err
		}
		a.Tokens = append(a.Tokens, token{Suffix: suffix, Secret: render.KialiRemoteSecretName(c, suffix)})
		if err := save(); err != nil {
			return &recordError{err}
		}
	}
	t := &a.Tokens[len(a.Tokens)-1]

	anchor := render.TokenAnchor(p, t.Suffix)
	if err := cl.Create(ctx, anchor); apierrors.IsAlreadyExists(err) {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(anchor), anchor); err != nil {
			return fmt.Errorf("reading Secret %s/%s: %w", anchor.Namespace, anchor.Name, err)
		}
		if !r.ours(p, anchor.Labels) {
			return fmt.Errorf("Secret %s/%s exists and was not made by this KialiAuthProxy", anchor.Namespace, anchor.Name)
		}
	} else if err != nil {
		return fmt.Errorf("creating the token's anchor Secret %s/%s: %w", anchor.Namespace, anchor.Name, err)
	}

	seconds := int64(c.TokenLifetime.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Secret", Name: anchor.Name, UID: anchor.UID},
	}}
	sa := &corev1.ServiceAccount{}
	sa.Namespace, sa.Name = a.Namespace, a.Name
	if err := cl.SubResource("token").Create(ctx, sa, tr); err != nil {
		return fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", a.Namespace, a.Name, err)
	}
	server, ca, _ := r.Clusters.Endpoint(key)
	kc, err := render.KialiKubeconfig(c.Name, server, ca, tr.Status.Token)
	if err != nil {
		return err
	}
	secret := render.KialiRemoteSecret(p, c, t.Suffix, kc)
	if err := controllerutil.SetControllerReference(p.Stored, secret, r.Scheme); err != nil {
		return err
	}
	if err := r.createHubSecret(ctx, p, secret); err != nil {
		return err
	}

	now := r.now()
	for i := range a.Tokens[:len(a.Tokens)-1] {
		if a.Tokens[i].RevokeAt.IsZero() {
			a.Tokens[i].RevokeAt = now.Add(r.revokeGrace())
		}
	}
	t.IssuedAt, t.ExpiresAt = now, tr.Status.ExpirationTimestamp.Time
	a.Rotation = rotation
	r.event(p, "Issued Kiali a token for cluster %s, valid until %s, in Secret %s/%s", c.Name, t.ExpiresAt.UTC().Format(time.RFC3339), secret.Namespace, secret.Name)
	return nil
}

// createHubSecret creates a token's hub Secret. One of that name left by
// an attempt cut short holds a token nobody recorded: it is replaced. One
// the KialiAuthProxy did not make is never touched.
func (r *Wirer) createHubSecret(ctx context.Context, p render.Plan, secret *corev1.Secret) error {
	err := r.Client.Create(ctx, secret)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", secret.Namespace, secret.Name, err)
		}
		return nil
	}
	live := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), live); err != nil {
		return fmt.Errorf("reading Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	if !r.ours(p, live.Labels) {
		return fmt.Errorf("Secret %s/%s exists and was not made by this KialiAuthProxy: delete or rename it", secret.Namespace, secret.Name)
	}
	if err := r.deleteHubSecret(ctx, p, secret.Name); err != nil {
		return err
	}
	secret.ResourceVersion = ""
	if err := r.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return nil
}

// recordError: the record could not be saved, so nothing may be made.
type recordError struct{ err error }

func (e *recordError) Error() string { return e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

// revokeReplaced deletes the tokens a newer one replaced, once their
// grace is over and the Kiali CR no longer names their Secret: their
// anchors go, so the cluster refuses them, and their hub Secrets go.
func (r *Wirer) revokeReplaced(ctx context.Context, p render.Plan, c meshv1alpha1.ClusterSpec, a *access, listed string, rep *Report) error {
	newest := a.newest()
	if newest == nil || newest.Secret != listed {
		// Kiali still reads an older token: it stays until the Kiali CR
		// names the newest.
		return nil
	}
	now := r.now()
	var kept []token
	var firstErr error
	for _, t := range a.Tokens {
		switch {
		case t.Suffix == newest.Suffix || t.RevokeAt.IsZero():
			kept = append(kept, t)
		case now.Before(t.RevokeAt):
			kept = append(kept, t)
			rep.wakeAt(t.RevokeAt)
		default:
			if err := r.revokeToken(ctx, p, *a, t); err != nil {
				kept = append(kept, t)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			r.event(p, "Revoked Kiali's previous token for cluster %s (Secret %s)", c.Name, t.Secret)
		}
	}
	a.Tokens = kept
	return firstErr
}

// revokeToken deletes a token's anchor on its cluster and its hub Secret.
func (r *Wirer) revokeToken(ctx context.Context, p render.Plan, a access, t token) error {
	cl, err := r.accessClient(ctx, p, a)
	if err != nil {
		return err
	}
	anchor := render.TokenAnchor(p, t.Suffix)
	anchor.Namespace = a.Namespace
	if err := r.deleteRemote(ctx, p, cl, a.Cluster, anchor); err != nil {
		return err
	}
	return r.deleteHubSecret(ctx, p, t.Secret)
}

// deleteHubSecret deletes a hub Secret of this KialiAuthProxy's.
func (r *Wirer) deleteHubSecret(ctx context.Context, p render.Plan, name string) error {
	live := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: p.Names.Namespace, Name: name}, live)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Secret %s/%s: %w", p.Names.Namespace, name, err)
	}
	if !r.ours(p, live.Labels) {
		return nil
	}
	uid := live.UID
	if err := r.Client.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s/%s: %w", p.Names.Namespace, name, err)
	}
	return nil
}

// removeAccess takes everything of an access out: the tokens first (their
// anchors and hub Secrets), then the binding, the roles and the
// ServiceAccount, which revokes every token at once anyway.
func (r *Wirer) removeAccess(ctx context.Context, p render.Plan, a access) error {
	cl, err := r.accessClient(ctx, p, a)
	if err != nil {
		return err
	}
	for _, t := range a.Tokens {
		anchor := render.TokenAnchor(p, t.Suffix)
		anchor.Namespace = a.Namespace
		if err := r.deleteRemote(ctx, p, cl, a.Cluster, anchor); err != nil {
			return err
		}
		if err := r.deleteHubSecret(ctx, p, t.Secret); err != nil {
			return err
		}
	}
	if err := r.deleteRoles(ctx, p, cl, a); err != nil {
		return err
	}
	for _, obj := range clusterObjects(a) {
		if err := r.deleteRemote(ctx, p, cl, a.Cluster, obj); err != nil {
			return err
		}
	}
	return nil
}

// accessClient is the client for an access's cluster; when the kubeconfig
// Secret is gone (deleted with the namespace), the one built earlier.
func (r *Wirer) accessClient(ctx context.Context, p render.Plan, a access) (client.Client, error) {
	key := clusters.SecretKey{Namespace: p.Names.Namespace, Name: a.Kubeconfig.Name, Key: a.Kubeconfig.Key}
	cl, err := r.clusterClient(ctx, key)
	if err != nil {
		last, ok := r.Clusters.Last(key)
		if !ok {
			return nil, err
		}
		cl = last
	}
	return cl, nil
}

func randomSuffix() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (r *Wirer) revokeGrace() time.Duration {
	if r.RevokeGrace != nil {
		return *r.RevokeGrace
	}
	return DefaultRevokeGrace
}

func (r *Wirer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Wirer) event(p render.Plan, format string, args ...any) {
	r.Recorder.Eventf(p.Stored, nil, corev1.EventTypeNormal, "RemoteAccess", "Access", format, args...)
}
