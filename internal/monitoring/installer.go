// Package monitoring makes the manager's ServiceMonitor and PrometheusRule
// (config/prometheus) in the manager's own namespace, once the Prometheus
// Operator's CRDs are served there. An install, from config/ or the OLM
// bundle, cannot carry them: without the CRDs it would fail, and OLM fails
// the whole InstallPlan (operator-lifecycle-manager
// pkg/controller/operators/catalog/operator.go looks each bundle object's
// kind up through discovery). The manager adds them when it can instead,
// and looks again while it runs, so the CRDs may come later.
package monitoring

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manifests, copied from config/prometheus by make generate (a test
// holds them equal), so that a kustomize install and the manager make the
// same objects.
var (
	//go:embed servicemonitor.yaml
	serviceMonitorYAML []byte
	//go:embed prometheusrule.yaml
	prometheusRuleYAML []byte
)

// DefaultInterval is how often the manager looks for the CRDs, and puts the
// objects back as they are in the manifests.
const DefaultInterval = 5 * time.Minute

// Objects are the ServiceMonitor and PrometheusRule in namespace.
func Objects(namespace string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, raw := range [][]byte{serviceMonitorYAML, prometheusRuleYAML} {
		u := &unstructured.Unstructured{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&u.Object); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		u.SetNamespace(namespace)
		out = append(out, u)
	}
	return out, nil
}

// The scraper the ServiceMonitor authenticates as (config/prometheus), and
// the Secret its token is read from.
const (
	ScraperServiceAccount = "kiali-auth-proxy-operator-metrics-scraper"
	ScraperTokenSecret    = ScraperServiceAccount + "-token"
	// renewAtAnnotation, on a token Secret the manager wrote, is when it
	// writes a new one.
	renewAtAnnotation = "mesh.kialiauth.io/renew-at"
	// tokenLifetime of the scraper's tokens, renewed at 80% of it as the
	// kubelet renews pod tokens.
	tokenLifetime = 24 * time.Hour
)

// Installer applies the objects while the manager leads.
type Installer struct {
	// Client writes; Mapper tells whether the CRDs are served; APIReader
	// reads the token Secret (Secrets are never cached).
	Client    client.Client
	APIReader client.Reader
	Mapper    meta.RESTMapper
	// Namespace is the manager's own: where its metrics Service and the
	// scraper's token Secret are.
	Namespace string
	// FieldOwner of the writes.
	FieldOwner string
	// Interval between looks; DefaultInterval when zero.
	Interval time.Duration
	Log      logr.Logger
}

// NeedLeaderElection: one replica writes.
func (i *Installer) NeedLeaderElection() bool { return true }

// Start looks now and then every Interval until ctx ends.
func (i *Installer) Start(ctx context.Context) error {
	interval := i.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	told := false
	for {
		switch served, err := i.Ensure(ctx); {
		case err != nil:
			i.Log.Error(err, "making the ServiceMonitor and PrometheusRule", "namespace", i.Namespace)
		case !served && !told:
			i.Log.Info("the Prometheus Operator's CRDs are not served: no ServiceMonitor or PrometheusRule for now; looking again every " + interval.String())
			told = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Ensure applies the objects when their kinds are served, and reports
// whether they are.
func (i *Installer) Ensure(ctx context.Context) (bool, error) {
	objs, err := Objects(i.Namespace)
	if err != nil {
		return false, err
	}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if _, err := i.Mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version); err != nil {
			if meta.IsNoMatchError(err) {
				return false, nil
			}
			return false, err
		}
	}
	if err := i.ensureToken(ctx); err != nil {
		return true, err
	}
	for _, u := range objs {
		if err := i.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(i.FieldOwner), client.ForceOwnership); err != nil {
			return true, fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return true, nil
}

// ensureToken keeps a token of the scraper in ScraperTokenSecret when no
// one else does. A kustomize install ships that Secret as a
// service-account-token Secret, which the token controller fills in and
// the manager leaves alone; an OLM install cannot (the token controller
// deletes a token Secret made before its ServiceAccount, and OLM makes the
// account last), so the manager requests a token with the TokenRequest
// API and writes it into an immutable Secret of that name, written anew
// (deleted and created: the manager never updates a Secret) at 80% of the
// token's lifetime.
func (i *Installer) ensureToken(ctx context.Context) error {
	key := client.ObjectKey{Namespace: i.Namespace, Name: ScraperTokenSecret}
	live := &corev1.Secret{}
	err := i.APIReader.Get(ctx, key, live)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading Secret %s: %w", key, err)
	case live.Labels[managedByLabel] != i.FieldOwner:
		return nil
	default:
		renewAt, perr := time.Parse(time.RFC3339, live.Annotations[renewAtAnnotation])
		if perr == nil && time.Now().Before(renewAt) {
			return nil
		}
		uid := live.UID
		if err := i.Client.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Secret %s to renew its token: %w", key, err)
		}
	}
	sa := &corev1.ServiceAccount{}
	if err := i.APIReader.Get(ctx, client.ObjectKey{Namespace: i.Namespace, Name: ScraperServiceAccount}, sa); err != nil {
		return fmt.Errorf("reading ServiceAccount %s/%s, which the OLM bundle or config/prometheus makes: %w", i.Namespace, ScraperServiceAccount, err)
	}
	seconds := int64(tokenLifetime.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	if err := i.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", i.Namespace, ScraperServiceAccount, err)
	}
	issued := time.Now()
	life := tr.Status.ExpirationTimestamp.Sub(issued)
	immutable := true
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   i.Namespace,
			Name:        ScraperTokenSecret,
			Labels:      map[string]string{managedByLabel: i.FieldOwner},
			Annotations: map[string]string{renewAtAnnotation: issued.Add(life * 4 / 5).UTC().Format(time.RFC3339)},
			// Owned by the scraper, so it goes when the scraper goes (OLM
			// deletes the account with the CSV).
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ServiceAccount", Name: sa.Name, UID: sa.UID}},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
		Data:      map[string][]byte{corev1.ServiceAccountTokenKey: []byte(tr.Status.Token)},
	}
	if err := i.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("writing Secret %s: %w", key, err)
	}
	return nil
}

// managedByLabel marks what the manager wrote.
const managedByLabel = "app.kubernetes.io/managed-by"
