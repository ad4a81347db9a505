package upgrade

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var update = flag.Bool("update", false, "rewrite testdata/"+previous+" from the current code (only when that release is cut)")

const (
	// previous is the release whose objects testdata holds.
	previous = "v0.1.0"
	// namespace is where the reference setup lives.
	namespace = "kiali"
	// sessionValue stands for the session secret the release generated: 32
	// characters from [A-Za-z0-9], as the operator generates them.
	sessionValue = "Prev10usRe1easeSess10nSecret32ch"
	// htpasswdValue is the user's htpasswd file the reference setup names.
	htpasswdValue = "admin:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K\n"
)

var snapshotDir = filepath.Join("testdata", previous)

// referenceKAP is the reference KialiAuthProxy of config/samples.
func referenceKAP() (*meshv1alpha1.KialiAuthProxy, error) {
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "samples", "mesh_v1alpha1_kialiauthproxy.yaml"))
	if err != nil {
		return nil, err
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		return nil, err
	}
	kap.Namespace = namespace
	return kap, nil
}

// renderReference is every object the current code makes for the reference
// setup: what render.Render returns for the inputs the controller resolves
// (its generated session secret, the user's htpasswd Secret), and that
// session secret. proxyImage is the operator's default image.
func renderReference(proxyImage string) ([]*unstructured.Unstructured, error) {
	kap, err := referenceKAP()
	if err != nil {
		return nil, err
	}
	d := kap.WithDefaults(proxyImage)
	names := render.NamesFor(d)
	session := render.SecretKey{Name: names.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}
	htpasswd := render.SecretKey{Name: d.Spec.Proxy.Htpasswd.Name, Key: d.Spec.Proxy.Htpasswd.Key}
	in := render.Inputs{
		ProxyImage:     proxyImage,
		SessionSecret:  session,
		Htpasswd:       &htpasswd,
		InputsChecksum: inputsChecksum(session, htpasswd),
	}
	objs := append(render.Objects(kap, in), &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      names.SessionSecret,
			Namespace: names.Namespace,
			Labels:    render.Labels(kap, render.ComponentSessionSecret),
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{session.Key: []byte(sessionValue)},
	})
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		u, err := apply.Document(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// inputsChecksum is the proxy pod template's checksum of the secrets it
// reads, computed as the controller does (resolveInputs), so the snapshot
// holds the value the release wrote for these secrets.
func inputsChecksum(session, htpasswd render.SecretKey) string {
	sum := sha256.New()
	fmt.Fprintf(sum, "session %s/%s\n", session.Name, session.Key)
	sum.Write([]byte(sessionValue))
	fmt.Fprintf(sum, "\nhtpasswd %s/%s\n", htpasswd.Name, htpasswd.Key)
	sum.Write([]byte(htpasswdValue))
	return "sha256:" + hex.EncodeToString(sum.Sum(nil))[:32]
}

func isSessionSecret(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Secret" && u.GetLabels()[render.LabelComponent] == render.ComponentSessionSecret
}

var writeOnce = sync.OnceValue(func() error {
	objs, err := renderReference(meshv1alpha1.DefaultProxyImage)
	if err != nil {
		return err
	}
	return writeSnapshot(objs)
})

// previousObjects are the previous release's objects, without owner
// references (they need the owner's UID). With -update the snapshot is
// first written from the current code, with the default image it ships.
func previousObjects() ([]*unstructured.Unstructured, error) {
	if *update {
		if err := writeOnce(); err != nil {
			return nil, err
		}
	}
	return loadSnapshot()
}

// writeSnapshot replaces the snapshot's YAML files with one per object.
func writeSnapshot(objs []*unstructured.Unstructured) error {
	if err := os.MkdirAll(snapshotDir, 0o755); err != nil {
		return err
	}
	stale, err := filepath.Glob(filepath.Join(snapshotDir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	for _, u := range objs {
		raw, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		file := strings.ToLower(u.GetKind()) + "-" + u.GetName() + ".yaml"
		if err := os.WriteFile(filepath.Join(snapshotDir, file), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func loadSnapshot() ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(snapshotDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no objects in %s", snapshotDir)
	}
	sort.Strings(files)
	out := make([]*unstructured.Unstructured, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.UnmarshalStrict(raw, &u.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, u)
	}
	return out, nil
}
