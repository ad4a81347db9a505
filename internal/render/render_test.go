package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"

	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/textdiff"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// fixedInputs stand in for what the controller resolves from the cluster.
func fixedInputs(kap *meshv1alpha1.KialiAuthProxy) Inputs {
	session := SecretKey{Name: NamesFor(kap).SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}
	if ref := kap.Spec.Proxy.SessionSecret; ref != nil {
		session = SecretKey{Name: ref.Name, Key: ref.Key}
		if session.Key == "" {
			session.Key = meshv1alpha1.DefaultSessionSecretKey
		}
	}
	in := Inputs{SessionSecret: session, InputsChecksum: "sha256:0123456789abcdef"}
	if h := kap.Spec.Proxy.Htpasswd; h != nil {
		in.Htpasswd = &SecretKey{Name: h.Name, Key: h.Key}
		if h.Key == "" {
			in.Htpasswd.Key = meshv1alpha1.DefaultHtpasswdKey
		}
		if len(h.Users) > 0 {
			in.Htpasswd = &SecretKey{Name: NamesFor(kap).HtpasswdPrefix + "0123abcd", Key: meshv1alpha1.DefaultHtpasswdKey}
		}
	}
	return in
}

func loadSample(t *testing.T, file string) *meshv1alpha1.KialiAuthProxy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return kap
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		kap    func(t *testing.T) *meshv1alpha1.KialiAuthProxy
	}{
		{"reference.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			return loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
		}},
		{"kiali-v2.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			return loadSample(t, "mesh_v1alpha1_kialiauthproxy_v2.yaml")
		}},
		{"route-plain-http.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
			off := false
			kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: &off}
			kap.Spec.Proxy.Htpasswd = nil
			kap.Spec.Exposure.VirtualService = nil
			kap.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
			return kap
		}},
		// Upstream Istio on Kubernetes: oauth2-proxy and the authorizing
		// proxy, cert-manager's Certificate, an HTTPRoute, Kiali over HTTP.
		{"kubernetes-oidc.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			return loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml")
		}},
		// OpenShift with external OIDC: the service CA's certificates, the
		// authorizing proxy trusting it for Kiali.
		{"openshift-oidc.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			return loadSample(t, "mesh_v1alpha1_kialiauthproxy_openshift_oidc.yaml")
		}},
		// Kiali with a certificate of cert-manager's off OpenShift: the
		// authorizing proxy verifies it with the issued Secret's ca.crt.
		{"kubernetes-kiali-tls.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml")
			kap.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertManager: &meshv1alpha1.CertManagerCertificate{
				IssuerRef: meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca", Kind: "ClusterIssuer"}}}
			return kap
		}},
		// AllowList authorization: no reviews, no token to the authorizing
		// proxy, groups and domains in oauth2-proxy, the issuer's own CA.
		{"oidc-allowlist.golden.yaml", func(t *testing.T) *meshv1alpha1.KialiAuthProxy {
			kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml")
			kap.Spec.Proxy.OIDC.Authorization = meshv1alpha1.OIDCAuthorization{
				Mode:                meshv1alpha1.OIDCAuthorizationAllowList,
				AllowedGroups:       []string{"mesh-admins"},
				AllowedEmailDomains: []string{"example.com"},
			}
			kap.Spec.Proxy.OIDC.IssuerCA = &meshv1alpha1.ConfigMapKeyReference{Name: "keycloak-ca"}
			kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{CertificateSecret: &meshv1alpha1.SecretReference{Name: "kiali-tls"}}
			kap.Spec.Kiali.WebRoot = "/"
			return kap
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			kap := tc.kap(t)
			got, err := apply.YAML(Objects(kap, fixedInputs(kap)))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("render output differs from %s (go test ./internal/render -update rewrites it):\n%s", path, textdiff.FirstLine(string(want), string(got)))
			}
		})
	}
}

// Render must be byte-stable: maps are serialised in sorted key order and
// nothing depends on iteration order, time or randomness.
func TestRenderIsDeterministic(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy_v2.yaml")
	first, err := apply.YAML(Objects(kap, fixedInputs(kap)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		again, err := apply.YAML(Objects(kap, fixedInputs(kap)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("render %d differs from the first:\n%s", i, textdiff.FirstLine(string(first), string(again)))
		}
	}
}

func TestRenderDoesNotModifyItsInput(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	before := kap.DeepCopy()
	Objects(kap, fixedInputs(kap))
	if !equalJSON(t, before, kap) {
		t.Fatal("Render changed the KialiAuthProxy it was given")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
