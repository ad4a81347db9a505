package render

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// cert-manager's admission webhook refuses a Certificate that breaks the
// rules of ValidateCertificateSpec, in cert-manager v1.21.2's
// internal/apis/certmanager/validation/certificate.go. The operator renders
// the Certificate unstructured and cannot run that webhook (its module is
// not a dependency), so the rules are restated here, for every field the
// operator sets:
//
//   - secretName is required and a DNS-1123 subdomain
//     (apivalidation.NameIsDNSSubdomain);
//   - issuerRef.name is required, and with the group empty or
//     cert-manager.io the kind is empty, Issuer or ClusterIssuer; an
//     external group's kinds are not checked (validateIssuerRef);
//   - at least one identity is set: commonName (also from literalSubject),
//     dnsNames, uris, emailAddresses, ipAddresses or otherNames;
//   - privateKey.algorithm is empty, RSA, ECDSA or Ed25519, in that case;
//     an RSA size is 0 or 2048 to 8192 (MinRSAKeySize and MaxRSAKeySize,
//     pkg/util/pki/generate.go), an ECDSA size 0, 256, 384 or 521;
//   - every usage is a key usage or an extended key usage cert-manager
//     knows (validateUsages; the names are pkg/api/util/usages.go's
//     keyUsages and extKeyUsages, spelt as in pkg/apis/certmanager/v1/
//     types.go);
//   - secretTemplate.labels are valid labels
//     (metavalidation.ValidateLabels, which the webhook calls).
//
// The rules of the fields the operator never sets cannot apply; the test
// fails if one of them appears, so that its rule is added here first:
// literalSubject (feature gate LiteralCertificateSubject, no commonName or
// subject beside it), commonName (at most 64 characters), ipAddresses
// (parseable), emailAddresses (bare addresses), otherNames (feature gate
// OtherNames, an OID and a UTF-8 value), signatureAlgorithm (one the key
// algorithm allows), duration, renewBefore and renewBeforePercentage
// (ValidateDuration: at least an hour, at least five minutes and less than
// the duration, not both), revisionHistoryLimit (at least 1),
// secretTemplate.annotations (no cert-manager.io/ keys but
// allow-direct-injection, valid annotations), nameConstraints (feature gate
// NameConstraints, isCA, permitted or excluded), additionalOutputFormats
// (one of each type), keystores (exactly one non-empty password source)
// and renewal (policy RenewBefore or Disabled, windows only with
// RenewBefore, each with a duration, an IANA timezone and a cron).
//
// Beside the webhook, every DNS name must be a DNS-1123 subdomain: a name
// the Service's DNS record and an X.509 dNSName can both carry.
func TestCertificateMeetsCertManagerWebhook(t *testing.T) {
	for _, tc := range certificateSpecs(t) {
		t.Run(tc.name, func(t *testing.T) {
			certs := renderedCertificates(t, tc.kap)
			if len(certs) != tc.certificates {
				t.Fatalf("%d Certificates rendered, want %d", len(certs), tc.certificates)
			}
			for _, c := range certs {
				for _, err := range certManagerWebhookErrors(t, c) {
					t.Errorf("Certificate %s: cert-manager's webhook would refuse %v", c.GetName(), err)
				}
			}
		})
	}
}

