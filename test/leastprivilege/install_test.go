package leastprivilege

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// serviceAccount is the operator's ServiceAccount, in config/ and in the
// bundle alike; the guard recognises the operator by it.
const serviceAccount = "kiali-auth-proxy-operator-controller-manager"

// spokeWriter is the ServiceAccount name config/spoke-guard holds to the
// writes a spoke's kubeconfig is for.
const spokeWriter = "kiali-auth-proxy-operator-remote-writer"

// installation is what one install mode puts on the cluster for the
// operator: its RBAC, and the namespaces its manager is told to watch.
type installation struct {
	name string
	// namespace is the operator's own.
	namespace string
	// watch is what the manager's WATCH_NAMESPACE holds; nil is every
	// namespace.
	watch []string
	// leaseNamespace is the manager's --leader-election-namespace, "" when
	// it leaves the choice to the manager.
	leaseNamespace string
	// objects are the Namespace, ServiceAccount and RBAC objects, as the
	// install makes them.
	objects []*unstructured.Unstructured
}

func (in installation) username() string {
	return "system:serviceaccount:" + in.namespace + ":" + serviceAccount
}

// watches says whether the operator is given namespace ns.
func (in installation) watches(ns string) bool {
	if in.watch == nil {
		return true
	}
	for _, w := range in.watch {
		if w == ns {
			return true
		}
	}
	return false
}

// kustomizeBuild builds a config/ directory as make deploy does.
func kustomizeBuild(dir string) []*unstructured.Unstructured {
	objs, err := testbed.KustomizeBuild(dir)
	Expect(err).NotTo(HaveOccurred())
	return objs
}

// identityKinds are what an install makes for the operator's identity.
var identityKinds = map[string]bool{
	"Namespace": true, "ServiceAccount": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// fromKustomize is the install of config/<dir>: its RBAC exactly as built,
// and the watched namespaces its manager Deployment is given.
func fromKustomize(dir string) installation {
	in := installation{name: "config/" + dir}
	for _, u := range kustomizeBuild(dir) {
		switch {
		case identityKinds[u.GetKind()]:
			in.objects = append(in.objects, u)
		case u.GetKind() == "Deployment":
			in.namespace = u.GetNamespace()
			in.watch = watchOf(u)
			in.leaseNamespace = leaseNamespaceOf(u)
		}
	}
	Expect(in.namespace).NotTo(BeEmpty(), "config/%s has no manager Deployment", dir)
	return in
}

// watchOf reads WATCH_NAMESPACE off the manager Deployment as the kubelet
// would resolve it.
func watchOf(d *unstructured.Unstructured) []string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		env, _, _ := unstructured.NestedSlice(c.(map[string]any), "env")
		for _, e := range env {
			e := e.(map[string]any)
			if e["name"] != "WATCH_NAMESPACE" {
				continue
			}
			if v, ok := e["value"].(string); ok {
				return strings.Split(v, ",")
			}
			path, _, _ := unstructured.NestedString(e, "valueFrom", "fieldRef", "fieldPath")
			Expect(path).To(Equal("metadata.namespace"), "WATCH_NAMESPACE of config/ comes from an unexpected field")
			return []string{d.GetNamespace()}
		}
	}
	return nil
}

// leaseNamespaceOf reads --leader-election-namespace off the manager
// Deployment, with the $(VAR) references the kubelet expands; here every
// such variable is the pod's namespace.
func leaseNamespaceOf(d *unstructured.Unstructured) string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		args, _, _ := unstructured.NestedStringSlice(c.(map[string]any), "args")
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--leader-election-namespace="); ok {
				if strings.HasPrefix(v, "$(") {
					return d.GetNamespace()
				}
				return v
			}
		}
	}
	return ""
}

// bundleCSV reads the committed bundle's ClusterServiceVersion.
func bundleCSV() *operatorsv1alpha1.ClusterServiceVersion {
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "bundle", "manifests", "kiali-auth-proxy-operator.clusterserviceversion.yaml"))
	Expect(err).NotTo(HaveOccurred())
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	Expect(yaml.Unmarshal(raw, csv)).To(Succeed())
	return csv
}

// olmVersion is which OLM turns the bundle into RBAC; they differ.
type olmVersion string

const (
	// olmV0 is operator-lifecycle-manager: the CSV's permissions become a
	// Role and RoleBinding in the operator's namespace in every mode
	// (pkg/controller/registry/resolver/rbac.go,
	// RBACForClusterServiceVersion), copied into each other target
	// namespace (pkg/controller/operators/olm/operatorgroup.go,
	// ensureTenantRBAC), and for AllNamespaces also lifted to ClusterRoles
	// bound cluster-wide with get, list and watch on namespaces added
	// (ensureSingletonRBAC).
	olmV0 olmVersion = "OLM v0"
	// olmV1 is operator-controller: the permissions become a Role and
	// RoleBinding in each target namespace only, not the install namespace,
	// or for AllNamespaces ClusterRoles bound cluster-wide with the same
	// namespaces rule added (internal/operator-controller/rukpak/render/
	// registryv1/generators/generators.go, BundleCSVPermissionsGenerator
	// and BundleCSVClusterPermissionsGenerator). It offers no MultiNamespace.
	olmV1 olmVersion = "OLM v1"
)

