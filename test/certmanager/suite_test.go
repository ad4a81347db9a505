// Package certmanager checks the operator's cert-manager Certificates
// against cert-manager itself, at the release testbed.CertManagerVersion
// pins: its CRD, installed into a local API server, and its controllers,
// which issue the proxy's certificate there.
package certmanager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// One control plane serves every test: starting one takes seconds, and the
// tests work in namespaces of their own.
var (
	env *envtest.Environment
	cfg *rest.Config
	k   client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	// CertManager installs cert-manager.io's Certificate, Issuer and
	// ClusterIssuer CRDs from deploy/crds of the pinned module, which
	// go mod download -json locates (testbed.CertManagerCRDs).
	env, err = testbed.NewEnvironment(testbed.Options{CertManager: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// cert-manager's controllers issue through CertificateRequests, whose
	// CRD the operator's suites do not need.
	dir, err := testbed.DownloadedModuleDir("github.com/cert-manager/cert-manager", testbed.CertManagerVersion)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(dir, "deploy", "crds", "cert-manager.io_certificaterequests.yaml"))
	cfg, err = env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	k, err = client.New(cfg, client.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// sample is the Kubernetes sample, which has cert-manager issue the proxy's
// certificate, read strictly.
func sample(t *testing.T) *meshv1alpha1.KialiAuthProxy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "samples", "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		t.Fatal(err)
	}
	return kap
}

// longest is the sample at the limits of its names: a KialiAuthProxy of 40
// characters in a namespace of 63, with Kiali's certificate from
// cert-manager too, for a Kiali instance of 40 characters.
func longest(t *testing.T, issuer meshv1alpha1.CertManagerIssuerRef) *meshv1alpha1.KialiAuthProxy {
	t.Helper()
	kap := sample(t)
	kap.Name = "kiali-" + strings.Repeat("x", 34)
	kap.Namespace = "istio-system-" + strings.Repeat("y", 50)
	kap.Spec.Proxy.TLS.CertManager.IssuerRef = issuer
	kap.Spec.Kiali.InstanceName = "k" + strings.Repeat("z", 39)
	kap.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertManager: &meshv1alpha1.CertManagerCertificate{IssuerRef: issuer}}
	return kap
}

// certificates are the Certificates among the objects rendered for kap.
func certificates(kap *meshv1alpha1.KialiAuthProxy) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range render.Objects(kap, render.Inputs{}) {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GroupVersionKind() == render.CertificateGVK {
			out = append(out, u)
		}
	}
	return out
}

// ensureNamespace creates namespace ns unless it exists.
func ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	err := k.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
}
