package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Options of one bundle.
type Options struct {
	Version string
	Image   string
	Channel string
}

const packageName = "kiali-auth-proxy-operator"

// watchNamespaceEnv is the manager's list of namespaces to watch.
const watchNamespaceEnv = "WATCH_NAMESPACE"

// Generate returns the bundle's files by path.
func Generate(manifests []byte, o Options) (map[string][]byte, error) {
	objs, err := decode(manifests)
	if err != nil {
		return nil, err
	}
	var (
		csv        *unstructured.Unstructured
		crds       []*unstructured.Unstructured
		deployment *unstructured.Unstructured
		samples    []any
		roles      = map[string]*unstructured.Unstructured{} // "Kind/name"
		bindings   []*unstructured.Unstructured
		extras     []*unstructured.Unstructured
		accounts   = map[string]bool{}
	)
	for _, u := range objs {
		switch u.GetKind() {
		case "ClusterServiceVersion":
			csv = u
		case "CustomResourceDefinition":
			crds = append(crds, u)
		case "Deployment":
			deployment = u
		case "KialiAuthProxy":
			samples = append(samples, u.Object)
		case "ClusterRole", "Role":
			roles[u.GetKind()+"/"+u.GetName()] = u
		case "ClusterRoleBinding", "RoleBinding":
			bindings = append(bindings, u)
		case "ServiceAccount":
			// OLM creates the service accounts the CSV's permissions name.
			accounts[u.GetName()] = true
		case "Namespace":
			// OLM creates the operator's namespace.
		default:
			extras = append(extras, u)
		}
	}
	if csv == nil || deployment == nil || len(crds) == 0 {
		return nil, errors.New("the manifests need a ClusterServiceVersion base, the manager Deployment and the CRD")
	}
	serviceAccount, _, _ := unstructured.NestedString(deployment.Object, "spec", "template", "spec", "serviceAccountName")

	// RBAC bound to the manager becomes the CSV's permissions; roles bound
	// to nobody (for users and monitoring) ship as plain manifests.
	// The bindings of the other service accounts of the manifests (the
	// metrics scraper) become their own permissions: OLM makes the account
	// in the install namespace and binds it there, which a binding in the
	// bundle could not (its subject's namespace is not known yet). Their
	// roles still ship, for users to bind.
	var clusterRules, nsRules []any
	others := map[string]*csvPermissions{}
	bound := map[string]bool{}
	for _, b := range bindings {
		subject := ""
		switch {
		case bindsServiceAccount(b, serviceAccount):
			subject = serviceAccount
		default:
			for sa := range accounts {
				if sa != serviceAccount && bindsServiceAccount(b, sa) {
					subject = sa
				}
			}
		}
		if subject == "" {
			extras = append(extras, b)
			continue
		}
		ref, _, _ := unstructured.NestedString(b.Object, "roleRef", "kind")
		name, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
		role := roles[ref+"/"+name]
		if role == nil {
			return nil, fmt.Errorf("%s %s binds the missing %s %s", b.GetKind(), b.GetName(), ref, name)
		}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		clusterWide := ref == "ClusterRole" && b.GetKind() == "ClusterRoleBinding"
		if subject != serviceAccount {
			p := others[subject]
			if p == nil {
				p = &csvPermissions{}
				others[subject] = p
			}
			if clusterWide {
				p.cluster = append(p.cluster, rules...)
			} else {
				p.namespaced = append(p.namespaced, rules...)
			}
			continue
		}
		bound[ref+"/"+name] = true
		if clusterWide {
			clusterRules = append(clusterRules, rules...)
		} else {
			nsRules = append(nsRules, rules...)
		}
	}
	for key, role := range roles {
		if !bound[key] {
			extras = append(extras, role)
		}
	}

	if err := completeCSV(csv, deployment, crds, samples, serviceAccount, clusterRules, nsRules, others, o); err != nil {
		return nil, err
	}

	files := map[string][]byte{}
	add := func(name string, u *unstructured.Unstructured) error {
		doc, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		files["bundle/manifests/"+name] = doc
		return nil
	}
	if err := add(packageName+".clusterserviceversion.yaml", csv); err != nil {
		return nil, err
	}
	for _, crd := range crds {
		// OLM rejects conversion webhooks in bundle CRDs it does not serve.
		unstructured.RemoveNestedField(crd.Object, "spec", "conversion")
		unstructured.RemoveNestedField(crd.Object, "status")
		crd.SetNamespace("")
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		if err := add(group+"_"+plural+".yaml", crd); err != nil {
			return nil, err
		}
	}
	for _, u := range extras {
		if u.GetKind() == "ClusterRoleBinding" || u.GetKind() == "RoleBinding" {
			continue
		}
		u.SetNamespace("")
		gv := strings.ReplaceAll(u.GetAPIVersion(), "/", "_")
		if err := add(fmt.Sprintf("%s_%s_%s.yaml", u.GetName(), gv, strings.ToLower(u.GetKind())), u); err != nil {
			return nil, err
		}
	}
	labels := bundleLabels(o)
	var annotations bytes.Buffer
	annotations.WriteString("annotations:\n")
	for _, kv := range labels {
		fmt.Fprintf(&annotations, "  %s: %s\n", kv[0], kv[1])
	}
	files["bundle/metadata/annotations.yaml"] = annotations.Bytes()
	var dockerfile bytes.Buffer
	dockerfile.WriteString("FROM scratch\n\n")
	for _, kv := range labels {
		fmt.Fprintf(&dockerfile, "LABEL %s=%s\n", kv[0], kv[1])
	}
	dockerfile.WriteString("\nCOPY bundle/manifests /manifests/\nCOPY bundle/metadata /metadata/\n")
	files["bundle.Dockerfile"] = dockerfile.Bytes()
	return files, nil
}