// fromBundle is what olm makes of the committed bundle's install strategy
// for the operator installed in ns for targets (nil: AllNamespaces). The
// clusterPermissions become ClusterRoles bound cluster-wide in both. Both
// put the target namespaces in the pod template's olm.targetNamespaces
// annotation (v0: pkg/controller/install/deployment.go, deploymentForSpec;
// v1: BundleCSVDeploymentGenerator), which the CSV's WATCH_NAMESPACE reads.
func fromBundle(olm olmVersion, mode, ns string, targets []string) installation {
	csv := bundleCSV()
	supported := false
	for _, m := range csv.Spec.InstallModes {
		if string(m.Type) == mode {
			supported = m.Supported
		}
	}
	Expect(supported).To(BeTrue(), "the bundle does not support %s", mode)
	Expect(olm == olmV1 && mode == "MultiNamespace").To(BeFalse(), "OLM v1 has no MultiNamespace")
	strategy := csv.Spec.InstallStrategy.StrategySpec
	in := installation{name: fmt.Sprintf("the bundle through %s in %s", olm, mode), namespace: ns, watch: targets}
	fromAnnotation := false
	for _, d := range strategy.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == "WATCH_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
					fromAnnotation = e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['olm.targetNamespaces']"
				}
			}
		}
	}
	Expect(fromAnnotation).To(BeTrue(), "the CSV's WATCH_NAMESPACE does not read olm.targetNamespaces")

	add := func(o client.Object, kind string) {
		u := &unstructured.Unstructured{}
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		Expect(err).NotTo(HaveOccurred())
		u.Object = raw
		u.SetAPIVersion(map[bool]string{true: "v1", false: "rbac.authorization.k8s.io/v1"}[kind == "Namespace" || kind == "ServiceAccount"])
		u.SetKind(kind)
		in.objects = append(in.objects, u)
	}
	namespaced := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": name}}}
	}
	add(namespaced(ns), "Namespace")
	for _, t := range targets {
		if t != ns {
			add(namespaced(t), "Namespace")
		}
	}
	// OLM makes every service account the permissions name: the manager's,
	// and the metrics scraper's, which holds only the metrics endpoint.
	accounts := map[string]bool{}
	account := func(sa string) []rbacv1.Subject {
		if !accounts[sa] {
			accounts[sa] = true
			add(&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": sa, "namespace": ns}}}, "ServiceAccount")
		}
		return []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}
	}
	clusterWide := func(name string, subject []rbacv1.Subject, rules []rbacv1.PolicyRule) {
		add(&rbacv1.ClusterRole{ObjectMeta: objMeta(name, ""), Rules: rules}, "ClusterRole")
		add(&rbacv1.ClusterRoleBinding{ObjectMeta: objMeta(name, ""), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, "ClusterRoleBinding")
	}
	account(serviceAccount)
	for i, p := range strategy.ClusterPermissions {
		if p.ServiceAccountName != serviceAccount {
			Expect(p.ServiceAccountName).To(Equal("kiali-auth-proxy-operator-metrics-scraper"))
			Expect(p.Rules).To(Equal([]rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}))
		}
		clusterWide(fmt.Sprintf("%s-cluster-%d", ns, i), account(p.ServiceAccountName), p.Rules)
	}
	subject := account(serviceAccount)
	for i, p := range strategy.Permissions {
		Expect(p.ServiceAccountName).To(Equal(serviceAccount))
		name := fmt.Sprintf("%s-%d", ns, i)
		var namespaces []string
		switch {
		case targets == nil:
			clusterWide(name, subject, append(slices.Clone(p.Rules), rbacv1.PolicyRule{
				APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}}))
			if olm == olmV0 {
				namespaces = []string{ns}
			}
		case olm == olmV0:
			namespaces = append([]string{ns}, slices.DeleteFunc(slices.Clone(targets), func(t string) bool { return t == ns })...)
		default:
			namespaces = targets
		}
		for _, target := range namespaces {
			add(&rbacv1.Role{ObjectMeta: objMeta(name, target), Rules: p.Rules}, "Role")
			add(&rbacv1.RoleBinding{ObjectMeta: objMeta(name, target), Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}, "RoleBinding")
		}
	}
	return in
}

func objMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}
