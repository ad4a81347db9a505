package guard

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The operator's label and field manager, as its code spells them: the
// guard spells them again, and these specs show the two agree.
const (
	managedByLabel = render.LabelManagedBy
	managedByValue = render.ManagedByValue
	fieldManager   = controller.FieldOwner
)

// The operator's identity as OLM installs it: the ServiceAccount's name is
// the bundle's, its namespace whatever the OperatorGroup's is. The guard
// knows only the name.
const (
	operatorNamespace      = "openshift-operators"
	operatorServiceAccount = "kiali-auth-proxy-operator-controller-manager"
	operatorUser           = "system:serviceaccount:" + operatorNamespace + ":" + operatorServiceAccount
)

var operatorGroups = serviceAccountGroups(operatorNamespace)

// The writer of a spoke: the identity of the kubeconfig a KialiAuthProxy
// names for another cluster. config/spoke-guard knows it by the
// ServiceAccount's name alone, so its namespace here is any.
const (
	spokeWriterNamespace      = "kiali-remote"
	spokeWriterServiceAccount = "kiali-auth-proxy-operator-remote-writer"
	spokeWriterUser           = "system:serviceaccount:" + spokeWriterNamespace + ":" + spokeWriterServiceAccount
)

// serviceAccountGroups are the groups the API server gives a ServiceAccount
// of namespace ns.
func serviceAccountGroups(ns string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// The guard's policies, as config/guard and config/spoke-guard name them.
const (
	writesPolicy    = "kiali-auth-proxy-operator-writes"
	requesterPolicy = "kiali-auth-proxy-operator-requester"
	spokePolicy     = "kiali-auth-proxy-operator-spoke-writes"
)

// impersonate is a client acting as user: the administrator's credentials
// with impersonation, so the API server authenticates the request as the
// administrator and then authorizes and admits it as user.
func impersonate(user string, groups ...string) client.Client {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	cl, err := client.New(c, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	return cl
}

// person is a client for an ordinary authenticated user.
func person(name string) client.Client {
	return impersonate(name, "system:authenticated")
}

// beDeniedBy matches the error of a request that the named policy denied,
// with a message holding every one of parts. A Forbidden from RBAC, or a
// denial by the other policy, does not match.
func beDeniedBy(policy string, parts ...string) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(err error) (bool, error) {
		if err == nil || !(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) {
			return false, nil
		}
		msg := err.Error()
		if !strings.Contains(msg, "ValidatingAdmissionPolicy '"+policy+"' with binding '"+policy+"' denied request: ") {
			return false, nil
		}
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				return false, nil
			}
		}
		return true, nil
	}).WithTemplate("Expected\n{{.FormattedActual}}\nto be a denial by ValidatingAdmissionPolicy {{.Data.Policy}} whose message holds {{.Data.Parts}}",
		struct {
			Policy string
			Parts  []string
		}{policy, parts})
}

// kustomizeBuild builds a config/ directory as make deploy does.
func kustomizeBuild(dir string) []*unstructured.Unstructured {
	objs, err := testbed.KustomizeBuild(dir)
	Expect(err).NotTo(HaveOccurred())
	return objs
}

// readManifest reads the objects of a YAML file of the repository.
func readManifest(path ...string) []*unstructured.Unstructured {
	raw, err := os.ReadFile(filepath.Join(append([]string{testbed.Root()}, path...)...))
	Expect(err).NotTo(HaveOccurred())
	return decode(raw)
}

func decode(raw []byte) []*unstructured.Unstructured {
	objs, err := testbed.DecodeYAML(raw)
	Expect(err).NotTo(HaveOccurred())
	return objs
}

// sample is a KialiAuthProxy from config/samples, in namespace ns: shapes
// the CRD's own validation admits.
func sample(file, ns string) *unstructured.Unstructured {
	objs := readManifest("config", "samples", file)
	Expect(objs).To(HaveLen(1))
	objs[0].SetNamespace(ns)
	return objs[0]
}

// namespace creates namespace name, if it is not there yet.
func namespace(name string) string {
	err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	return name
}

// freshNamespace creates a namespace of its own for one spec, named
// prefix followed by a random suffix.
func freshNamespace(prefix string) string {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k.Create(ctx, n)).To(Succeed())
	return n.Name
}

// grant binds user to a ClusterRole in namespace ns, under the binding's
// name.
func grant(ns, name, user, clusterRole string) *rbacv1.RoleBinding {
	return bind(ns, name, user, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole})
}

// grantRole makes a Role of rules in ns and binds user to it, both under
// name.
func grantRole(ns, name, user string, rules ...rbacv1.PolicyRule) *rbacv1.RoleBinding {
	Expect(k.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules})).To(Succeed())
	return bind(ns, name, user, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name})
}

func bind(ns, name, user string, ref rbacv1.RoleRef) *rbacv1.RoleBinding {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    ref,
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	Expect(k.Create(ctx, rb)).To(Succeed())
	return rb
}

// Rules the requester specs hand out.
var (
	kialiAuthProxyRule = rbacv1.PolicyRule{
		APIGroups: []string{"mesh.kialiauth.io"}, Resources: []string{"kialiauthproxies"},
		Verbs: []string{"create", "get", "update", "patch"},
	}
	kialiRule = rbacv1.PolicyRule{
		APIGroups: []string{"kiali.io"}, Resources: []string{"kialis"},
		Verbs: []string{"create", "get", "patch"},
	}
	secretsRule = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}
)

// tokenSecret is a service-account-token Secret for ServiceAccount default,
// labelled as the operator labels its own: the label does not make it
// allowed.
func tokenSecret(ns, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels:      map[string]string{managedByLabel: managedByValue},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
}

// waitForGuard waits for every policy to take effect: the API server
// learns of policies and bindings through an informer, so they apply some
// time after they are created. Each is probed with a dry-run request it
// denies, which leaves nothing behind whether or not it is denied yet.
func waitForGuard() {
	ns := namespace("guard-probe")
	Eventually(func() error {
		return operator.Create(ctx, tokenSecret(ns, "probe"), client.DryRunAll)
	}).Should(beDeniedBy(writesPolicy, "service-account-token"))
	Eventually(func() error {
		return spokeWriter.Create(ctx, tokenSecret(ns, "probe"), client.DryRunAll)
	}).Should(beDeniedBy(spokePolicy, "service-account-token"))

	Eventually(func() error {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}
		return spokeWriter.Create(ctx, cr, client.DryRunAll)
	}).Should(beDeniedBy("kiali-auth-proxy-operator-spoke-access", "objects named kialiauthproxy-*"))

	grantRole(ns, "probe", "probe", kialiAuthProxyRule)
	probe := person("probe")
	Eventually(func() error {
		return probe.Create(ctx, sample("mesh_v1alpha1_kialiauthproxy.yaml", ns), client.DryRunAll)
	}).Should(beDeniedBy(requesterPolicy, "may not create kialis.kiali.io"))
}
