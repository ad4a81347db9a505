package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/validate"
)

// offlineChecksum stands in for the checksum of the secrets the proxy reads,
// which only the operator, reading them in the cluster, can compute.
const offlineChecksum = "offline"

// runRender prints the objects the operator would apply for the
// KialiAuthProxy objects in a file, without a cluster. It returns the exit
// code.
func runRender(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "file with KialiAuthProxy objects (YAML or JSON, several documents allowed); - reads standard input")
	namespace := fs.String("n", "default", "namespace of objects that name none")
	only := fs.String("cluster", "", "print only what the operator writes on this cluster of spec.clusters, as YAML to apply or diff there")
	var images renderImages
	fs.StringVar(&images.OAuthProxy, "proxy-image", os.Getenv("RELATED_IMAGE_OAUTH_PROXY"), "default oauth-proxy image, as the operator's RELATED_IMAGE_OAUTH_PROXY")
	fs.StringVar(&images.OAuth2Proxy, "oauth2-proxy-image", os.Getenv("RELATED_IMAGE_OAUTH2_PROXY"), "default oauth2-proxy image (OIDC provider), as the operator's RELATED_IMAGE_OAUTH2_PROXY")
	fs.StringVar(&images.authorizer, "authorizer-image", os.Getenv("RELATED_IMAGE_AUTHORIZER"), "image of the OIDC provider's authorizing proxy (the operator's own), as the operator's RELATED_IMAGE_AUTHORIZER")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s render -f FILE [-n NAMESPACE]\n\n"+
			"Prints, as one YAML stream, the objects the operator applies for each KialiAuthProxy in FILE,\n"+
			"followed, as comments, by what it writes on each cluster of spec.clusters (-cluster prints one of those).\n"+
			"Invalid objects are reported with the API server's messages and a non-zero exit.\n\n", os.Args[0])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	in := stdin
	name := "standard input"
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		defer f.Close()
		in, name = f, *file
	}

	kaps, err := readKialiAuthProxies(in, name, *namespace)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	var out bytes.Buffer
	for _, kap := range kaps {
		plan := render.PlanWithImages(kap, images.Images)
		remote, err := clusterSections(plan, *only)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		if *only != "" {
			out.WriteString(remote)
			continue
		}
		out.WriteString(header(plan, name))
		out.WriteString(managedNote(plan))
		doc, err := apply.YAML(render.Render(plan, offlineInputs(plan, images)).Objects)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		out.WriteString("---\n")
		out.Write(doc)
		out.WriteString(remote)
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return 1
	}
	return 0
}

// readKialiAuthProxies decodes and validates every document; it fails if any
// is not a valid KialiAuthProxy, naming each problem.
func readKialiAuthProxies(in io.Reader, name, namespace string) ([]*meshv1alpha1.KialiAuthProxy, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var (
		kaps     []*meshv1alpha1.KialiAuthProxy
		problems []string
	)
	for i := 1; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if obj["kind"] != "KialiAuthProxy" || obj["apiVersion"] != meshv1alpha1.GroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d is %v %v, not a %s KialiAuthProxy", name, i, obj["apiVersion"], obj["kind"], meshv1alpha1.GroupVersion)
		}
		md, _ := obj["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			obj["metadata"] = md
		}
		if md["namespace"] == nil || md["namespace"] == "" {
			md["namespace"] = namespace
		}
		id := fmt.Sprintf("KialiAuthProxy %v/%v", md["namespace"], md["name"])
		errs, err := validate.Object(context.Background(), obj)
		if err != nil {
			return nil, err
		}
		if len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s is invalid:\n%s", name, id, bulletList(errs)))
			continue
		}
		kap := &meshv1alpha1.KialiAuthProxy{}
		clean, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(clean, kap); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, id, err)
		}
		kaps = append(kaps, kap)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	if len(kaps) == 0 {
		return nil, fmt.Errorf("%s holds no KialiAuthProxy", name)
	}
	return kaps, nil
}

func bulletList(errs field.ErrorList) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = "  - " + e.Error()
	}
	return strings.Join(lines, "\n")
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// renderImages are the operator-wide images a render assumes.
type renderImages struct {
	meshv1alpha1.Images
	authorizer string
}

// offlineInputs are the inputs the operator would resolve, as far as they
// can be known without reading the cluster.
func offlineInputs(plan render.Plan, images renderImages) render.Inputs {
	d := plan.KAP
	session := render.SecretKey{Name: plan.Names.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}
	if ref := d.Spec.Proxy.SessionSecret; ref != nil {
		session = render.SecretKey{Name: ref.Name, Key: ref.Key}
	}
	in := render.Inputs{ProxyImage: images.OAuthProxy, AuthorizerImage: images.authorizer, SessionSecret: session, InputsChecksum: offlineChecksum}
	if h := d.Spec.Proxy.Htpasswd; h != nil {
		in.Htpasswd = &render.SecretKey{Name: h.Name, Key: h.Key}
		if len(h.Users) > 0 {
			// The operator names the Secret after a fingerprint of the
			// password Secrets, which only it can read.
			in.Htpasswd = &render.SecretKey{Name: plan.Names.HtpasswdPrefix + offlineChecksum, Key: meshv1alpha1.DefaultHtpasswdKey}
		}
	}
	return in
}

// header explains what the stream leaves out.
func header(plan render.Plan, source string) string {
	kap, d := plan.Stored, plan.KAP
	var b strings.Builder
	fmt.Fprintf(&b, "# Objects for KialiAuthProxy %s/%s, rendered offline from %s.\n", kap.Namespace, kap.Name, source)
	if d.Spec.Proxy.SessionSecret == nil {
		fmt.Fprintf(&b, "# The session secret %s/%s (key %s) is not included: the operator generates it once,\n"+
			"# 32 random characters, and never prints it. Without the operator, create it yourself:\n"+
			"#   kubectl -n %s create secret generic %s --from-literal=%s=\"$(openssl rand -hex 16)\"\n",
			kap.Namespace, plan.Names.SessionSecret, meshv1alpha1.DefaultSessionSecretKey,
			kap.Namespace, plan.Names.SessionSecret, meshv1alpha1.DefaultSessionSecretKey)
	}
	if h := d.Spec.Proxy.Htpasswd; h != nil && len(h.Users) > 0 {
		fmt.Fprintf(&b, "# The htpasswd Secret is not included either: the operator builds it from the users'\n"+
			"# password Secrets and names it %s<fingerprint> (%q here).\n", plan.Names.HtpasswdPrefix, offlineChecksum)
	}
	fmt.Fprintf(&b, "# Applying them, the operator also sets owner references to the KialiAuthProxy, its\n"+
		"# %s annotation, and the pod template's %s annotation\n"+
		"# from the contents of the secrets the proxy reads (%q here).\n",
		apply.AppliedHashAnnotation, render.InputsChecksumAnnotation, offlineChecksum)
	return b.String()
}
