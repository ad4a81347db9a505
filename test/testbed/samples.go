package testbed

import (
	"context"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// ReferenceSample is the sample of the hand-made reference setup: one
// KialiAuthProxy named kiali, exposed on the mesh gateway, whose users
// come from the htpasswd Secret named htpasswd.
const ReferenceSample = "mesh_v1alpha1_kialiauthproxy.yaml"

// HtpasswdLine is a user of an htpasswd file (admin, bcrypt).
const HtpasswdLine = "admin:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K\n"

// Sample loads a KialiAuthProxy from config/samples into namespace ns,
// strictly: a sample with a field the API does not have fails the spec.
func Sample(file, ns string) *meshv1alpha1.KialiAuthProxy {
	ginkgo.GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(Root(), "config", "samples", file))
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	kap := &meshv1alpha1.KialiAuthProxy{}
	gomega.Expect(yaml.UnmarshalStrict(raw, kap)).To(gomega.Succeed(), file)
	kap.Namespace = ns
	return kap
}

// Reference is the reference sample in namespace ns.
func Reference(ns string) *meshv1alpha1.KialiAuthProxy {
	return Sample(ReferenceSample, ns)
}

// NewNamespace creates a namespace of its own for one spec, named prefix
// and a random suffix.
func NewNamespace(ctx context.Context, c client.Client, prefix string) string {
	ginkgo.GinkgoHelper()
	ns := prefix + rand.String(6)
	gomega.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(gomega.Succeed())
	return ns
}

// EnsureNamespace creates a namespace unless it exists.
func EnsureNamespace(ctx context.Context, c client.Client, name string) {
	ginkgo.GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	gomega.Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(gomega.Succeed())
}

// CreateSecret creates a user's Secret and reads it back, with its
// resource version and UID.
func CreateSecret(ctx context.Context, c client.Client, ns, name string, data map[string]string) *corev1.Secret {
	ginkgo.GinkgoHelper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	gomega.Expect(c.Create(ctx, s)).To(gomega.Succeed())
	gomega.Expect(c.Get(ctx, client.ObjectKeyFromObject(s), s)).To(gomega.Succeed())
	return s
}

// CreateHtpasswd creates the htpasswd Secret the reference sample names,
// with one user.
func CreateHtpasswd(ctx context.Context, c client.Client, ns string) *corev1.Secret {
	ginkgo.GinkgoHelper()
	return CreateSecret(ctx, c, ns, "htpasswd", map[string]string{"auth": HtpasswdLine})
}

// UpdateKAP changes a KialiAuthProxy as a user would, reading it again and
// retrying when the operator's status write got in between.
func UpdateKAP(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	ginkgo.GinkgoHelper()
	gomega.Eventually(func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(kap), kap); err != nil {
			return err
		}
		mutate(kap)
		return c.Update(ctx, kap)
	}).Should(gomega.Succeed())
}
