// Package clusters gives the operator clients for remote clusters, built
// from kubeconfigs held in Secrets. Clients are cached per Secret key and
// rebuilt when the Secret changes, so a rotated token is picked up without a
// restart and an unchanged one costs no rebuild.
package clusters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultTimeout bounds every request to a remote cluster, so an unreachable
// cluster delays only its own part of a reconcile.
const DefaultTimeout = 10 * time.Second

// PrometheusGVK is the Prometheus Operator's Prometheus.
var PrometheusGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "Prometheus"}

// SecretKey names one key of a Secret.
type SecretKey struct {
	Namespace, Name, Key string
}

func (k SecretKey) String() string { return k.Namespace + "/" + k.Name + "[" + k.Key + "]" }

// Cache hands out a client per kubeconfig Secret key.
type Cache struct {
	// Reader reads the kubeconfig Secrets (straight from the API server:
	// the operator does not cache Secret data).
	Reader client.Reader
	// Scheme of the clients; it must know core/v1.
	Scheme *runtime.Scheme
	// Timeout of each request; DefaultTimeout when zero.
	Timeout time.Duration

	mu      sync.Mutex
	entries map[SecretKey]entry
}

type entry struct {
	resourceVersion string
	client          client.Client
	// server and caData are where the client connects, and the CA it
	// trusts there.
	server string
	caData []byte
}

// Client returns a client for the cluster whose kubeconfig is at key. It
// reads the Secret each time (one GET) and rebuilds the client only when the
// Secret's resourceVersion changed.
func (c *Cache) Client(ctx context.Context, key SecretKey) (client.Client, error) {
	secret := &corev1.Secret{}
	if err := c.Reader.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: key.Name}, secret); err != nil {
		return nil, fmt.Errorf("reading kubeconfig Secret %s/%s: %w", key.Namespace, key.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.resourceVersion == secret.ResourceVersion {
		return e.client, nil
	}
	data, ok := secret.Data[key.Key]
	if !ok || len(data) == 0 {
		return nil, fmt.Errorf("Secret %s/%s has no key %q with a kubeconfig", key.Namespace, key.Name, key.Key)
	}
	cfg, err := RESTConfig(data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig in Secret %s/%s key %q: %w", key.Namespace, key.Name, key.Key, err)
	}
	cfg.Timeout = c.Timeout
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme, Mapper: remoteMapper()})
	if err != nil {
		return nil, fmt.Errorf("client for Secret %s/%s key %q: %w", key.Namespace, key.Name, key.Key, err)
	}
	if c.entries == nil {
		c.entries = map[SecretKey]entry{}
	}
	c.entries[key] = entry{resourceVersion: secret.ResourceVersion, client: cl, server: cfg.Host, caData: cfg.CAData}
	return cl, nil
}

// Endpoint is the API server URL and CA of the client last built for key,
// for a kubeconfig that reaches the same cluster with other credentials.
func (c *Cache) Endpoint(key SecretKey) (server string, caData []byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.server, e.caData, ok
}

// Last returns the client last built for key, if any, without reading the
// Secret: for taking entries out after the Secret was deleted along with
// the KialiAuthProxy's namespace.
func (c *Cache) Last(key SecretKey) (client.Client, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.client, ok
}

// Forget drops cached clients whose keys are not in keep.
func (c *Cache) Forget(keep map[SecretKey]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if !keep[k] {
			delete(c.entries, k)
		}
	}
}

// errUnsafe is returned for kubeconfigs that would make the operator run a
// program or read its own files: a Secret must not be a way to execute code
// in, or read credentials out of, the operator's pod.
var errUnsafe = errors.New("refused")

// RESTConfig turns a kubeconfig into a client configuration, refusing exec
// and auth-provider plugins and references to local files.
func RESTConfig(kubeconfig []byte) (*rest.Config, error) {
	cc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %w", err)
	}
	for name, u := range cc.AuthInfos {
		switch {
		case u.Exec != nil:
			return nil, fmt.Errorf("%w: user %q runs an exec plugin; use a token or client certificate data", errUnsafe, name)
		case u.AuthProvider != nil:
			return nil, fmt.Errorf("%w: user %q uses an auth-provider plugin; use a token or client certificate data", errUnsafe, name)
		case u.TokenFile != "" || u.ClientCertificate != "" || u.ClientKey != "":
			return nil, fmt.Errorf("%w: user %q reads files; put the token or certificate data in the kubeconfig", errUnsafe, name)
		}
	}
	for name, cl := range cc.Clusters {
		if cl.CertificateAuthority != "" {
			return nil, fmt.Errorf("%w: cluster %q reads its CA from a file; use certificate-authority-data", errUnsafe, name)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*cc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable context: %w", err)
	}
	return cfg, nil
}

// remoteMapper knows the few kinds the operator touches on remote clusters,
// so a client costs no discovery requests.
func remoteMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	m.Add(corev1.SchemeGroupVersion.WithKind("Secret"), meta.RESTScopeNamespace)
	m.Add(PrometheusGVK, meta.RESTScopeNamespace)
	// Kiali's access: its identity and roles, the istiod whose cluster ID
	// is checked, and the reviews that ask what Kiali may do.
	m.Add(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), meta.RESTScopeNamespace)
	m.Add(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), meta.RESTScopeRoot)
	m.Add(rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"), meta.RESTScopeRoot)
	m.Add(rbacv1.SchemeGroupVersion.WithKind("Role"), meta.RESTScopeNamespace)
	m.Add(rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), meta.RESTScopeNamespace)
	m.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)
	m.Add(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectRulesReview"), meta.RESTScopeRoot)
	m.Add(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview"), meta.RESTScopeRoot)
	m.Add(corev1.SchemeGroupVersion.WithKind("Namespace"), meta.RESTScopeRoot)
	m.Add(corev1.SchemeGroupVersion.WithKind("Pod"), meta.RESTScopeNamespace)
	return m
}