// TestCertificateWebhookChecksRefuse breaks each rule once, so that a check
// that passes everything cannot hide behind the test above.
func TestCertificateWebhookChecksRefuse(t *testing.T) {
	for rule, brk := range map[string]func(spec map[string]any){
		"secretName required":        func(s map[string]any) { s["secretName"] = "" },
		"secretName a subdomain":     func(s map[string]any) { s["secretName"] = "Kiali_TLS" },
		"issuerRef.name required":    func(s map[string]any) { s["issuerRef"].(map[string]any)["name"] = "" },
		"issuerRef.kind of the core": func(s map[string]any) { s["issuerRef"].(map[string]any)["kind"] = "AWSPCAIssuer" },
		"an identity":                func(s map[string]any) { delete(s, "dnsNames") },
		"ECDSA sizes":                func(s map[string]any) { s["privateKey"].(map[string]any)["size"] = int64(2048) },
		"RSA sizes": func(s map[string]any) {
			s["privateKey"] = map[string]any{"algorithm": "RSA", "size": int64(1024)}
		},
		"algorithm's case": func(s map[string]any) { s["privateKey"].(map[string]any)["algorithm"] = "ecdsa" },
		"known usages":     func(s map[string]any) { s["usages"] = []any{"server-auth"} },
		"valid label values": func(s map[string]any) {
			s["secretTemplate"] = map[string]any{"labels": map[string]any{"a": "not a value"}}
		},
	} {
		t.Run(rule, func(t *testing.T) {
			c := renderedCertificates(t, loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml"))[0]
			brk(c.Object["spec"].(map[string]any))
			if errs := certManagerWebhookErrors(t, c); len(errs) == 0 {
				t.Error("the broken Certificate passed")
			}
		})
	}
}

// TestCertificateNamesTheListener checks that cert-manager issues the
// proxy's certificate for the names the proxy is reached by and into the
// Secret its HTTPS listener mounts.
func TestCertificateNamesTheListener(t *testing.T) {
	for _, tc := range certificateSpecs(t) {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanFor(tc.kap, "")
			objs := Render(p, fixedInputs(p.KAP)).Objects
			var svc *corev1.Service
			var dep *appsv1.Deployment
			for _, o := range objs {
				switch o := o.(type) {
				case *corev1.Service:
					svc = o
				case *appsv1.Deployment:
					dep = o
				}
			}
			if svc == nil || dep == nil {
				t.Fatal("no Service or Deployment rendered")
			}
			crt := Certificate(p.KAP, p.Names)
			if !slices.ContainsFunc(objs, func(o client.Object) bool {
				u, ok := o.(*unstructured.Unstructured)
				return ok && u.GetName() == crt.GetName() && u.GroupVersionKind() == CertificateGVK
			}) {
				t.Fatalf("the Certificate %s is not among the rendered objects", crt.GetName())
			}

			want := []string{svc.Name + "." + svc.Namespace + ".svc", svc.Name + "." + svc.Namespace + ".svc.cluster.local"}
			if p.Names.ProxyFQDN() != want[1] {
				t.Errorf("ProxyFQDN() = %q, the Service is %q", p.Names.ProxyFQDN(), want[1])
			}
			dns, _, _ := unstructured.NestedStringSlice(crt.Object, "spec", "dnsNames")
			if !slices.Equal(dns, want) {
				t.Errorf("dnsNames = %q, want the Service's names %q", dns, want)
			}

			secretName, _, _ := unstructured.NestedString(crt.Object, "spec", "secretName")
			if l := ListenerCertSecret(p.KAP, p.Names); secretName != l {
				t.Errorf("secretName = %q, the listener serves %q", secretName, l)
			}
			if m := servingCertVolume(dep); secretName != m {
				t.Errorf("secretName = %q, the Deployment's %s volume mounts %q", secretName, volServingCert, m)
			}

			// The operator's Secret cache sees only Secrets with its owner
			// labels: without them a renewal would not roll the pods.
			labels, _, _ := unstructured.NestedStringMap(crt.Object, "spec", "secretTemplate", "labels")
			for k, v := range OwnerLabels(p.KAP) {
				if labels[k] != v {
					t.Errorf("secretTemplate.labels[%s] = %q, want %q", k, labels[k], v)
				}
			}

			if p.KAP.Spec.Kiali.TLS != nil {
				k := KialiCertificate(p.KAP, p.Names)
				kdns, _, _ := unstructured.NestedStringSlice(k.Object, "spec", "dnsNames")
				wantK := []string{p.Names.KialiInstance + "." + p.Names.Namespace + ".svc", p.Names.KialiFQDN()}
				if !slices.Equal(kdns, wantK) {
					t.Errorf("Kiali's dnsNames = %q, want %q", kdns, wantK)
				}
				ks, _, _ := unstructured.NestedString(k.Object, "spec", "secretName")
				if ks != KialiCertSecret(p.KAP, p.Names) {
					t.Errorf("Kiali's secretName = %q, Kiali mounts %q", ks, KialiCertSecret(p.KAP, p.Names))
				}
			}
		})
	}
}

