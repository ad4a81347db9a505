// Command runlocal runs the operator against a local control plane
// (kube-apiserver and etcd, no nodes) with every CRD it meets, applies a
// KialiAuthProxy sample, and prints the status and the objects it made.
//
//	make run-local
//	go run ./hack/runlocal -sample config/samples/mesh_v1alpha1_kialiauthproxy.yaml [-keep]
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

func main() {
	sample := flag.String("sample", "config/samples/mesh_v1alpha1_kialiauthproxy.yaml", "KialiAuthProxy to apply")
	keep := flag.Bool("keep", false, "keep the control plane and the operator running until interrupted")
	verbose := flag.Bool("v", false, "print the operator's log")
	flag.Parse()
	if err := run(*sample, *keep, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "run-local:", err)
		os.Exit(1)
	}
}

func run(samplePath string, keep, verbose bool) error {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logSink(verbose))))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	raw, err := os.ReadFile(samplePath)
	if err != nil {
		return err
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		return fmt.Errorf("%s: %w", samplePath, err)
	}

	fmt.Println("==> starting a local control plane (kube-apiserver, etcd) with the operator's, Kiali's, Istio's and OpenShift Route CRDs")
	env, err := testbed.NewEnvironment(testbed.All)
	if err != nil {
		return err
	}
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()

	mgr, _, err := operator.New(ctx, cfg, operator.Options{MetricsAddr: "0", ProbeAddr: "0", MaxConcurrentReconciles: 2})
	if err != nil {
		return err
	}
	mgrErr := make(chan error, 1)
	go func() { mgrErr <- mgr.Start(ctx) }()
	c, err := client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		return err
	}

	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kap.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if ref := kap.Spec.Proxy.Htpasswd; ref != nil && ref.Name != "" {
		if err := createDemoHtpasswd(ctx, c, kap.Namespace, ref.Name, ref.Key); err != nil {
			return err
		}
	}
	fmt.Printf("==> applying %s (KialiAuthProxy %s/%s)\n", samplePath, kap.Namespace, kap.Name)
	kap.SetGroupVersionKind(meshv1alpha1.GroupVersion.WithKind("KialiAuthProxy"))
	u, err := apply.Document(kap)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("run-local"), client.ForceOwnership); err != nil {
		return err
	}

	if err := waitForStatus(ctx, c, client.ObjectKeyFromObject(kap), kap); err != nil {
		return err
	}
	if err := printResult(ctx, c, kap); err != nil {
		return err
	}

	if keep {
		kubeconfig, err := writeKubeconfig(env)
		if err != nil {
			return err
		}
		fmt.Printf("\n==> the control plane and the operator keep running; try:\n    kubectl --kubeconfig %s get kialiauthproxy -A\n    (Ctrl-C stops)\n", kubeconfig)
		select {
		case <-ctx.Done():
		case err := <-mgrErr:
			return err
		}
	}
	return nil
}

// createDemoHtpasswd creates the htpasswd Secret a sample refers to, with
// one user and a random password, unless it exists.
func createDemoHtpasswd(ctx context.Context, c client.Client, ns, name, key string) error {
	if key == "" {
		key = meshv1alpha1.DefaultHtpasswdKey
	}
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(pw)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	// oauth-proxy reads only the $2y$ / $2a$ bcrypt prefixes.
	hash[2] = 'y'
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Data:       map[string][]byte{key: []byte("admin:" + string(hash) + "\n")},
	}
	err = c.Create(ctx, s)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		fmt.Printf("==> created the htpasswd Secret %s/%s the sample refers to (user admin, random password)\n", ns, name)
	}
	return err
}

func waitForStatus(ctx context.Context, c client.Client, key client.ObjectKey, kap *meshv1alpha1.KialiAuthProxy) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := c.Get(ctx, key, kap); err != nil {
			return err
		}
		if kap.Status.ObservedGeneration == kap.Generation && meta.FindStatusCondition(kap.Status.Conditions, meshv1alpha1.ConditionReady) != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("the operator wrote no status for %s within 60s (run with -v to see its log)", key)
}

func printResult(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy) error {
	ready := meta.FindStatusCondition(kap.Status.Conditions, meshv1alpha1.ConditionReady)
	age := time.Since(kap.CreationTimestamp.Time).Round(time.Second)
	fmt.Printf("\n==> kubectl get kialiauthproxy -n %s\n%-10s %-6s %-45s %s\n%-10s %-6s %-45s %s\n", kap.Namespace,
		"NAME", "READY", "URL", "AGE", kap.Name, ready.Status, kap.Status.URL, age)
	fmt.Println("\n==> conditions")
	for _, cond := range kap.Status.Conditions {
		fmt.Printf("%-20s %-6s %-24s %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	fmt.Println("\n(no nodes run in the local control plane, so the proxy Deployment never becomes available and Ready stays False with ProxyAvailable)")

	fmt.Println("\n==> objects the operator made")
	var docs []byte
	for _, gvk := range []string{"v1/ServiceAccount", "v1/ConfigMap", "v1/Secret", "v1/Service", "apps/v1/Deployment",
		"kiali.io/v1alpha1/Kiali", "networking.istio.io/v1/VirtualService", "route.openshift.io/v1/Route",
		"security.istio.io/v1/AuthorizationPolicy", "security.istio.io/v1/PeerAuthentication", "networking.k8s.io/v1/NetworkPolicy"} {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion(filepath.Dir(gvk))
		list.SetKind(filepath.Base(gvk) + "List")
		if err := c.List(ctx, list, client.InNamespace(kap.Namespace),
			client.MatchingLabels(render.OwnerLabels(kap))); err != nil {
			return err
		}
		for _, item := range list.Items {
			fmt.Printf("%-20s %s/%s\n", item.GetKind(), item.GetNamespace(), item.GetName())
			if item.GetKind() == "Secret" {
				// Show which keys a generated Secret has, never their values.
				data, _ := item.Object["data"].(map[string]any)
				for k := range data {
					data[k] = "(not shown)"
				}
			}
			unstructured.RemoveNestedField(item.Object, "metadata", "managedFields")
			doc, err := yaml.Marshal(item.Object)
			if err != nil {
				return err
			}
			docs = append(append(docs, "---\n"...), doc...)
		}
	}
	fmt.Printf("\n==> the objects in full\n%s", docs)
	return nil
}

// writeKubeconfig writes a kubeconfig of an administrator of the local
// control plane, for kubectl.
func writeKubeconfig(env *envtest.Environment) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "run-local", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	cfg, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), "kiali-auth-proxy-run-local.kubeconfig")
	return path, os.WriteFile(path, cfg, 0o600)
}

func logSink(verbose bool) *os.File {
	if verbose {
		return os.Stderr
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return os.Stderr
	}
	return devnull
}
