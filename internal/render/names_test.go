package render

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// kialiOperatorConfigMap matches the name of every ConfigMap the Kiali
// operator makes or mounts, in any of its roles (kiali/kiali-operator,
// roles/{v1.73,v2.4,v2.11,v2.17,v2.22,v2.27,default}/kiali-deploy):
//   - the instance name is a DNS label of at most 40 characters, checked in
//     tasks/main.yml ('^(?![0-9]+$)(?!-)[a-z0-9-]{,40}(?<!-)$'; the pattern
//     below is wider, as it also takes names of digits only);
//   - "<instance>": its configuration (templates/openshift/configmap.yaml);
//   - "<instance>-cabundle": its CA bundle, with the inject-cabundle
//     annotation, in roles v1.73 to v2.17 (templates/openshift/cabundle.yaml);
//     from v2.21 the user's optional extra CAs, mounted after its own
//     (templates/openshift/deployment.yaml);
//   - "<instance>-cabundle-openshift": its CA bundle from v2.21 (roles v2.22,
//     v2.27, default: templates/openshift/cabundle.yaml);
//   - "<instance>-oauth-cabundle": an optional ConfigMap it mounts from v2.17
//     (templates/openshift/deployment.yaml).
var kialiOperatorConfigMap = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?(-cabundle|-cabundle-openshift|-oauth-cabundle)?$`)

// TestCABundleIsNeverTheKialiOperators holds the proxy's CA bundle to a name
// no Kiali instance in the namespace can have for one of its ConfigMaps,
// whatever the two are called: sharing one, the Kiali operator deletes it
// with its Kiali CR, the garbage collector with the KialiAuthProxy, and the
// two fight over its labels.
func TestCABundleIsNeverTheKialiOperators(t *testing.T) {
	for _, name := range []string{
		"kiali", // the reference setup, named like its Kiali instance
		"console",
		"kiali-oauth",
		"kiali-cabundle",
		"x",
		strings.Repeat("k", 40), // the longest name the CRD allows
	} {
		kap := &meshv1alpha1.KialiAuthProxy{}
		kap.Name, kap.Namespace = name, "mesh"
		n := NamesFor(kap)
		if kialiOperatorConfigMap.MatchString(n.CABundle) {
			t.Errorf("KialiAuthProxy %q: the CA bundle %q can be a ConfigMap of the Kiali operator's", name, n.CABundle)
		}
		if errs := validation.IsDNS1123Subdomain(n.CABundle); len(errs) > 0 {
			t.Errorf("KialiAuthProxy %q: the CA bundle %q is not a valid ConfigMap name: %v", name, n.CABundle, errs)
		}
		for _, other := range []string{n.RemoteWriteRecord, n.LegacyCABundle} {
			if n.CABundle == other {
				t.Errorf("KialiAuthProxy %q: the CA bundle shares the name %q with another ConfigMap", name, other)
			}
		}
	}
}

// TestLegacyCABundleIsWhatThePreviousReleaseUsed pins the name the upgrade
// releases: the one release 0.1.0 gave the CA bundle, which for the
// reference setup is the Kiali operator's own (roles v1.73 to v2.17).
func TestLegacyCABundleIsWhatThePreviousReleaseUsed(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	n := NamesFor(kap)
	if n.LegacyCABundle != "kiali-cabundle" {
		t.Errorf("LegacyCABundle is %q, want kiali-cabundle", n.LegacyCABundle)
	}
	if !kialiOperatorConfigMap.MatchString(n.LegacyCABundle) {
		t.Errorf("%q should read as a Kiali operator ConfigMap: the pattern no longer describes the Kiali operator", n.LegacyCABundle)
	}
	for _, o := range Objects(kap, fixedInputs(kap)) {
		if o.GetObjectKind().GroupVersionKind().Kind == "ConfigMap" && o.GetName() == n.LegacyCABundle {
			t.Errorf("ConfigMap %s is rendered again: it may be the Kiali operator's", n.LegacyCABundle)
		}
	}
}
