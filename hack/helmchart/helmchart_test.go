package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A small install in the shape of config/: the namespace, a manager
// Deployment, the binding of manager-role for each mode and a guard
// policy. test/helm checks the real one.
const (
	namespaceYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: op-system
`
	deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: kiali-auth-proxy-operator-controller-manager
  namespace: op-system
  labels:
    app.kubernetes.io/managed-by: kustomize
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: manager
        image: op:latest
        args: [--leader-elect, --metrics-bind-address=:8443%s]
        env:%s
        - name: AUTHORIZER
          value: op:latest
        resources:
          requests:
            cpu: 10m
`
	clusterBindingYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kiali-auth-proxy-operator-manager-rolebinding
subjects:
- kind: ServiceAccount
  name: kiali-auth-proxy-operator-controller-manager
  namespace: op-system
`
	roleBindingYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: kiali-auth-proxy-operator-manager-rolebinding
  namespace: op-system
subjects:
- kind: ServiceAccount
  name: kiali-auth-proxy-operator-controller-manager
  namespace: op-system
`
	policyYAML = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: kiali-auth-proxy-operator-writes
spec:
  validations:
  - expression: "request.userInfo.username != 'system:serviceaccount:op-system:x'"
    message: "no {{ template }} here"
`
)

func deployment(extraArgs, extraEnv string) string {
	return strings.Replace(strings.Replace(deploymentYAML, "%s", extraArgs, 1), "%s", extraEnv, 1)
}

func builds(watchedDeployment string) Builds {
	all := deployment("", "")
	return Builds{
		Default:    []byte(namespaceYAML + "---\n" + all + "---\n" + clusterBindingYAML + "---\n" + policyYAML),
		Namespaced: []byte(namespaceYAML + "---\n" + watchedDeployment + "---\n" + roleBindingYAML + "---\n" + policyYAML),
		Guard:      []byte(policyYAML),
	}
}

var watchedDeployment = deployment(", --leader-election-namespace=$(OPERATOR_NAMESPACE)", `
        - name: WATCH_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace`)

func generate(t *testing.T, b Builds) map[string][]byte {
	t.Helper()
	files, err := Generate(b, Options{Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestModesBecomeValues(t *testing.T) {
	files := generate(t, builds(watchedDeployment))
	d := string(files["templates/deployment-controller-manager.yaml"])
	for _, want := range []string{
		"namespace: {{ $.Release.Namespace }}",
		"replicas: {{ $.Values.replicas }}",
		"{{- if $.Values.leaderElection }}\n        - --leader-elect\n{{- end }}",
		"{{- if $.Values.watchNamespaces }}\n        - --leader-election-namespace=$(OPERATOR_NAMESPACE)\n{{- end }}",
		"{{- if $.Values.watchNamespaces }}\n        - name: WATCH_NAMESPACE\n          value: {{ join \",\" $.Values.watchNamespaces | quote }}\n{{- end }}",
		"image: {{ include \"kiali-auth-proxy-operator.image\" $ }}",
		// A copy of the image follows the image.
		"- name: AUTHORIZER\n          value: {{ include \"kiali-auth-proxy-operator.image\" $ }}",
		"resources: {{- toYaml $.Values.resources | nindent 10 }}",
		"{{- with $.Values.nodeSelector }}\n      nodeSelector: {{- toYaml . | nindent 8 }}\n{{- end }}",
		"app.kubernetes.io/managed-by: {{ $.Release.Service }}",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("the Deployment's template lacks\n%s\nin\n%s", want, d)
		}
	}
	if strings.Contains(d, "op-system") || strings.Contains(d, "op:latest") {
		t.Errorf("config/'s namespace or image left in\n%s", d)
	}
	if !strings.Contains(string(files["values.yaml"]), "resources:\n  requests:\n    cpu: 10m\n") {
		t.Errorf("values.yaml does not default resources to config/manager's:\n%s", files["values.yaml"])
	}

	all := string(files["templates/rbac/clusterrolebinding-manager-rolebinding.yaml"])
	if !strings.Contains(all, "{{- if not $.Values.watchNamespaces }}") {
		t.Errorf("the ClusterRoleBinding is not for the all-namespaces install only:\n%s", all)
	}
	watched := string(files["templates/rbac/rolebinding-manager-rolebinding.yaml"])
	for _, want := range []string{"{{- range $watched := .Values.watchNamespaces }}\n---\n", "  namespace: {{ $watched }}\n", "  namespace: {{ $.Release.Namespace }}\n"} {
		if !strings.Contains(watched, want) {
			t.Errorf("the RoleBinding's template lacks %q:\n%s", want, watched)
		}
	}
}

// Text of config/ is text to Helm: an action delimiter is printed, and the
// namespace is the release's even inside a string.
func TestGuardTextIsEscaped(t *testing.T) {
	files := generate(t, builds(watchedDeployment))
	p := string(files["templates/guard/validatingadmissionpolicy-writes.yaml"])
	for _, want := range []string{
		"{{- if $.Values.guard.enabled }}\n",
		`no {{ "{{" }} template }} here`,
		"system:serviceaccount:{{ $.Release.Namespace }}:x",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("the policy's template lacks %q:\n%s", want, p)
		}
	}
}

// A difference between config/default and config/namespaced other than
// added list items cannot be a value; the generator says where it is
// rather than drop it.
func TestUnknownModeDifferenceIsRefused(t *testing.T) {
	changed := strings.Replace(watchedDeployment, "replicas: 1", "replicas: 2", 1)
	_, err := Generate(builds(changed), Options{Version: "1.2.3"})
	if err == nil || !strings.Contains(err.Error(), ".spec.replicas") {
		t.Fatalf("got %v, want an error naming .spec.replicas", err)
	}
	dropped := strings.Replace(watchedDeployment, "--leader-elect, ", "", 1)
	_, err = Generate(builds(dropped), Options{Version: "1.2.3"})
	if err == nil || !strings.Contains(err.Error(), "--leader-elect") {
		t.Fatalf("got %v, want an error naming the dropped --leader-elect", err)
	}
}

func TestCompareNamesWhatIsStale(t *testing.T) {
	files := generate(t, builds(watchedDeployment))
	dir := t.TempDir()
	if err := write(dir, files); err != nil {
		t.Fatal(err)
	}
	if stale := Compare(dir, files); len(stale) != 0 {
		t.Fatalf("a chart just written is stale: %v", stale)
	}
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("replicas: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "templates", "extra.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Compare(dir, files), "; ")
	if want := "Chart.yaml is missing; templates/extra.yaml is not generated; values.yaml differs"; got != want {
		t.Errorf("Compare: %s, want %s", got, want)
	}
}
