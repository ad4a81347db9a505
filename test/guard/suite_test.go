// Package guard proves the admission guard (config/guard and
// config/spoke-guard) against a real kube-apiserver and etcd (envtest): the
// ValidatingAdmissionPolicy that narrows the operator's own writes, the one
// that admits a KialiAuthProxy only from a user who holds what the operator
// would exercise for it, and the one that narrows a spoke's writer to the
// operator's remote_write entries and credentials. The operator is not run:
// its writes are made here, as its code makes them, with its
// ServiceAccount's identity or the spoke writer's. One control plane plays
// hub and spoke, as each policy matches one identity only.
package guard

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	cfg *rest.Config
	// k is the cluster's administrator (system:masters), whom the guard
	// does not concern.
	k client.Client
	// operator is the operator's ServiceAccount, bound to cluster-admin so
	// that only the guard decides.
	operator client.Client
	// spokeWriter is the writer of a spoke, bound to cluster-admin as well.
	spokeWriter client.Client
	ctx         = context.Background()

	controllersLog = &testbed.SyncBuffer{}
)

func TestGuard(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Guard Suite")
}

var _ = BeforeSuite(func() {
	c := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All})
	cfg, k = c.Config, c.Client

	// edit and admin are filled by aggregation in a real cluster; the
	// requester specs depend on what that puts in them.
	stopControllers, err := testbed.StartControllerManager(c.Env, cfg,
		[]string{testbed.ClusterRoleAggregationController}, controllersLog)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if err := stopControllers(); err != nil {
			GinkgoWriter.Println(err)
		}
	})

	Expect(k.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "guard-test-operator-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{
			Kind: rbacv1.ServiceAccountKind, Namespace: operatorNamespace, Name: operatorServiceAccount,
		}},
	})).To(Succeed())
	operator = impersonate(operatorUser, operatorGroups...)
	Expect(k.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "guard-test-spoke-writer-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{
			Kind: rbacv1.ServiceAccountKind, Namespace: spokeWriterNamespace, Name: spokeWriterServiceAccount,
		}},
	})).To(Succeed())
	spokeWriter = impersonate(spokeWriterUser, serviceAccountGroups(spokeWriterNamespace)...)

	for _, dir := range []string{"guard", "spoke-guard"} {
		for _, u := range kustomizeBuild(dir) {
			Expect(k.Create(ctx, u)).To(Succeed(), "creating %s %s from config/%s", u.GetKind(), u.GetName(), dir)
		}
	}
	waitForGuard()
})
