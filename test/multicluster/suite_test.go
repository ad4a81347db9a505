// Package multicluster runs the operator against two control planes: a hub,
// where the KialiAuthProxy lives, and a spoke whose Prometheus configuration
// the operator edits through a kubeconfig Secret. Both are envtest
// (kube-apiserver and etcd) with the Prometheus Operator's real CRDs.
package multicluster

import (
	"context"
	"io"
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
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	ctx context.Context

	hubEnv, spokeEnv *envtest.Environment
	hubCfg, spokeCfg *rest.Config
	// hub and spoke talk to the API servers directly, never through a cache.
	hub, spoke client.Client

	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
)

func TestMultiCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Multi-cluster Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter)), zap.UseDevMode(true)))
	ctx = context.Background()

	var err error
	hubEnv, err = testbed.NewEnvironment(testbed.All)
	Expect(err).NotTo(HaveOccurred())
	hubCfg, err = hubEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	spokeEnv, err = testbed.NewEnvironment(testbed.Options{PrometheusOperator: true})
	Expect(err).NotTo(HaveOccurred())
	spokeCfg, err = spokeEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	hub, err = client.New(hubCfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	spoke, err = client.New(spokeCfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())

	mctx, cancel := context.WithCancel(ctx)
	mgr, _, err := operator.New(mctx, hubCfg, operator.Options{
		MetricsAddr:             "0",
		ProbeAddr:               "0",
		MaxConcurrentReconciles: 2,
		ProxyImage:              "registry.example.com/oauth-proxy:test",
		SkipNameValidation:      true,
	})
	Expect(err).NotTo(HaveOccurred())
	mgrCancel = cancel
	mgrDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(BeTrue())
})

var _ = AfterSuite(func() {
	if mgrCancel != nil {
		mgrCancel()
		Eventually(mgrDone).Should(BeClosed())
	}
	for _, e := range []*envtest.Environment{hubEnv, spokeEnv} {
		if e != nil {
			Expect(e.Stop()).To(Succeed())
		}
	}
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

func ensureNamespace(c client.Client, name string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(Succeed())
}
