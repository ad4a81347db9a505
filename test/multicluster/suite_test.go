// Package multicluster runs the operator against two control planes: a hub,
// where the KialiAuthProxy lives, and a spoke whose Prometheus configuration
// the operator edits through a kubeconfig Secret. Both are envtest
// (kube-apiserver and etcd) with the Prometheus Operator's real CRDs.
package multicluster

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	ctx = context.Background()

	hubCfg, spokeCfg *rest.Config
	// hub and spoke talk to the API servers directly, never through a cache.
	hub, spoke client.Client
)

func TestMultiCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Multi-cluster Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	h := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All})
	s := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.Options{PrometheusOperator: true}})
	hub, spoke, hubCfg, spokeCfg = h.Client, s.Client, h.Config, s.Config
	testbed.StartManager(ctx, h.Config, testbed.ManagerOptions())
})

// kubeconfigFor writes a kubeconfig for cfg, as
// kiali-prepare-remote-cluster.sh would for a remote cluster named name.
func kubeconfigFor(name string, cfg *rest.Config) []byte {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	b, err := clientcmd.Write(*kc)
	Expect(err).NotTo(HaveOccurred())
	return b
}

// remoteClusterSecret is Kiali's remote-cluster Secret for a cluster.
func remoteClusterSecret(namespace, cluster string, kubeconfig []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   namespace,
			Name:        "kiali-remote-cluster-secret-" + cluster,
			Labels:      map[string]string{"kiali.io/multiCluster": "true"},
			Annotations: map[string]string{"kiali.io/cluster": cluster},
		},
		Data: map[string][]byte{cluster: kubeconfig},
	}
}

func ensureNamespace(c client.Client, name string) { testbed.EnsureNamespace(ctx, c, name) }
