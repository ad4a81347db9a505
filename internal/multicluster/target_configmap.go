package multicluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
)

// prometheusConfigMap is a ConfigMap holding a Prometheus configuration
// file, for a Prometheus that no operator manages.
type prometheusConfigMap struct{}

func (prometheusConfigMap) kind() string { return senderConfigMap }

func (prometheusConfigMap) placeOf(p *meshv1alpha1.SpokePrometheus) (place, bool) {
	if p.ConfigMap == nil {
		return place{}, false
	}
	c := p.ConfigMap
	return place{namespace: c.Namespace, name: c.Name, key: c.Key, credentialsDir: c.CredentialsDir}, true
}

func (prometheusConfigMap) describe(w wiring) string { return configMapPlace(w) }

// wire writes nothing into a ConfigMap another controller renders: it
// would revert the entry.
func (prometheusConfigMap) preview(w wiring, e remotewrite.Entry) (string, string, error) {
	text, _, err := remotewrite.MergePrometheusYAML("remote_write: []\n", e)
	return fmt.Sprintf("remote_write of key %s of ConfigMap %s/%s (merged with what is there)", w.Key, w.Namespace, w.Name), text, err
}

func (prometheusConfigMap) wire(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry, creds map[string][]byte) (wiring, *finding, error) {
	cm := &corev1.ConfigMap{}
	if err := cl.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, cm); err != nil {
		return w, nil, fmt.Errorf("reading ConfigMap %s/%s on cluster %s: %w", w.Namespace, w.Name, w.Cluster, err)
	}
	if who, serviceMesh := renderedBy(cm); who != "" {
		return w, renderedFinding(w, who, serviceMesh), nil
	}
	if err := syncCredentials(ctx, cl, w, creds); err != nil {
		return w, nil, err
	}
	return w, nil, patchConfigMap(ctx, cl, w, cm, func(config string) (string, bool, error) {
		if config == "" {
			return "", false, fmt.Errorf("ConfigMap %s/%s has no Prometheus configuration under key %q", w.Namespace, w.Name, w.Key)
		}
		return remotewrite.MergePrometheusYAML(config, e)
	})
}

func (prometheusConfigMap) unwire(ctx context.Context, cl client.Client, w wiring) error {
	return editConfigMap(ctx, cl, w, func(config string) (string, bool, error) {
		return remotewrite.RemovePrometheusYAML(config, w.Entry)
	})
}