type certificateSpec struct {
	name         string
	kap          *meshv1alpha1.KialiAuthProxy
	certificates int // how many Certificates it renders
}

// certificateSpecs are KialiAuthProxies that render Certificates: the
// Kubernetes sample and variations of its issuer and names, up to the
// longest name (40 characters, the KialiAuthProxy's limit) in the longest
// namespace (63).
func certificateSpecs(t *testing.T) []certificateSpec {
	t.Helper()
	withIssuer := func(ref meshv1alpha1.CertManagerIssuerRef) *meshv1alpha1.KialiAuthProxy {
		kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml")
		kap.Spec.Proxy.TLS.CertManager.IssuerRef = ref
		return kap
	}
	longest := func(kialiTLS bool) *meshv1alpha1.KialiAuthProxy {
		kap := withIssuer(meshv1alpha1.CertManagerIssuerRef{
			// The longest issuer name the API allows: a 253-character
			// DNS subdomain.
			Name: strings.Repeat(strings.Repeat("i", 62)+".", 4) + "i",
			Kind: "ClusterIssuer",
		})
		kap.Name = "kiali-" + strings.Repeat("x", 34)
		kap.Namespace = "istio-system-" + strings.Repeat("y", 50)
		if kialiTLS {
			kap.Spec.Kiali.InstanceName = "k" + strings.Repeat("z", 39)
			kap.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertManager: &meshv1alpha1.CertManagerCertificate{
				IssuerRef: meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca"},
			}}
		}
		return kap
	}
	specs := []certificateSpec{
		{"sample ClusterIssuer", loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml"), 1},
		{"Issuer by default", withIssuer(meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca"}), 1},
		{"Issuer of cert-manager.io", withIssuer(meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca", Kind: "Issuer", Group: "cert-manager.io"}), 1},
		{"external issuer", withIssuer(meshv1alpha1.CertManagerIssuerRef{Name: "pca", Kind: "AWSPCAClusterIssuer", Group: "awspca.cert-manager.io"}), 1},
		{"longest names", longest(false), 1},
		{"longest names with Kiali's certificate", longest(true), 2},
	}
	for _, s := range specs {
		if n := len(s.kap.Name); n > 40 {
			t.Fatalf("%s: name of %d characters, beyond the KialiAuthProxy's limit", s.name, n)
		}
		if errs := validation.IsDNS1123Label(s.kap.Namespace); len(errs) > 0 {
			t.Fatalf("%s: namespace %q: %v", s.name, s.kap.Namespace, errs)
		}
	}
	return specs
}

// renderedCertificates are the Certificates among all objects rendered for
// kap, as the controller applies them.
func renderedCertificates(t *testing.T, kap *meshv1alpha1.KialiAuthProxy) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, o := range Objects(kap, fixedInputs(kap.WithDefaults(""))) {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GroupVersionKind() == CertificateGVK {
			out = append(out, u)
		}
	}
	return out
}

func servingCertVolume(dep *appsv1.Deployment) string {
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == volServingCert && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

// checkedFields are the spec fields whose rules certManagerWebhookErrors
// checks.
var checkedFields = []string{"secretName", "issuerRef", "dnsNames", "privateKey", "usages", "secretTemplate"}

// uncheckedFields are cert-manager's other spec fields: the operator never
// sets them, so their rules (listed above the test) are not restated.
var uncheckedFields = []string{
	"subject", "literalSubject", "commonName", "duration", "renewBefore", "renewBeforePercentage",
	"renewal", "ipAddresses", "uris", "otherNames", "emailAddresses", "keystores", "isCA",
	"signatureAlgorithm", "encodeUsagesInRequest", "revisionHistoryLimit", "additionalOutputFormats",
	"nameConstraints",
}

// The usages cert-manager v1.21.2 knows: pkg/api/util/usages.go.
var (
	certManagerKeyUsages = []string{
		"signing", "digital signature", "content commitment", "key encipherment", "key agreement",
		"data encipherment", "cert sign", "crl sign", "encipher only", "decipher only",
	}
	certManagerExtKeyUsages = []string{
		"any", "server auth", "client auth", "code signing", "email protection", "s/mime",
		"ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
		"microsoft sgc", "netscape sgc",
	}
)

// certManagerWebhookErrors restates ValidateCertificateSpec for the fields
// the operator sets.
func certManagerWebhookErrors(t *testing.T, c *unstructured.Unstructured) field.ErrorList {
	t.Helper()
	spec, _, err := unstructured.NestedMap(c.Object, "spec")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fld := field.NewPath("spec")
	var el field.ErrorList
	for _, k := range keys {
		switch {
		case slices.Contains(uncheckedFields, k):
			t.Errorf("Certificate %s sets spec.%s: restate its webhook rule in this test", c.GetName(), k)
		case !slices.Contains(checkedFields, k):
			t.Errorf("Certificate %s sets spec.%s, which cert-manager v1.21.2 does not have", c.GetName(), k)
		}
	}

	secretName := specString(t, spec, "secretName")
	if secretName == "" {
		el = append(el, field.Required(fld.Child("secretName"), "must be specified"))
	}
	for _, msg := range apivalidation.NameIsDNSSubdomain(secretName, false) {
		el = append(el, field.Invalid(fld.Child("secretName"), secretName, msg))
	}

	ref := specMap(t, spec, "issuerRef")
	if specString(t, ref, "name") == "" {
		el = append(el, field.Required(fld.Child("issuerRef", "name"), "must be specified"))
	}
	if g := specString(t, ref, "group"); g == "" || g == "cert-manager.io" {
		if k := specString(t, ref, "kind"); k != "" && k != "Issuer" && k != "ClusterIssuer" {
			el = append(el, field.Invalid(fld.Child("issuerRef", "kind"), k, "must be one of Issuer or ClusterIssuer"))
		}
	}

	dns := specStrings(t, spec, "dnsNames")
	if len(dns) == 0 {
		el = append(el, field.Invalid(fld, "", "at least one of commonName, dnsNames, emailSANs, ipAddresses, otherNames, or uriSANs must be set"))
	}
	for i, d := range dns {
		for _, msg := range validation.IsDNS1123Subdomain(d) {
			el = append(el, field.Invalid(fld.Child("dnsNames").Index(i), d, msg))
		}
	}

	if pk := specMap(t, spec, "privateKey"); pk != nil {
		size, _, _ := unstructured.NestedInt64(pk, "size")
		sizePath := fld.Child("privateKey", "size")
		switch alg := specString(t, pk, "algorithm"); alg {
		case "", "RSA":
			if size > 0 && (size < 2048 || size > 8192) {
				el = append(el, field.Invalid(sizePath, size, "must be between 2048 and 8192 for rsa keyAlgorithm"))
			}
		case "ECDSA":
			if size > 0 && size != 256 && size != 384 && size != 521 {
				el = append(el, field.NotSupported(sizePath, size, []string{"256", "384", "521"}))
			}
		case "Ed25519":
		default:
			el = append(el, field.Invalid(fld.Child("privateKey", "algorithm"), alg, "must be either empty or one of rsa, ecdsa or ed25519"))
		}
	}

	for i, u := range specStrings(t, spec, "usages") {
		if !slices.Contains(certManagerKeyUsages, u) && !slices.Contains(certManagerExtKeyUsages, u) {
			el = append(el, field.Invalid(fld.Child("usages").Index(i), u, "unknown keyusage"))
		}
	}

	if tmpl := specMap(t, spec, "secretTemplate"); tmpl != nil {
		for k := range tmpl {
			if k != "labels" {
				t.Errorf("Certificate %s sets spec.secretTemplate.%s: restate its webhook rule in this test", c.GetName(), k)
			}
		}
		labels, _, err := unstructured.NestedStringMap(tmpl, "labels")
		if err != nil {
			t.Fatal(err)
		}
		el = append(el, metavalidation.ValidateLabels(labels, fld.Child("secretTemplate", "labels"))...)
	}
	return el
}

func specString(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, _, err := unstructured.NestedString(m, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func specStrings(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	s, _, err := unstructured.NestedStringSlice(m, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func specMap(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, _, err := unstructured.NestedMap(m, key)
	if err != nil {
		t.Fatal(fmt.Errorf("spec.%s: %w", key, err))
	}
	return v
}
