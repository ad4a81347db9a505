// Package leastprivilege runs the operator under its own identity: every
// request of the manager is made as its ServiceAccount (impersonated),
// bound to exactly the RBAC that config/ or the OLM bundle installs in each
// install mode, with the admission guard of config/guard in place. The hub
// and a spoke are two envtest control planes; the hub runs the real garbage
// collector, so deletion is what a cluster does.
package leastprivilege

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	ctx = context.Background()

	spokeEnv         *envtest.Environment
	hubCfg, spokeCfg *rest.Config
	// hub and spoke are admins, talking to the API servers directly.
	hub, spoke client.Client
)

func TestLeastPrivilege(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Least-privilege Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	h := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All, GarbageCollector: true})
	s := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.Options{PrometheusOperator: true}})
	hubCfg, hub = h.Config, h.Client
	spokeEnv, spokeCfg, spoke = s.Env, s.Config, s.Client

	// The guard on both clusters, and on the spoke the guard of its writer,
	// the identity its kubeconfig names.
	guard := kustomizeBuild("guard")
	Expect(guard).NotTo(BeEmpty())
	for _, c := range []client.Client{hub, spoke} {
		applyAll(c, guard)
		waitForGuard(c, serviceAccount)
	}
	applyAll(spoke, kustomizeBuild("spoke-guard"))
	waitForGuard(spoke, spokeWriter)
})

// applyAll server-side applies objects as an admin.
func applyAll(c client.Client, objs []*unstructured.Unstructured) {
	for _, u := range objs {
		u := u.DeepCopy()
		Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("installer"), client.ForceOwnership)).
			To(Succeed(), "%s %s", u.GetKind(), u.GetName())
	}
}

// removeAll deletes the RBAC objects of an install (the namespaces stay, as
// an uninstall leaves them).
func removeAll(c client.Client, objs []*unstructured.Unstructured) {
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			continue
		}
		Expect(client.IgnoreNotFound(c.Delete(ctx, u.DeepCopy()))).To(Succeed())
	}
}

// waitForGuard waits until the API server enforces the guard of the
// ServiceAccount name sa, which it loads asynchronously: a probe identity
// of that name with every permission creates a service-account-token
// Secret until the guard denies it.
func waitForGuard(c client.Client, sa string) {
	const probeNS = "guard-probe"
	ensureNamespace(c, probeNS)
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "guard-probe"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: probeNS, Name: sa}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
	}
	Expect(c.Create(ctx, binding)).To(Succeed())
	cfg := hubCfg
	if c == spoke {
		cfg = spokeCfg
	}
	probe := as(cfg, "system:serviceaccount:"+probeNS+":"+sa, probeNS)
	Eventually(func(g Gomega) {
		s := tokenSecret(probeNS)
		err := probe.Create(ctx, s)
		if err == nil {
			_ = c.Delete(ctx, s)
		}
		g.Expect(guardDenied(err)).To(BeTrue(), "not denied yet: %v", err)
	}).Should(Succeed())
	Expect(c.Delete(ctx, binding)).To(Succeed())
}

// tokenSecret asks the token controller for a token of a ServiceAccount.
func tokenSecret(ns string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "token-", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"},
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "kiali-auth-proxy-operator"}},
		Type: corev1.SecretTypeServiceAccountToken,
	}
}

// guardDenied: the request passed RBAC and a ValidatingAdmissionPolicy
// refused it.
func guardDenied(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
}

// rbacDenied: RBAC refused the request before admission.
func rbacDenied(err error) bool {
	var status apierrors.APIStatus
	return apierrors.IsForbidden(err) && errors.As(err, &status) && !guardDenied(err) &&
		strings.Contains(err.Error(), "cannot ")
}

// as is a client that makes its requests as user, a ServiceAccount of ns
// with the groups the API server gives ServiceAccounts.
func as(cfg *rest.Config, user, ns string) client.Client {
	c, err := client.New(impersonating(cfg, user, ns), client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func impersonating(cfg *rest.Config, user, ns string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	groups := []string{"system:authenticated"}
	if strings.HasPrefix(user, "system:serviceaccount:") {
		groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

func ensureNamespace(c client.Client, name string) { testbed.EnsureNamespace(ctx, c, name) }

// running is one manager started under an installation's identity.
type running struct {
	in     installation
	cancel context.CancelFunc
	done   chan struct{}
	// op is a client with the operator's identity, for the refusals.
	op client.Client
}

// install puts an installation's RBAC on the hub and starts the manager as
// its ServiceAccount, watching what the installation tells it to.
func install(in installation) *running {
	applyAll(hub, in.objects)
	cfg := impersonating(hubCfg, in.username(), in.namespace)
	mctx, cancel := context.WithCancel(ctx)
	// Leader election as the manager Deployment runs it: the Lease in the
	// operator's namespace, or in a namespaced install where the manager
	// puts it by default.
	// Out of a cluster the manager cannot find its own namespace: name it
	// where it would default to that.
	leaseNS := in.leaseNamespace
	if leaseNS == "" && len(in.watch) != 1 {
		leaseNS = in.namespace
	}
	o := testbed.ManagerOptions()
	o.WatchNamespaces, o.LeaderElection, o.LeaderElectionNamespace = in.watch, true, leaseNS
	mgr, _, err := operator.New(mctx, cfg, o)
	Expect(err).NotTo(HaveOccurred())
	r := &running{in: in, cancel: cancel, done: make(chan struct{}), op: as(hubCfg, in.username(), in.namespace)}
	go func() {
		defer GinkgoRecover()
		defer close(r.done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	// A cache that cannot list what it needs never syncs: this is where
	// missing RBAC shows first.
	syncCtx, cancelSync := context.WithTimeout(mctx, 30*time.Second)
	defer cancelSync()
	Expect(mgr.GetCache().WaitForCacheSync(syncCtx)).To(BeTrue(), "the caches did not sync under %s's RBAC", in.name)
	if leaseNS == "" {
		leaseNS = in.watch[0]
	}
	Eventually(func(g Gomega) {
		lease := &coordinationv1.Lease{}
		g.Expect(hub.Get(ctx, client.ObjectKey{Namespace: leaseNS, Name: "kiali-auth-proxy-operator.mesh.kialiauth.io"}, lease)).To(Succeed())
		g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		g.Expect(*lease.Spec.HolderIdentity).NotTo(BeEmpty())
	}).Should(Succeed(), "the manager did not become the leader")
	return r
}

// uninstall stops the manager and removes the installation's RBAC.
func (r *running) uninstall() {
	if r == nil {
		return
	}
	r.cancel()
	Eventually(r.done).Should(BeClosed())
	removeAll(hub, r.in.objects)
}

func describe(in installation) string {
	if in.watch == nil {
		return fmt.Sprintf("%s (all namespaces)", in.name)
	}
	return fmt.Sprintf("%s (watching %s)", in.name, strings.Join(in.watch, ", "))
}
