package certmanager

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// clusterResourceNamespace holds the Secrets of ClusterIssuers, as
// cert-manager's --cluster-resource-namespace says.
const clusterResourceNamespace = "cert-manager"

// issuers are what the sample expects the cluster to have: a CA
// ClusterIssuer named mesh-ca (its CA made by a SelfSigned ClusterIssuer),
// and, for Kiali's certificate, a SelfSigned Issuer in the namespace, so
// that both kinds issue a rendered Certificate.
const issuers = `
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: bootstrap}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: mesh-ca, namespace: ` + clusterResourceNamespace + `}
spec:
  isCA: true
  commonName: mesh CA
  secretName: mesh-ca
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {name: bootstrap, kind: ClusterIssuer, group: cert-manager.io}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: mesh-ca}
spec: {ca: {secretName: mesh-ca}}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: kiali-ca, namespace: NAMESPACE}
spec: {selfSigned: {}}
`

// TestControllerIssuesTheListenerCertificate has cert-manager's
// controllers issue the rendered Certificates, at the longest names, and
// checks the Secret they write in the form the proxy mounts it: its type,
// keys, labels and annotations, a certificate for the Service's names
// from the CA in ca.crt, and an HTTPS listener serving it from the files
// the Deployment's volume projects.
func TestControllerIssuesTheListenerCertificate(t *testing.T) {
	ctx := context.Background()
	startController(t)

	kap := longest(t, meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca", Kind: "ClusterIssuer"})
	kap.Spec.Kiali.TLS.CertManager.IssuerRef = meshv1alpha1.CertManagerIssuerRef{Name: "kiali-ca"}
	// Not the namespace of the CRD test, whose dry runs made nothing.
	kap.Namespace = "kiali-issued-" + strings.Repeat("w", 50)
	ensureNamespace(t, kap.Namespace)
	ensureNamespace(t, clusterResourceNamespace)
	objs, err := testbed.DecodeYAML([]byte(strings.ReplaceAll(issuers, "NAMESPACE", kap.Namespace)))
	if err != nil {
		t.Fatal(err)
	}
	certs := certificates(kap)
	if len(certs) != 2 {
		t.Fatalf("%d Certificates rendered, want the proxy's and Kiali's", len(certs))
	}
	for _, o := range append(objs, certs...) {
		if err := k.Create(ctx, o, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	p := render.PlanFor(kap, "")
	n := p.Names
	for _, c := range certs {
		waitReady(t, c)
	}

	crt := render.Certificate(p.KAP, n)
	secret := issuedSecret(t, crt)
	want := []string{n.Proxy + "." + n.Namespace + ".svc", n.ProxyFQDN()}
	leaf := checkIssued(t, secret, crt, want, "mesh-ca", "ClusterIssuer")
	if leaf.Issuer.CommonName != "mesh CA" {
		t.Errorf("the proxy's certificate is issued by %q, not the mesh CA", leaf.Issuer.CommonName)
	}
	checkListener(t, p, secret, want)

	kcrt := render.KialiCertificate(p.KAP, n)
	checkIssued(t, issuedSecret(t, kcrt), kcrt, []string{n.KialiInstance + "." + n.Namespace + ".svc", n.KialiFQDN()}, "kiali-ca", "Issuer")
}

// startController builds the program of testdata/controller (a module of
// its own, pinned to the cert-manager release of the CRDs) and runs it
// against the test's API server until the test ends. The first build
// compiles cert-manager and takes minutes; later ones come from the build
// cache.
func startController(t *testing.T) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cert-manager-controller")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("testdata", "controller")
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cert-manager's controllers: %v\n%s", err, out)
	}

	user, err := env.AddUser(envtest.User{Name: "cert-manager", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	cmd := exec.Command(bin, "--kubeconfig", path, "--cluster-resource-namespace", clusterResourceNamespace)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("cert-manager's controllers logged:\n%s", tail(log.String(), 80))
		}
	})
}

// waitReady waits for cert-manager to report the Certificate Ready.
func waitReady(t *testing.T, c *unstructured.Unstructured) {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(c.GroupVersionKind())
	deadline := time.Now().Add(40 * time.Second)
	for {
		if err := k.Get(context.Background(), client.ObjectKeyFromObject(c), got); err != nil {
			t.Fatal(err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Certificate %s not Ready: %v", c.GetName(), conds)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