// csvPermissions are the rules one service account is bound to.
type csvPermissions struct{ cluster, namespaced []any }

func completeCSV(csv, deployment *unstructured.Unstructured, crds []*unstructured.Unstructured, samples []any,
	serviceAccount string, clusterRules, nsRules []any, others map[string]*csvPermissions, o Options) error {
	csv.SetName(packageName + ".v" + o.Version)
	csv.SetNamespace("")
	ann := csv.GetAnnotations()
	examples, err := json.MarshalIndent(samples, "", "  ")
	if err != nil {
		return err
	}
	ann["alm-examples"] = string(examples)
	ann["containerImage"] = o.Image
	csv.SetAnnotations(ann)

	// The manager's container runs the operator image; its
	// RELATED_IMAGE_OAUTH_PROXY and RELATED_IMAGE_OAUTH2_PROXY are the proxy
	// images OLM mirrors, RELATED_IMAGE_AUTHORIZER the operator image again
	// (it serves the OIDC provider's authorizing proxy), and
	// its WATCH_NAMESPACE the OperatorGroup's target namespaces, which OLM
	// writes in the olm.targetNamespaces annotation of the pod template in
	// every install mode ("" for AllNamespaces).
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	proxyImage, oauth2ProxyImage := "", ""
	for _, c := range containers {
		c := c.(map[string]any)
		c["image"] = o.Image
		env, _, _ := unstructured.NestedSlice(c, "env")
		kept := []any{}
		for _, e := range env {
			e := e.(map[string]any)
			switch e["name"] {
			case "RELATED_IMAGE_OAUTH_PROXY":
				proxyImage, _ = e["value"].(string)
			case "RELATED_IMAGE_OAUTH2_PROXY":
				oauth2ProxyImage, _ = e["value"].(string)
			case "RELATED_IMAGE_AUTHORIZER":
				e["value"] = o.Image
			case watchNamespaceEnv:
				continue
			}
			kept = append(kept, e)
		}
		c["env"] = append(kept, map[string]any{
			"name": watchNamespaceEnv,
			"valueFrom": map[string]any{"fieldRef": map[string]any{
				"fieldPath": "metadata.annotations['olm.targetNamespaces']",
			}},
		})
	}
	if proxyImage == "" || oauth2ProxyImage == "" {
		return errors.New("the manager Deployment does not set RELATED_IMAGE_OAUTH_PROXY and RELATED_IMAGE_OAUTH2_PROXY")
	}
	if err := unstructured.SetNestedSlice(deployment.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return err
	}
	spec := csv.Object["spec"].(map[string]any)
	spec["version"] = o.Version
	spec["relatedImages"] = []any{
		map[string]any{"name": "manager", "image": o.Image},
		map[string]any{"name": "oauth-proxy", "image": proxyImage},
		map[string]any{"name": "oauth2-proxy", "image": oauth2ProxyImage},
	}
	install := map[string]any{
		"deployments": []any{map[string]any{
			"name":  deployment.GetName(),
			"label": toAny(deployment.GetLabels()),
			"spec":  deployment.Object["spec"],
		}},
	}
	clusterPermissions := []any{map[string]any{"serviceAccountName": serviceAccount, "rules": clusterRules}}
	var permissions []any
	if len(nsRules) > 0 {
		permissions = append(permissions, map[string]any{"serviceAccountName": serviceAccount, "rules": nsRules})
	}
	names := make([]string, 0, len(others))
	for sa := range others {
		names = append(names, sa)
	}
	sort.Strings(names)
	for _, sa := range names {
		if p := others[sa]; len(p.cluster) > 0 {
			clusterPermissions = append(clusterPermissions, map[string]any{"serviceAccountName": sa, "rules": p.cluster})
		}
		if p := others[sa]; len(p.namespaced) > 0 {
			permissions = append(permissions, map[string]any{"serviceAccountName": sa, "rules": p.namespaced})
		}
	}
	install["clusterPermissions"] = clusterPermissions
	if len(permissions) > 0 {
		install["permissions"] = permissions
	}
	spec["install"] = map[string]any{"strategy": "deployment", "spec": install}

	owned, _, _ := unstructured.NestedSlice(spec, "customresourcedefinitions", "owned")
	for _, crd := range crds {
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		found := false
		for _, entry := range owned {
			entry := entry.(map[string]any)
			if entry["name"] != crd.GetName() {
				continue
			}
			found = true
			for _, v := range versions {
				v := v.(map[string]any)
				if v["storage"] == true {
					entry["version"] = v["name"]
				}
			}
		}
		if !found {
			return fmt.Errorf("the CSV base lists no owned CRD %s", crd.GetName())
		}
	}
	return unstructured.SetNestedSlice(spec, owned, "customresourcedefinitions", "owned")
}

func bindsServiceAccount(b *unstructured.Unstructured, sa string) bool {
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	for _, s := range subjects {
		s := s.(map[string]any)
		if s["kind"] == "ServiceAccount" && s["name"] == sa {
			return true
		}
	}
	return false
}

func bundleLabels(o Options) [][2]string {
	return [][2]string{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", packageName},
		{"operators.operatorframework.io.bundle.channels.v1", o.Channel},
		{"operators.operatorframework.io.bundle.channel.default.v1", o.Channel},
	}
}

func decode(manifests []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	var objs []*unstructured.Unstructured
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].GetKind()+objs[i].GetName() < objs[j].GetKind()+objs[j].GetName() })
	return objs, nil
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
